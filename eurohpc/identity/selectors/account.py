"""What the profile page shows of the account itself: identity, roles, the second factor, signed-in sessions."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from eurohpc.identity.services.second_factor import second_factor_required
from eurohpc.models import Role, User, UserSession


def user_session_list(*, user: User, session_key: str | None) -> list[UserSession]:
    """The user's sessions still within the absolute timeout, newest activity first; the current one marked."""
    oldest = timezone.now() - timedelta(hours=settings.SESSION_ABSOLUTE_HOURS)
    sessions = list(UserSession.objects.filter(user=user, created_at__gte=oldest).order_by("-last_seen_at", "-id"))
    for session in sessions:
        session.is_current = session.session_key == session_key
    return sessions


def profile_overview(*, user: User, session_key: str | None) -> dict:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return {
        "account": user,
        "role_labels": [Role(role).label for role in Role.values if role in user.roles],
        "second_factor": {
            "enrolled": device is not None,
            "since": device.created_at if device is not None else None,
            "last_used": device.last_used_at if device is not None else None,
            "required": second_factor_required(user),
            "recovery_left": StaticToken.objects.filter(device__user=user).count() if device is not None else 0,
        },
        "sessions": user_session_list(user=user, session_key=session_key),
        "identities": list(user.external_identities.order_by("issuer")),
        "idle_minutes": settings.STAFF_SESSION_IDLE_MINUTES,
        "absolute_hours": settings.SESSION_ABSOLUTE_HOURS,
    }
