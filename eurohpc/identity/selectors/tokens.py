"""A user's API tokens, each with its state: active, expired or revoked."""

from django.db.models import Case, CharField, QuerySet, Value, When
from django.utils import timezone

from eurohpc.models import ApiToken

ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"
TOKEN_STATES = [(ACTIVE, "Active"), (EXPIRED, "Expired"), (REVOKED, "Revoked")]


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """The user's tokens, newest first, annotated with `state`; the digest is not read."""
    return (
        ApiToken.objects.filter(user=user)
        .defer("digest")
        .annotate(
            state=Case(
                When(revoked_at__isnull=False, then=Value(REVOKED)),
                When(expires_at__lte=timezone.now(), then=Value(EXPIRED)),
                default=Value(ACTIVE),
                output_field=CharField(),
            )
        )
        .order_by("-created_at", "-id")
    )
