"""Sign-in and sign-out hooks: the session is recorded for the profile page's list, and the second factor's
enrolment is cached in it for the middleware."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from eurohpc.identity.middleware import ENROLLED
from eurohpc.identity.services.second_factor import second_factor_enrolled
from eurohpc.identity.services.sessions import user_session_forget, user_session_start


@receiver(user_logged_in, dispatch_uid="eurohpc.identity.session_start")
def _signed_in(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    backend = getattr(user, "backend", "") or ""
    request.session[ENROLLED] = second_factor_enrolled(user)
    user_session_start(request=request, user=user, method="sso" if "oidc" in backend.lower() else "password")


@receiver(user_logged_out, dispatch_uid="eurohpc.identity.session_end")
def _signed_out(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        user_session_forget(session_key=request.session.session_key)
