"""Single sign-on's protocol checks against the loopback provider: discovery, PKCE, state, nonce, the ID token's
signature, and the provider's own refusals. Each refusal ends on the login page with its status and reason."""

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from django.test import Client, RequestFactory
from django.utils.html import escape

from eurohpc.errors import RuleViolation
from eurohpc.identity.oidc import SingleSignOnBackend, discovery_cache_clear, provider_metadata
from eurohpc.models import ExternalIdentity, User
from tests.eurohpc.oidc_fixtures import callback_path, free_port, sso_sign_in, sso_start
from tests.oidc_provider.people import CLIENT_ID, CLIENT_SECRET, TAMPERED_CLIENT_ID

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/accounts/sso/callback/"


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _with(url: str, **params) -> str:
    parts = urlsplit(url)
    return parts._replace(query=urlencode({**_query(url), **params})).geturl()


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assert_refused(response, status: int, message: str) -> None:
    assert response.status_code == status
    assert escape(message) in response.content.decode()
    assert "registration/login.html" in [t.name for t in response.templates]


# --- discovery -------------------------------------------------------------------------------------------------


def test_sso_endpoints_come_from_the_discovery_document_read_once(client, sso):
    authorize = sso_start(client)
    assert authorize.startswith(f"{sso.issuer}/authorize?")
    assert provider_metadata() is provider_metadata()
    assert provider_metadata()["token_endpoint"] == f"{sso.issuer}/token"


def test_sso_refuses_a_discovery_document_of_another_issuer(client, sso, settings):
    configured = sso.issuer.replace("127.0.0.1", "localhost")
    settings.OIDC_ISSUER = configured
    _assert_refused(
        client.get("/accounts/sso/start/"), 502,
        f"Single sign-on is not available: the discovery document at {configured}/.well-known/openid-configuration "
        f"names the issuer {sso.issuer!r}, not the configured {configured!r}.",
    )  # fmt: skip
    assert "oidc_states" not in client.session


def test_sso_is_unavailable_while_the_provider_does_not_answer(client, sso, settings):
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/openid"
    _assert_refused(
        client.get("/accounts/sso/start/"), 502,
        f"Single sign-on is not available: the identity provider's discovery document at {settings.OIDC_ISSUER}"
        "/.well-known/openid-configuration could not be read (no answer).",
    )  # fmt: skip


# --- PKCE ----------------------------------------------------------------------------------------------------


def test_sso_start_sends_an_s256_pkce_challenge_a_state_and_a_nonce(client, sso):
    query = _query(sso_start(client))
    stored = client.session["oidc_states"][query["state"]]
    assert {key: query[key] for key in ("response_type", "client_id", "redirect_uri", "scope")} == {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": CALLBACK, "scope": "openid email profile",
    }  # fmt: skip
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == _b64(hashlib.sha256(stored["code_verifier"].encode()).digest())
    assert len(stored["code_verifier"]) == 64 and query["nonce"] == stored["nonce"] and len(query["state"]) == 32


def test_sso_provider_refuses_a_code_with_a_wrong_verifier(client, sso):
    back = sso.sign_in(sso_start(client), "jonas")
    answer = requests.post(
        f"{sso.issuer}/token", timeout=10,
        data={"grant_type": "authorization_code", "code": _query(back)["code"], "redirect_uri": CALLBACK,
              "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": "x" * 64},
    )  # fmt: skip
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_sso_callback_refuses_when_the_provider_refuses_the_verifier(client, sso):
    authorize = sso_start(client)
    session = client.session
    session["oidc_states"][_query(authorize)["state"]]["code_verifier"] = "y" * 64
    session.save()
    response = client.get(callback_path(sso.sign_in(authorize, "jonas")))
    _assert_refused(
        response, 400,
        "Single sign-on refused: the identity provider did not exchange the sign-in code for tokens (invalid_grant).",
    )  # fmt: skip
    assert (_signed_in(client), User.objects.count()) == (False, 0)


# --- state and nonce -----------------------------------------------------------------------------------------

STATE_MISMATCH = (
    "Single sign-on refused: the identity provider's answer does not belong to a sign-in started in this browser "
    "(state mismatch). Start again from the login page."
)


def test_sso_callback_refuses_a_state_this_browser_did_not_start(client, sso):
    back = sso.sign_in(sso_start(client), "jonas")
    _assert_refused(client.get(callback_path(_with(back, state="forged-state"))), 400, STATE_MISMATCH)
    assert (_signed_in(client), User.objects.count()) == (False, 0)


def test_sso_callback_refuses_an_answer_in_another_browser(client, sso):
    back = sso.sign_in(sso_start(client), "jonas")
    other = Client()
    _assert_refused(other.get(callback_path(back)), 400, STATE_MISMATCH)
    assert "_auth_user_id" not in other.session


def test_sso_callback_refuses_a_state_used_once_already(client, sso):
    back = sso.sign_in(sso_start(client), "jonas")
    assert client.get(callback_path(back)).status_code == 302
    client.logout()
    _assert_refused(client.get(callback_path(back)), 400, STATE_MISMATCH)


def test_sso_callback_refuses_an_id_token_for_another_nonce(client, sso):
    authorize = _with(sso_start(client), nonce="a-nonce-of-another-sign-in")
    response = client.get(callback_path(sso.sign_in(authorize, "jonas")))
    _assert_refused(
        response, 400,
        "Single sign-on refused: the ID token answers another sign-in than the one started in this browser (nonce "
        "mismatch). Start again from the login page.",
    )  # fmt: skip
    assert (_signed_in(client), User.objects.count()) == (False, 0)


def test_sso_callback_refuses_an_answer_without_code(client, sso):
    sso_start(client)
    _assert_refused(
        client.get("/accounts/sso/callback/?state=abc"), 400,
        "Single sign-on refused: the identity provider's answer has no code or no state.",
    )  # fmt: skip


def test_sso_callback_shows_the_providers_own_refusal(client, sso):
    # Not signed in at the provider and no prompt allowed: the provider answers the error login_required.
    authorize = _with(sso_start(client), prompt="none")
    back = sso.sign_in(authorize, "jonas")
    assert _query(back)["error"] == "login_required"
    _assert_refused(
        client.get(callback_path(back)), 403,
        "Single sign-on refused: the identity provider did not sign you in (login_required: The Authorization Server "
        "requires End-User authentication).",
    )  # fmt: skip
    assert client.session["oidc_states"] == {}


# --- the ID token --------------------------------------------------------------------------------------------

TAMPERED = (
    "Single sign-on refused: the identity provider's ID token does not carry the provider's signature: it was altered "
    "or signed by another key."
)


def test_sso_callback_refuses_an_id_token_altered_on_its_way(client, sso, settings):
    # The provider's answers to this client carry the signed ID token with another subject in its payload.
    settings.OIDC_RP_CLIENT_ID = TAMPERED_CLIENT_ID
    response = sso_sign_in(client, sso, "jonas")
    _assert_refused(response, 400, TAMPERED)
    assert (_signed_in(client), User.objects.count(), ExternalIdentity.objects.count()) == (False, 0, 0)


def test_sso_backend_refuses_a_real_id_token_with_an_altered_payload(client, sso):
    sso_sign_in(client, sso, "jonas")
    token = client.session["oidc_id_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    backend = SingleSignOnBackend()
    assert backend.verify_token(token, nonce=claims["nonce"])["sub"] == claims["sub"]
    altered = ".".join([header, _b64(json.dumps({**claims, "email": "admin@example.org"}).encode()), signature])
    with pytest.raises(RuleViolation, match="does not carry the provider's signature") as refused:
        backend.verify_token(altered, nonce=claims["nonce"])
    assert refused.value.code == "sso_id_token"


def test_sso_backend_refuses_an_id_token_of_another_audience_or_unsigned(client, sso, settings):
    sso_sign_in(client, sso, "jonas")
    token = client.session["oidc_id_token"]
    nonce = jwt.decode(token, options={"verify_signature": False})["nonce"]
    backend = SingleSignOnBackend()
    settings.OIDC_RP_CLIENT_ID = "another-client"
    with pytest.raises(RuleViolation, match="ID token was issued to another client"):
        backend.verify_token(token, nonce=nonce)
    unsigned = jwt.encode(jwt.decode(token, options={"verify_signature": False}), key=None, algorithm="none")
    with pytest.raises(RuleViolation, match="ID token is signed with 'none', not RS256"):
        backend.verify_token(unsigned, nonce=nonce)


def test_sso_backend_does_nothing_for_a_password_login_or_while_sso_is_off(sso, settings):
    request = RequestFactory().get("/accounts/sso/callback/?code=abc&state=def")
    assert SingleSignOnBackend().authenticate(request, username="jonas", password="x", nonce="n") is None
    settings.OIDC_ISSUER = ""
    discovery_cache_clear()
    assert SingleSignOnBackend().authenticate(request, nonce="n", code_verifier="v") is None
