"""Pages of self-registration: register, verify the e-mail address (or ask for a new link), ask to act for an
organisation, and the programme office's queue where each request is confirmed or refused. Parse, call one service
or selector, render; refusals keep their 4xx status."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eurohpc.identity.forms_registration import (
    ConfirmProposedForm,
    OrganisationChoiceForm,
    RefuseForm,
    RegistrationForm,
    VerificationResendForm,
)
from eurohpc.identity.selectors import registration as selectors
from eurohpc.identity.services import registration as services
from eurohpc.models import MembershipRequest
from eurohpc.pages import errors_onto, form_post, refusable, require_perm

PAGE_SIZE = 25
PERM = "eurohpc.confirm_membership"


# --- the applicant ----------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    if request.method == "GET":
        return render(request, "identity/registration_register.html", {"form": RegistrationForm()})
    form = RegistrationForm(request.POST)

    def save(data):
        return services.user_register(
            username=data["username"], email=data["email"], first_name=data["first_name"],
            last_name=data["last_name"], password=data["password"], **form.choice(),
        )  # fmt: skip

    return form_post(
        request,
        form=form,
        template="identity/registration_register.html",
        context=lambda: {"form": form},
        save=save,
        success=lambda made: (
            f"We sent a link to {made.user.email}: open it within "
            f"{services.VERIFICATION_HOURS} hours to verify the address and activate your account."
        ),
        redirect_to=reverse("register-sent"),
        invalid_message="Your registration is not sent yet: correct the fields marked below.",
        on_refusal=errors_onto(form),
        list_errors=False,
    )


@require_GET
def register_sent(request):
    return render(request, "identity/registration_sent.html", {"hours": services.VERIFICATION_HOURS})


@require_GET
def verify_email(request, token: str):
    def verified():
        user = services.email_verify(token=token)
        messages.success(
            request,
            f"Your e-mail address {user.email} is verified and your account {user.username} is active: log in. "
            "The programme office confirms the organisation you act for; you are told by e-mail.",
        )
        return redirect("login")

    return refusable(
        request, verified, template="identity/registration_verify_failed.html",
        context={"form": VerificationResendForm()},
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
def verification_resend(request):
    if request.method == "GET":
        return render(request, "identity/registration_resend.html", {"form": VerificationResendForm()})
    form = VerificationResendForm(request.POST)
    return form_post(
        request,
        form=form,
        template="identity/registration_resend.html",
        context=lambda: {"form": form},
        save=lambda data: services.verification_link_resend(email=data["email"]),
        success=f"If an account registered with this address awaits verification, a new link is on its way; it "
        f"works for {services.VERIFICATION_HOURS} hours. An address receives at most "
        f"{services.VERIFICATION_LINKS_PER_HOUR} links an hour.",
        redirect_to=reverse("register-sent"),
    )


def _membership_context(request, form=None) -> dict:
    return {
        "form": form or OrganisationChoiceForm(),
        "latest": selectors.latest_membership_request(user=request.user),
    }


@login_required
@require_http_methods(["GET", "POST"])
def membership_request(request):
    """A signed-in user without an organisation (say, one who came through single sign-on) asks to act for one."""
    if request.method == "GET":
        return render(request, "identity/registration_organisation.html", _membership_context(request))
    form = OrganisationChoiceForm(request.POST)
    return form_post(
        request,
        form=form,
        template="identity/registration_organisation.html",
        context=lambda: _membership_context(request, form),
        save=lambda data: services.membership_request_create(user=request.user, actor=request.user, **form.choice()),
        success="Your request is sent: the programme office confirms it and you are told by e-mail.",
        redirect_to="dashboard",
        invalid_message="Your request is not sent yet: correct the fields marked below.",
        on_refusal=errors_onto(form),
        list_errors=False,
    )


# --- the programme office ---------------------------------------------------------------------------------------


def officer_dashboard_context(request) -> dict:
    if not request.user.has_perm(PERM):
        return {}
    return {"registration_work": selectors.membership_requests_waiting()}


@login_required
@require_GET
def registration_queue(request):
    require_perm(request, PERM)
    page = Paginator(selectors.membership_requests_pending(), PAGE_SIZE).get_page(request.GET.get("page"))
    matches = selectors.register_matches(list(page))
    rows = [{"request": r, "matches": matches.get(r.pk, [])} for r in page]
    return render(request, "identity/registration_queue.html", {"page": page, "rows": rows})


def _request(request, pk: int) -> MembershipRequest:
    require_perm(request, PERM)
    found = selectors.membership_request_detail(pk=pk)
    if found is None:
        raise Http404
    return found


def _detail_context(found: MembershipRequest, **forms) -> dict:
    pending = found.status == MembershipRequest.Status.PENDING
    proposed = found.organisation_id is None
    return {
        "membership": found,
        "applicant": found.user,
        "matches": selectors.register_matches([found]).get(found.pk, []),
        "pending": pending,
        "confirm_form": forms.get("confirm_form") or (ConfirmProposedForm.for_request(found) if proposed else None),
        "refuse_form": forms.get("refuse_form") or RefuseForm(),
    }


@login_required
@require_GET
def registration_detail(request, pk: int):
    found = _request(request, pk)
    return render(request, "identity/registration_detail.html", _detail_context(found))


@login_required
@require_POST
def registration_confirm(request, pk: int):
    found = _request(request, pk)
    form = ConfirmProposedForm.for_request(found, request.POST) if found.organisation_id is None else None
    return form_post(
        request,
        form=form,
        template="identity/registration_detail.html",
        context=lambda: _detail_context(_request(request, pk), **({"confirm_form": form} if form else {})),
        save=lambda data: services.membership_request_confirm(
            request=found, actor=request.user, correction=form.correction() if form is not None else None
        ),
        success=lambda done: (
            f"{done.user.display_name} now acts for {done.user.organisation.short_name} as an "
            "applicant; they are told by e-mail."
        ),
        redirect_to=reverse("registration-queue"),
        on_refusal=errors_onto(form) if form is not None else None,
        list_errors=False,
    )


@login_required
@require_POST
def registration_refuse(request, pk: int):
    found = _request(request, pk)
    form = RefuseForm(request.POST)
    return form_post(
        request,
        form=form,
        template="identity/registration_detail.html",
        context=lambda: _detail_context(_request(request, pk), refuse_form=form),
        save=lambda data: services.membership_request_refuse(request=found, reason=data["reason"], actor=request.user),
        success=lambda done: (
            f"The request of {done.user.display_name} is refused; they are told by e-mail with your reason."
        ),
        redirect_to=reverse("registration-queue"),
        on_refusal=errors_onto(form),
        list_errors=False,
    )
