"""Single sign-on through an OpenID Connect provider (mozilla-django-oidc), configured by the environment.

`OIDC_ISSUER` names the provider; its endpoints and keys come from its discovery document
(`{OIDC_ISSUER}/.well-known/openid-configuration`, read once an hour), whose `issuer` must be `OIDC_ISSUER` itself.
The code flow runs with PKCE (S256), a state and a nonce; the ID token's RS256 signature is checked against the
provider's published keys, and its issuer, audience and expiry too. The user it signs in is found or created by
`external_identity_sign_in` (eurohpc.identity.services.oidc). Each refusal is a `DomainError` naming why: the pages
show it on the login page (eurohpc.identity.views_oidc).
"""

import logging
import threading
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from eurohpc.errors import DomainError, RuleViolation
from eurohpc.identity.services.oidc import external_identity_sign_in

LOGGER = logging.getLogger(__name__)

# Session keys: the ID token of a session signed in through the provider (for its logout) and the issuer.
SESSION_ID_TOKEN = "oidc_id_token"  # noqa: S105  (a session key, not a secret)
SESSION_ISSUER = "sso_issuer"

# mozilla-django-oidc's endpoint settings, answered from the discovery document.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")


class ProviderUnavailable(DomainError):
    """The identity provider cannot be used: unreachable, or its discovery document is not its own (502)."""

    status_code = 502
    default_code = "sso_unavailable"


def sso_enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


_discovery: dict[str, tuple[float, dict]] = {}
_discovery_lock = threading.Lock()


def discovery_cache_clear() -> None:
    with _discovery_lock:
        _discovery.clear()


def _unavailable(why: str, code: str = "sso_unavailable") -> ProviderUnavailable:
    return ProviderUnavailable(f"Single sign-on is not available: {why}.", code=code)


def provider_metadata() -> dict:
    """The provider's discovery document, read at most once per OIDC_DISCOVERY_CACHE_SECONDS."""
    issuer = settings.OIDC_ISSUER
    with _discovery_lock:
        cached = _discovery.get(issuer)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL)
        response.raise_for_status()
        document = response.json()
    except requests.RequestException as exc:
        LOGGER.warning("OIDC discovery at %s failed: %s", url, exc)
        reason = f"HTTP {exc.response.status_code}" if exc.response is not None else "no answer"
        raise _unavailable(f"the identity provider's discovery document at {url} could not be read ({reason})") from exc
    except ValueError as exc:
        raise _unavailable(f"the identity provider's discovery document at {url} is not JSON") from exc
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        named = document.get("issuer") if isinstance(document, dict) else None
        raise _unavailable(
            f"the discovery document at {url} names the issuer {named!r}, not the configured {issuer!r}",
            code="sso_issuer_mismatch",
        )
    missing = [name for name in REQUIRED_ENDPOINTS if not document.get(name)]
    if missing:
        raise _unavailable(f"the discovery document at {url} lacks {', '.join(missing)}")
    with _discovery_lock:
        _discovery[issuer] = (time.monotonic() + settings.OIDC_DISCOVERY_CACHE_SECONDS, document)
    return document


def oidc_setting(attr: str, *default):
    """mozilla-django-oidc's `get_settings`: endpoints from the discovery document, the rest from settings."""
    if attr in DISCOVERED:
        value = provider_metadata().get(DISCOVERED[attr])
        return value if value or not default else default[0]
    return import_from_settings(attr, *default)


def end_session_url(request, id_token: str) -> str | None:
    """Where the browser goes to end its session at the provider too, or None (the provider has no such endpoint
    or cannot be reached: only the session here ends then)."""
    from django.urls import reverse

    try:
        endpoint = provider_metadata().get("end_session_endpoint")
    except ProviderUnavailable as exc:
        LOGGER.warning("OIDC logout at the provider skipped: %s", exc.message)
        return None
    if not endpoint:
        return None
    query = urlencode(
        {"id_token_hint": id_token, "post_logout_redirect_uri": request.build_absolute_uri(reverse("home"))}
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def _token_refusal(why: str) -> RuleViolation:
    return RuleViolation(f"Single sign-on refused: the identity provider's ID token {why}.", code="sso_id_token")


def _provider_error(response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    return str(error) if error else f"HTTP {response.status_code}"


class SingleSignOnBackend(OIDCAuthenticationBackend):
    """The code flow's end: exchange the code (with the PKCE verifier), check the ID token, find the user.

    Does nothing while single sign-on is off, and nothing for any sign-in but the callback's (a password login
    passes a username, the callback a nonce). Its settings are read when used, never when it is constructed (Django
    constructs it for every request of a session it signed in)."""

    get_settings = staticmethod(oidc_setting)
    OIDC_RP_IDP_SIGN_KEY = None

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_RP_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.OIDC_RP_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = property(lambda self: settings.OIDC_RP_SIGN_ALGO)

    def authenticate(self, request, **kwargs):
        if request is None or not sso_enabled() or "nonce" not in kwargs or "username" in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    # Permissions are the other backends' answer (this one only signs people in).
    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return False

    def has_module_perms(self, user_obj, app_label):
        return False

    def get_user(self, user_id):
        user = self.UserModel._default_manager.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_token(self, payload):
        try:
            return super().get_token(payload)
        except requests.HTTPError as exc:
            error = _provider_error(exc.response)
            LOGGER.warning("OIDC token exchange refused: %s", exc)
            raise RuleViolation(
                "Single sign-on refused: the identity provider did not exchange the sign-in code for tokens "
                f"({error}).",
                code="sso_token",
            ) from exc
        except requests.RequestException as exc:
            LOGGER.warning("OIDC token endpoint unreachable: %s", exc)
            raise _unavailable("the identity provider's token endpoint did not answer") from exc

    def retrieve_matching_jwk(self, token):
        try:
            return super().retrieve_matching_jwk(token)
        except requests.RequestException as exc:
            LOGGER.warning("OIDC keys unreachable: %s", exc)
            raise _unavailable("the identity provider's signing keys could not be read") from exc
        except (SuspiciousOperation, KeyError, jwt.PyJWKError) as exc:
            raise _token_refusal("is signed with a key the identity provider does not publish") from exc

    def verify_token(self, token, **kwargs):
        """The signature against the provider's keys, the issuer, the audience, the expiry and (for the ID token
        of a sign-in) the nonce stored when the sign-in started."""
        if not token:
            raise _token_refusal("is missing")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise _token_refusal("is not a signed JSON Web Token") from exc
        algorithm = self.OIDC_RP_SIGN_ALGO
        if header.get("alg") != algorithm:
            raise _token_refusal(f"is signed with {header.get('alg')!r}, not {algorithm}")
        key = self.retrieve_matching_jwk(token)
        signing_in = "nonce" in kwargs
        options = {"require": ["iss", "sub", "aud", "exp", "iat"]} if signing_in else {"verify_aud": False}
        try:
            payload = jwt.decode(
                token, key, algorithms=[algorithm], audience=self.OIDC_RP_CLIENT_ID if signing_in else None,
                issuer=settings.OIDC_ISSUER, options=options, leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
            )  # fmt: skip
        except jwt.InvalidSignatureError as exc:
            raise _token_refusal(
                "does not carry the provider's signature: it was altered or signed by another key"
            ) from exc
        except jwt.ExpiredSignatureError as exc:
            raise _token_refusal("has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise _token_refusal("was issued to another client") from exc
        except jwt.InvalidIssuerError as exc:
            raise _token_refusal("was issued by another provider") from exc
        except jwt.InvalidTokenError as exc:
            raise _token_refusal(f"is invalid ({exc})") from exc
        if signing_in and self.get_settings("OIDC_USE_NONCE", True) and payload.get("nonce") != kwargs["nonce"]:
            raise RuleViolation(
                "Single sign-on refused: the ID token answers another sign-in than the one started in this browser "
                "(nonce mismatch). Start again from the login page.",
                code="sso_nonce",
            )
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        try:
            return super().get_userinfo(access_token, id_token, payload)
        except requests.HTTPError as exc:
            LOGGER.warning("OIDC user info refused: %s", exc)
            raise RuleViolation(
                "Single sign-on refused: the identity provider did not give the account's details "
                f"({_provider_error(exc.response)}).",
                code="sso_userinfo",
            ) from exc
        except requests.RequestException as exc:
            LOGGER.warning("OIDC user info unreachable: %s", exc)
            raise _unavailable("the identity provider's user information endpoint did not answer") from exc

    def store_tokens(self, access_token, id_token):
        # Kept on the request: the callback puts it in the session once the user is signed in (signing in may
        # start a new session).
        self.request.sso_id_token = id_token

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(claims, dict) or str(claims.get("sub")) != str(payload["sub"]):
            raise RuleViolation(
                "Single sign-on refused: the identity provider's account details are of another account than its "
                "ID token.",
                code="sso_userinfo",
            )
        # The account's details, and what the signed ID token says besides (a roles claim may be there only).
        user, created = external_identity_sign_in(
            issuer=settings.OIDC_ISSUER, subject=str(payload["sub"]), claims={**payload, **claims},
            roles_claim=settings.OIDC_ROLES_CLAIM, role_map=settings.OIDC_ROLE_MAP,
        )  # fmt: skip
        self.request.sso_created = created
        return user
