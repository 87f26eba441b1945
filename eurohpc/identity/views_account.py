"""The profile page and what it gathers: the second factor, signed-in sessions, the password, API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from eurohpc.errors import RuleViolation
from eurohpc.identity.forms_account import EnrolmentConfirmForm, OtpCodeForm, PasswordChangeForm, SecondFactorResetForm
from eurohpc.identity.middleware import ENROLLED
from eurohpc.identity.selectors.account import profile_overview
from eurohpc.identity.services import second_factor as otp
from eurohpc.identity.services.sessions import password_change, user_session_revoke
from eurohpc.models import User
from eurohpc.pages import errors_onto, form_post, refusable, require_perm


def _tokens_context(request) -> dict:
    from eurohpc.identity.views_tokens import tokens_section

    return tokens_section(request)


def profile_context(request) -> dict:
    return {**profile_overview(user=request.user, session_key=request.session.session_key),
            **_tokens_context(request)}  # fmt: skip


@login_required
@require_GET
def profile(request):
    return render(request, "identity/profile.html", profile_context(request))


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return "dashboard"


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Enrolment: scan the QR code (or type the key), confirm with a code, keep the ten recovery codes."""
    if request.method == "GET":
        if otp.second_factor_enrolled(request.user):
            return redirect("profile")
        device = otp.totp_pending(request.user) or otp.totp_enrolment_start(user=request.user)
        return render(
            request, "identity/two_factor_setup.html", _setup_context(request, device, EnrolmentConfirmForm())
        )
    form = EnrolmentConfirmForm(request.POST)
    device = otp.totp_pending(request.user)
    context = lambda: _setup_context(request, device, form)  # noqa: E731
    if not form.is_valid():
        return render(request, "identity/two_factor_setup.html", context(), status=400)

    def confirmed():
        device, codes = otp.totp_enrolment_confirm(
            user=request.user, code=form.cleaned_data["code"], keep_session=request.session.session_key
        )
        otp_login(request, device)
        request.session[ENROLLED] = True
        messages.success(request, "Your second factor is on: it is asked at every sign-in from now on.")
        return render(request, "identity/recovery_codes.html", {"codes": codes, "next": _next_url(request)})

    return refusable(request, confirmed, template="identity/two_factor_setup.html", context=context)


def _setup_context(request, device, form) -> dict:
    import segno

    context = {"form": form, "device": device, "next": request.GET.get("next") or request.POST.get("next", ""),
               "required": otp.second_factor_required(request.user)}  # fmt: skip
    if device is not None:
        context["qr"] = segno.make(otp.totp_config_url(device), error="m").svg_data_uri(scale=5, border=2)
        context["secret"] = otp.totp_secret_base32(device)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """After the password: the authenticator's code, or a recovery code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = OtpCodeForm(request.POST or None)
    context = {"form": form, "next": request.GET.get("next") or request.POST.get("next", "")}
    if request.method == "GET" or not form.is_valid():
        return render(
            request, "identity/two_factor_verify.html", context, status=200 if request.method == "GET" else 400
        )

    def verified():
        device = otp.second_factor_match(user=request.user, code=form.cleaned_data["code"])
        if device is None:
            messages.error(request, "That code is not valid: enter the 6 digits your authenticator app shows now, "
                                    "or one of your unused recovery codes.")  # fmt: skip
            return render(request, "identity/two_factor_verify.html", context, status=400)
        otp_login(request, device)
        request.session[ENROLLED] = True
        if device.name == otp.RECOVERY_DEVICE_NAME:
            messages.warning(request, "You signed in with a recovery code; it cannot be used again. "
                                      "Make new codes on your profile page if few are left.")  # fmt: skip
        return redirect(_next_url(request))

    return refusable(request, verified, template="identity/two_factor_verify.html", context=context)


@login_required
@require_POST
def recovery_codes_regenerate(request):
    return refusable(
        request,
        lambda: render(request, "identity/recovery_codes.html",
                       {"codes": otp.recovery_codes_regenerate(user=request.user), "next": "profile"}),
        template="identity/profile.html", context=lambda: profile_context(request),
    )  # fmt: skip


@login_required
@require_POST
def two_factor_disable(request):
    def disabled(_):
        otp.second_factor_disable(user=request.user)
        request.session[ENROLLED] = False

    return form_post(request, template="identity/profile.html", context=lambda: profile_context(request),
                     save=disabled, success="Your second factor is off: sign-in asks for your password only.",
                     redirect_to="profile")  # fmt: skip


@login_required
@require_POST
def session_revoke(request, session_id: int):
    return form_post(
        request, template="identity/profile.html", context=lambda: profile_context(request),
        save=lambda _: user_session_revoke(user=request.user, session_id=session_id, actor=request.user),
        success="That session is ended: its browser must sign in again.", redirect_to="profile",
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "GET":
        return render(request, "identity/password_change.html", {"form": form})

    def changed(ended: int) -> str:
        others = f" {ended} other session{'s' if ended != 1 else ''} ended." if ended else ""
        return "Your password is changed." + others

    return form_post(
        request, form=form, template="identity/password_change.html", context={"form": form},
        save=lambda data: password_change(request=request, user=request.user, old_password=data["old_password"],
                                          new_password=data["new_password1"]),
        success=changed, redirect_to="profile", on_refusal=errors_onto(form), list_errors=False,
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_reset(request):
    """An administrator removes the authenticator of a user who lost it (audited, the user is told)."""
    require_perm(request, "eurohpc.reset_second_factor")
    form = SecondFactorResetForm(request.POST or None, initial={"username": request.GET.get("username", "")})
    context = {"form": form}
    if request.method == "GET":
        return render(request, "identity/second_factor_reset.html", context)

    def reset(data):
        user = User.objects.filter(username=data["username"]).first()
        if user is None:
            raise RuleViolation(f"There is no user named {data['username']!r}.", code="unknown_user",
                                errors={"username": ["No such user."]})  # fmt: skip
        otp.second_factor_reset(user=user, actor=request.user, reason=data["reason"])
        return user

    return form_post(
        request, form=form, template="identity/second_factor_reset.html", context=context, save=reset,
        success=lambda user: f"The second factor of {user.username} is reset; they enrol again at their next sign-in.",
        redirect_to="second-factor-reset", on_refusal=errors_onto(form), list_errors=False,
    )  # fmt: skip
