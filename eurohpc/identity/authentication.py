"""API authentication by named, scoped, expiring tokens (eurohpc.models.ApiToken).

`Authorization: Token <secret>` (or `Bearer <secret>`). The secret is looked up by its SHA-256. A token that is
unknown, revoked or expired, of a deactivated account, or a staff token created without the second factor where
STAFF_REQUIRE_2FA is on, is a 401 naming why. The scope is enforced here, in the authentication every API view runs
before its permissions: a read token on POST, PUT, PATCH or DELETE is a 403, whatever permission classes a view
declares.
"""

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from eurohpc.formatting import local
from eurohpc.identity.services.second_factor import second_factor_required
from eurohpc.identity.services.tokens import api_token_digest
from eurohpc.models import ApiToken

KEYWORDS = (b"token", b"bearer")
# How often a token's "last used" is written (not on every request).
LAST_USED_EVERY = timedelta(minutes=1)
WHERE_TO_CREATE = "create a new one on your profile page (/accounts/profile/) or with POST /api/v1/auth/token/"
SCOPE_REFUSAL = (
    "This token's scope is read: it cannot change anything. POST, PUT, PATCH and DELETE need a token with the "
    "write scope."
)


class TokenRefused(exceptions.AuthenticationFailed):
    """401 with the reason and a code of its own (token_expired, token_revoked, …)."""


class ScopeRefused(exceptions.PermissionDenied):
    default_detail = SCOPE_REFUSAL
    default_code = "token_scope"


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"
    model = ApiToken

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in KEYWORDS:
            return None
        if len(auth) == 1:
            raise TokenRefused("Invalid token header. No credentials provided.", code="token_invalid")
        if len(auth) > 2:
            raise TokenRefused("Invalid token header. Token string should not contain spaces.", code="token_invalid")
        try:
            secret = auth[1].decode()
        except UnicodeError:
            raise TokenRefused(
                "Invalid token header. Token string should not contain invalid characters.", code="token_invalid"
            ) from None
        user, token = self.authenticate_credentials(secret)
        if token.scope != ApiToken.Scope.WRITE and request.method not in SAFE_METHODS:
            raise ScopeRefused()
        return user, token

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=api_token_digest(key)).first()
        if token is None:
            raise TokenRefused("Invalid token.", code="token_invalid")
        now = timezone.now()
        if token.revoked_at is not None:
            raise TokenRefused(
                f"This token was revoked on {local(token.revoked_at)}: {WHERE_TO_CREATE}.", code="token_revoked"
            )
        if token.expires_at <= now:
            raise TokenRefused(
                f"This token expired on {local(token.expires_at)}: {WHERE_TO_CREATE}.", code="token_expired"
            )
        user = token.user
        if not user.is_active:
            raise TokenRefused("The account of this token is deactivated.", code="user_inactive")
        if not token.second_factor and second_factor_required(user):
            raise TokenRefused(
                "Staff tokens need the second factor at creation on this installation (STAFF_REQUIRE_2FA) and this "
                f"one was created without it: {WHERE_TO_CREATE} after passing your second factor.",
                code="token_second_factor",
            )
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token
