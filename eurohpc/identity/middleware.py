"""Session timeouts and the second factor, enforced before any view runs (pages and session-signed API calls;
API tokens are checked by eurohpc.identity.authentication)."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from eurohpc.api.errors import error_body
from eurohpc.identity.services.second_factor import second_factor_required
from eurohpc.identity.services.sessions import (
    SEEN_AT,
    SEEN_EVERY_SECONDS,
    SIGNED_IN_AT,
    user_session_forget,
    user_session_seen,
)
from eurohpc.models import STAFF_ROLES

# Whether the signed-in user has a confirmed authenticator, cached in the session at sign-in and on enrolment.
ENROLLED = "second_factor_enrolled"
# Paths open to a signed-in user who has not passed the second factor yet.
OPEN_PREFIXES = ("/static/", "/health/", "/accounts/logout/", "/accounts/two-factor/", "/accounts/sso/")


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _timeout(request, reason: str):
    key = request.session.session_key
    logout(request)
    user_session_forget(session_key=key)
    if _is_api(request):
        return JsonResponse(error_body(reason, "session_expired"), status=401)
    messages.info(request, reason)
    return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")


class SessionTimeoutMiddleware:
    """Everyone is signed out SESSION_ABSOLUTE_HOURS after signing in; staff after STAFF_SESSION_IDLE_MINUTES
    without a request. Measured on the machine's clock (time.time), not the programme's (timezone.now): a session
    lasts so long in real time whatever day the programme's rules are evaluated at."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = request.session
            now = time.time()
            signed_in = session.get(SIGNED_IN_AT)
            seen = session.get(SEEN_AT)
            if signed_in is None:  # a session opened before these keys existed: it starts counting now
                session[SIGNED_IN_AT] = session[SEEN_AT] = now
            else:
                if now - signed_in > settings.SESSION_ABSOLUTE_HOURS * 3600:
                    return _timeout(request, f"Your session ended {settings.SESSION_ABSOLUTE_HOURS} hours after "
                                             "you signed in: sign in again.")  # fmt: skip
                idle = settings.STAFF_SESSION_IDLE_MINUTES * 60
                if seen is not None and now - seen > idle and user.roles & STAFF_ROLES:
                    return _timeout(request, f"Your session ended after {settings.STAFF_SESSION_IDLE_MINUTES} "
                                             "minutes without activity (staff accounts): sign in again.")  # fmt: skip
                if seen is None or now - seen >= SEEN_EVERY_SECONDS:
                    session[SEEN_AT] = now
                    user_session_seen(session_key=session.session_key)
        return self.get_response(request)


class SecondFactorMiddleware:
    """A user with an authenticator passes it after the password; staff who must have one (STAFF_REQUIRE_2FA)
    enrol before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified() or request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        enrolled = request.session.get(ENROLLED)
        if enrolled is None:
            from eurohpc.identity.services.second_factor import second_factor_enrolled

            enrolled = request.session[ENROLLED] = second_factor_enrolled(user)
        if enrolled:
            target, reason, code = "two-factor-verify", "Enter the code of your authenticator app to continue.", \
                "otp_required"  # fmt: skip
        elif second_factor_required(user):
            target = "two-factor-setup"
            reason = "Staff accounts need a second factor on this installation: enrol an authenticator app first."
            code = "otp_enrolment_required"
        else:
            return self.get_response(request)
        if _is_api(request):
            return JsonResponse(error_body(reason, code), status=403)
        if request.method == "GET":
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return redirect(target)
