"""Pages of the evaluation review (redress): the applicant's request and receipt, the programme office's list and
request page (admissibility, committee, each member's declaration and the opinion, the re-evaluation and its
conclusion). Parse, call one service or selector, render; refusals keep their 4xx status."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls.evaluation import selectors, services
from calls.evaluation.forms_redress import (
    AdmissibilityForm,
    CommitteeDeclarationForm,
    CommitteeForm,
    OpinionForm,
    RedressFilterForm,
    RedressRequestForm,
)
from calls.evaluation.redress_actions import redress_actions, user_seat
from calls.evaluation.selectors.redress import committee_candidates
from calls.evaluation.services.redress import re_evaluation_consensus
from calls.models import Proposal, RedressRequest
from calls.selectors import proposal_for
from eurohpc.audit_text import action_label, actor_name
from eurohpc.pages import errors_onto, form_post
from eurohpc.pages import require_perm as _require

PAGE_SIZE = 50


# --- applicant ----------------------------------------------------------------------------------------------


def outcome_redress(request, proposal: Proposal) -> dict:
    """The outcome page's evaluation review panel: the window and the proposal's requests."""
    if not request.user.has_perm("calls.request_redress", proposal):
        return {}
    return {
        "window": selectors.redress_window(proposal=proposal),
        "requests": list(selectors.proposal_redress_requests(proposal=proposal)),
    }


def _applicant_proposal(request, pk: int) -> Proposal:
    proposal = proposal_for(user=request.user, pk=pk, queryset=Proposal.objects.select_related("call", "cut_off"))
    _require(request, "calls.request_redress", proposal)
    return proposal


def _request_context(proposal: Proposal, form=None) -> dict:
    return {
        "proposal": proposal,
        "window": selectors.redress_window(proposal=proposal),
        "form": form or RedressRequestForm(),
    }


@login_required
@require_http_methods(["GET", "POST"])
def redress_request(request, pk: int):
    proposal = _applicant_proposal(request, pk)
    if request.method == "GET":
        return render(request, "evaluation/redress_request.html", _request_context(proposal))
    form = RedressRequestForm(request.POST)
    return form_post(
        request,
        form=form,
        template="evaluation/redress_request.html",
        context=lambda: _request_context(proposal, form),
        save=lambda data: services.redress_request_submit(
            proposal=proposal, grounds=data["grounds"], actor=request.user
        ),
        success=lambda made: f"Your request {made.reference} is received.",
        redirect_to=lambda made: reverse("redress-receipt", args=[made.pk]),
        on_refusal=errors_onto(form),
    )


@login_required
@require_GET
def redress_receipt(request, pk: int):
    """The applicant's receipt: reference, dates, every step and its outcome; never the names of the committee's
    members or of the experts."""
    organisation_id = request.user.organisation_id
    if organisation_id is None:
        raise Http404
    found = get_object_or_404(
        RedressRequest.objects.filter(proposal__organisation_id=organisation_id).select_related(
            "proposal__call", "decision", "outcome_decision"
        ),
        pk=pk,
    )
    _require(request, "calls.view_redress", found)
    return render(request, "evaluation/redress_receipt.html", {"redress": found, "now": timezone.now()})


def applicant_dashboard_context(request) -> dict:
    """The applicant's evaluation reviews on the dashboard: the five most recent, open ones first."""
    return {"redress_requests": list(selectors.applicant_redress_requests(user=request.user)[:5])}


# --- programme office ---------------------------------------------------------------------------------------


def officer_dashboard_context(request) -> dict:
    return {"redress_work": selectors.officer_redress_work(user=request.user)}


@login_required
@require_GET
def redress_list(request):
    _require(request, "calls.oversee_redress")
    form = RedressFilterForm(request.GET, calls=selectors.redress_calls())
    chosen = form.cleaned_data if form.is_valid() else {}
    status = chosen.get("status") or None
    requests = selectors.redress_list(status=status, call_id=chosen.get("call"))
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "form": form, "query": query.urlencode(), "now": timezone.now()}
    return render(request, "evaluation/redress_list.html", context, status=200 if form.is_valid() else 400)


def _detail(request, pk: int):
    _require(request, "calls.oversee_redress")
    detail = selectors.redress_request_detail(pk=pk)
    if detail is None:
        raise Http404
    return detail


def _detail_context(request, detail, **forms) -> dict:
    redress = detail.request
    candidates = (
        committee_candidates(request=redress, seated=detail.committee)
        if redress.status == RedressRequest.Status.IN_REVIEW and request.user.has_perm("calls.manage_redress")
        else []
    )
    history = [{"at": e.created_at, "who": actor_name(e), "what": action_label(e.verb)} for e in detail.history]
    return {
        "detail": detail,
        "redress": redress,
        "proposal": redress.proposal,
        "history": history,
        "now": timezone.now(),
        "seat": user_seat(detail, request.user),
        "actions": redress_actions(detail=detail, user=request.user, candidates=candidates),
        "new_consensus": re_evaluation_consensus(redress),
        "admissibility_form": forms.get("admissibility_form") or AdmissibilityForm(),
        "committee_form": forms.get("committee_form") or CommitteeForm(candidates=candidates),
        "declaration_form": forms.get("declaration_form") or CommitteeDeclarationForm(),
        "opinion_form": forms.get("opinion_form") or OpinionForm(),
    }


@login_required
@require_GET
def redress_detail(request, pk: int):
    detail = _detail(request, pk)
    return render(request, "evaluation/redress_detail.html", _detail_context(request, detail))


def _step(request, detail, *, form_name: str | None, form, save, success: str):
    """A form or button of the request page (its permission checked by the view): the one service, else the page
    again with its refusal."""
    pk = detail.request.pk
    bound = form(detail) if form is not None else None
    return form_post(
        request,
        form=bound,
        template="evaluation/redress_detail.html",
        context=lambda: _detail_context(request, detail, **({form_name: bound} if form_name else {})),
        save=lambda data: save(detail, data),
        success=success,
        redirect_to=reverse("redress-detail", args=[pk]),
        on_refusal=errors_onto(bound) if bound is not None else None,
    )


@login_required
@require_POST
def redress_admissibility(request, pk: int):
    detail = _detail(request, pk)
    _require(request, "calls.manage_redress")
    return _step(
        request, detail, form_name="admissibility_form",
        form=lambda d: AdmissibilityForm(request.POST),
        save=lambda d, data: services.redress_admissibility_record(
            request=d.request, admissible=data["admissible"], reason=data["reason"], actor=request.user
        ),
        success="Admissibility recorded; the applicant is told.",
    )  # fmt: skip


@login_required
@require_POST
def redress_committee(request, pk: int):
    detail = _detail(request, pk)
    _require(request, "calls.manage_redress")
    return _step(
        request, detail, form_name="committee_form",
        form=lambda d: CommitteeForm(
            request.POST, candidates=committee_candidates(request=d.request, seated=d.committee)
        ),
        save=lambda d, data: services.redress_committee_appoint(
            request=d.request, members=list(data["members"]), actor=request.user
        ),
        success="Committee appointed; each member declares any conflict of interest before reading the request.",
    )  # fmt: skip


@login_required
@require_POST
def redress_declare(request, pk: int):
    def save(detail, data):
        return services.redress_committee_declare(
            seat=user_seat(detail, request.user), conflict=data["declaration"] == "conflict", reason=data["reason"],
            actor=request.user,
        )  # fmt: skip

    detail = _detail(request, pk)
    _require(request, "calls.sit_on_redress_committee", user_seat(detail, request.user))
    return _step(
        request, detail, form_name="declaration_form",
        form=lambda d: CommitteeDeclarationForm(request.POST), save=save, success="Declaration recorded.",
    )  # fmt: skip


@login_required
@require_POST
def redress_opinion(request, pk: int):
    detail = _detail(request, pk)
    _require(request, "calls.sit_on_redress_committee", user_seat(detail, request.user))
    return _step(
        request, detail, form_name="opinion_form",
        form=lambda d: OpinionForm(request.POST),
        save=lambda d, data: services.redress_opinion_record(
            request=d.request, opinion=data["opinion"], reason=data["reason"], actor=request.user
        ),
        success="The committee's opinion is recorded; the applicant is told.",
    )  # fmt: skip


@login_required
@require_POST
def redress_conclude(request, pk: int):
    detail = _detail(request, pk)
    _require(request, "calls.manage_redress")
    return _step(
        request, detail, form_name=None, form=None,
        save=lambda d, data: services.redress_conclude(request=d.request, actor=request.user),
        success="Evaluation review concluded: the outcome is recorded and the applicant is told.",
    )  # fmt: skip
