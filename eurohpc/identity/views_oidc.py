"""Single sign-on pages: the start (to the provider), the callback (back from it) and the logout that ends the
provider's session too. A refusal renders the login page again with its reason, under its status (via
`eurohpc.pages.refusable`)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LogoutView
from django.http import Http404, HttpResponseRedirect
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from eurohpc.errors import NotPermitted, RuleViolation
from eurohpc.identity.oidc import SESSION_ID_TOKEN, SESSION_ISSUER, end_session_url, oidc_setting, sso_enabled
from eurohpc.pages import refusable

LOGIN_TEMPLATE = "registration/login.html"


def _login_page(request) -> dict:
    return {"form": AuthenticationForm(request), "next": ""}


class SignOnStartView(OIDCAuthenticationRequestView):
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge (kept in the session)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs):
        # mozilla-django-oidc reads the endpoint here; this view reads it (through discovery) when it answers.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:
        return oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        return refusable(request, lambda: super(SignOnStartView, self).get(request), template=LOGIN_TEMPLATE,
                         context=lambda: _login_page(request))  # fmt: skip


class SignOnCallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: the state must be one this browser started, then the backend exchanges the code,
    checks the ID token and finds the account."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request):
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        return refusable(request, lambda: self._answer(request), template=LOGIN_TEMPLATE,
                         context=lambda: _login_page(request))  # fmt: skip

    def _answer(self, request):
        state = request.GET.get("state", "")
        states = request.session.get("oidc_states")
        started = isinstance(states, dict) and state in states
        if request.GET.get("error"):
            if started:
                del states[state]
                request.session.modified = True
            error = request.GET["error"][:100]
            description = request.GET.get("error_description", "")[:300]
            raise NotPermitted(
                f"Single sign-on refused: the identity provider did not sign you in ({error}"
                f"{': ' + description if description else ''}).",
                code="sso_provider_error",
            )
        if not request.GET.get("code") or not state:
            raise RuleViolation("Single sign-on refused: the identity provider's answer has no code or no state.",
                                code="sso_incomplete")  # fmt: skip
        if not started:
            raise RuleViolation(
                "Single sign-on refused: the identity provider's answer does not belong to a sign-in started in this "
                "browser (state mismatch). Start again from the login page.",
                code="sso_state",
            )
        return super().get(request)

    def login_failure(self):
        # The backend refuses with its reason; this is a sign-in another backend stopped (a lockout).
        raise NotPermitted("Single sign-on refused: this sign-in is not allowed now.", code="sso_refused")

    def login_success(self):
        response = super().login_success()
        session = self.request.session
        session[SESSION_ISSUER] = settings.OIDC_ISSUER
        id_token = getattr(self.request, "sso_id_token", "")
        if id_token and self.get_settings("OIDC_STORE_ID_TOKEN", False):
            session[SESSION_ID_TOKEN] = id_token
        if getattr(self.request, "sso_created", False):
            messages.info(
                self.request,
                f"Your account was opened from your {settings.OIDC_PROVIDER_NAME} sign-in. It has no role and no "
                "organisation yet.",
            )
        return response


class SignOutView(LogoutView):
    """Log out (POST). A session signed in through the provider goes on to the provider's end-session endpoint,
    with the ID token as a hint and this service's home as the address to come back to."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(SESSION_ID_TOKEN) if sso_enabled() else None
        provider_logout = end_session_url(request, id_token) if id_token else None
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(provider_logout) if provider_logout else response
