"""API tokens: created by their holder (the secret is shown once; only its SHA-256 is kept), revoked by their holder.

A token lives API_TOKEN_DEFAULT_DAYS unless its holder chooses 1 to API_TOKEN_MAX_DAYS; its scope is read (safe
methods only) or write. Where the second factor is asked of the holder (staff under STAFF_REQUIRE_2FA, or anyone
who enrolled one), a token is created only after the holder passed it.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.identity.services.second_factor import second_factor_enrolled, second_factor_required
from eurohpc.models import ApiToken, User
from eurohpc.services import audit_record

# Characters of the secret kept in clear, so that a holder can tell tokens apart in lists.
PREFIX_LENGTH = 8
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length


def api_token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_default_name(*, user: User) -> str:
    """The name of a token its holder did not name: “API token 2026-12-07 23:40” (Luxembourg time), then “… (2)”,
    “… (3)” while the user has a token named so."""
    base = f"API token {timezone.localtime():%Y-%m-%d %H:%M}"
    taken = set(
        ApiToken.objects.filter(user=user, revoked_at__isnull=True, name__startswith=base).values_list(
            "name", flat=True
        )
    )
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} ({n})"
    return name


def _second_factor_refusal(user: User) -> str | None:
    if second_factor_required(user):
        return (
            "Staff tokens need the second factor at creation on this installation (STAFF_REQUIRE_2FA): sign in "
            "with your second factor, or give the token endpoint your current code in `otp`."
        )
    if second_factor_enrolled(user):
        return (
            "Your account has a second factor: a token is created only after it is checked. Sign in with your "
            "second factor, or give the token endpoint your current code in `otp`."
        )
    return None


@transaction.atomic
def api_token_create(
    *, user: User, name: str, scope: str, days: int | None = None, second_factor: bool, actor: User
) -> tuple[ApiToken, str]:
    """A new token of `user` and its secret (returned once, never stored). A blank `name` gets a dated default.

    `second_factor` says that the holder passed the second factor for this creation (a verified sign-in, or a
    code checked by the caller).
    """
    # One creation at a time per user, so that two requests cannot both take a name.
    User.objects.select_for_update().filter(pk=user.pk).first()
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX_LENGTH:
        raise RuleViolation(
            f"A token's name has at most {NAME_MAX_LENGTH} characters.",
            code="token_name",
            errors={"name": [f"Ensure this field has no more than {NAME_MAX_LENGTH} characters."]},
        )
    if scope not in ApiToken.Scope.values:
        raise RuleViolation(
            "A token's scope is read (look only) or write (look and change).",
            code="token_scope",
            errors={"scope": [f'"{scope}" is not a valid choice.']},
        )
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise RuleViolation(
            f"A token lives 1 to {settings.API_TOKEN_MAX_DAYS} days; {days} is outside.",
            code="token_days",
            errors={"days": [f"Between 1 and {settings.API_TOKEN_MAX_DAYS}."]},
        )
    if not second_factor:
        refusal = _second_factor_refusal(user)
        if refusal:
            raise NotPermitted(refusal, code="token_second_factor")
    if not name:
        name = api_token_default_name(user=user)
    holder = ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).first()
    if holder is not None:
        expired = f" (it expired on {local(holder.expires_at)})" if holder.expires_at <= timezone.now() else ""
        raise StateConflict(
            f"You already have a token named “{name}” that is not revoked{expired}: choose another name, or revoke "
            "that token first.",
            code="token_name_taken",
            errors={"name": ["A token of yours that is not revoked has this name."]},
        )
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[:PREFIX_LENGTH], digest=api_token_digest(secret), scope=scope,
        created_at=now, expires_at=now + timedelta(days=days), second_factor=second_factor,
    )  # fmt: skip
    audit_record(actor=actor, verb="api_token.create", target=token, changes={
        "user": user.username, "scope": scope, "expires_at": token.expires_at.isoformat(),
        "second_factor": second_factor,
    })  # fmt: skip
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    """The token stops working at once (401 naming when it was revoked)."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise StateConflict(
            f"The token “{token.name}” was already revoked on {local(token.revoked_at)}.", code="token_revoked"
        )
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, verb="api_token.revoke", target=token, changes={"user": token.user.username})
    return token
