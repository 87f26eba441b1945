"""What the profile page shows of the account itself: identity, roles, the second factor, signed-in sessions."""

import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from eurohpc.identity.services.second_factor import second_factor_required
from eurohpc.models import STAFF_ROLES, Role, User, UserSession

# The browser and system a User-Agent names, most specific first (Edge and Chromium also say "Chrome", Chrome says
# "Safari").
_BROWSERS = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari")]  # fmt: skip
_SYSTEMS = [("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux")]  # fmt: skip


def browser_summary(user_agent: str) -> str:
    """The browser and system of a User-Agent header ("Firefox on Linux"); the header's first words when it names
    no known browser."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or re.sub(r"\s+", " ", user_agent)[:40] or "Unknown browser"


def user_session_list(*, user: User, session_key: str | None) -> list[UserSession]:
    """The user's sessions still within the absolute timeout, newest activity first; the current one marked."""
    oldest = timezone.now() - timedelta(hours=settings.SESSION_ABSOLUTE_HOURS)
    sessions = list(UserSession.objects.filter(user=user, created_at__gte=oldest).order_by("-last_seen_at", "-id"))
    for session in sessions:
        session.is_current = session.session_key == session_key
        session.browser = browser_summary(session.user_agent)
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
        "staff": bool(user.roles & STAFF_ROLES),
        "idle_minutes": settings.STAFF_SESSION_IDLE_MINUTES,
        "absolute_hours": settings.SESSION_ABSOLUTE_HOURS,
    }
