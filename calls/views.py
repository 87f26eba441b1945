"""Pages of calls and proposals: parse, call one service or selector, render. Refusals keep their 4xx."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from calls import services
from calls.actions import PROPOSAL_ACTIONS, proposal_actions
from calls.api import document_response
from calls.checks import proposal_checks
from calls.forms import (
    BudgetForm,
    CallForm,
    ConsortiumMemberForm,
    CutOffForm,
    DocumentForm,
    EligibilityForm,
    ProposalForm,
)
from calls.models import Call, Proposal
from calls.selectors import (
    budget_totals,
    call_list,
    proposal_for,
    proposal_list_for_organisation,
    proposal_timeline,
    submission_counts_of,
    submission_tally,
    submission_total,
    submissions,
    with_budget_totals,
)
from eurohpc.converters import database_id
from eurohpc.pages import form_post
from eurohpc.pages import require_perm as _require

PAGE_SIZE = 50


class CountedPaginator(Paginator):
    """A paginator told how many rows there are when that is known already (None: it counts them)."""

    def __init__(self, object_list, per_page, *, count: int | None):
        super().__init__(object_list, per_page)
        if count is not None:
            self.count = count  # Paginator.count is a cached property: this is its value


def _proposal(request, pk: int) -> Proposal:
    return proposal_for(user=request.user, pk=pk)


# --- public -----------------------------------------------------------------------------------------


def calls_public(request):
    calls = list(call_list(include_drafts=request.user.has_perm("calls.manage_calls")))
    return render(
        request,
        "calls/call_list.html",
        {
            "open_calls": [c for c in calls if c.status == Call.Status.OPEN],
            "other_calls": [c for c in calls if c.status != Call.Status.OPEN],
            "now": timezone.now(),
        },
    )


def call_page(request, identifier: str):
    calls = call_list(include_drafts=request.user.has_perm("calls.manage_calls"))
    call = get_object_or_404(calls, identifier=identifier)
    context = {"call": call, "now": timezone.now(), "cut_off_form": CutOffForm()}
    return render(request, "calls/call_detail.html", context)


# --- applicant ----------------------------------------------------------------------------------------


@login_required
def my_proposals(request):
    _require(request, "calls.add_proposal")
    if request.user.organisation_id is None:
        raise PermissionDenied("Your account belongs to no organisation.")
    proposals = proposal_list_for_organisation(organisation_id=request.user.organisation_id)
    page = Paginator(proposals, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_budget_totals(page.object_list)
    return render(request, "calls/my_proposals.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def proposal_new(request):
    _require(request, "calls.add_proposal")
    if request.user.organisation_id is None:
        raise PermissionDenied("Your account belongs to no organisation.")
    call_id = database_id(request.GET.get("call")) or 0
    call = get_object_or_404(Call.objects.exclude(status=Call.Status.DRAFT), pk=call_id)
    form = ProposalForm(request.POST or None, call=call, initial={"type": call.allowed_types[0]})
    context = {"form": form, "call": call}
    if request.method == "POST" and form.is_valid():
        return form_post(
            request,
            form=form,
            template="calls/proposal_form.html",
            context=context,
            save=lambda data: services.proposal_create(
                call=call, organisation=request.user.organisation, actor=request.user, **data
            ),
            success="Draft created. Next: the consortium, the budget and the documents.",
            redirect_to=_detail_url,
        )
    return render(request, "calls/proposal_form.html", context, status=400 if form.errors else 200)


def _detail_context(request, proposal: Proposal) -> dict:
    lines = list(proposal.budget_lines.all())
    actions = proposal_actions(proposal=proposal, user=request.user)
    return {
        "proposal": proposal,
        "lines": lines,
        "totals": budget_totals(lines),
        "checks": proposal_checks(proposal),
        "timeline": proposal_timeline(proposal=proposal, user=request.user),
        **{f"can_{name}": name in actions for name in PROPOSAL_ACTIONS},
        # The screen (its automatic checks) opens to the officer once submitted; its form once it can be recorded.
        "can_screen": request.user.has_perm("calls.record_eligibility", proposal) and proposal.cut_off_id is not None,
        "now": timezone.now(),
    }


@login_required
def proposal_page(request, pk: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.view_proposal", proposal)
    if proposal.type == Proposal.Type.ACCESS:  # an access application has its own page
        return redirect("access-application", pk=proposal.pk)
    return render(request, "calls/proposal_detail.html", _detail_context(request, proposal))


@login_required
@require_http_methods(["GET", "POST"])
def proposal_edit(request, pk: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.change_proposal", proposal)
    initial = {f: getattr(proposal, f) for f in services.EDITABLE_FIELDS}
    form = ProposalForm(request.POST or None, call=proposal.call, initial=initial)
    context = {"form": form, "call": proposal.call, "proposal": proposal}
    if request.method == "POST" and form.is_valid():
        return form_post(
            request,
            form=form,
            template="calls/proposal_form.html",
            context=context,
            save=lambda data: services.proposal_update(proposal=proposal, actor=request.user, **data),
            success="Details saved.",
            redirect_to=_detail_url(proposal),
        )
    return render(request, "calls/proposal_form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_budget(request, pk: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.change_proposal", proposal)
    form = BudgetForm(request.POST or None, lines=list(proposal.budget_lines.all()))
    rates = {category: proposal.call.funding_rate(category) for category in proposal.call.funding_rates}
    context = {"form": form, "proposal": proposal, "rates": rates}
    if request.method == "POST" and form.is_valid():
        return form_post(
            request,
            form=form,
            template="calls/proposal_budget.html",
            context=context,
            save=lambda data: services.proposal_set_budget(proposal=proposal, lines=form.lines(), actor=request.user),
            success="Budget saved.",
            redirect_to=_detail_url(proposal),
        )
    return render(request, "calls/proposal_budget.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def proposal_consortium(request, pk: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.change_proposal", proposal)
    form = ConsortiumMemberForm(request.POST or None)
    context = {"form": form, "proposal": proposal}
    if request.method == "POST" and form.is_valid():
        return form_post(
            request,
            form=form,
            template="calls/proposal_consortium.html",
            context=context,
            save=lambda data: services.consortium_member_add(proposal=proposal, actor=request.user, **data),
            success=f"{form.cleaned_data['organisation'].short_name} added to the consortium.",
            redirect_to=reverse("proposal-consortium", args=[proposal.pk]),
        )
    return render(request, "calls/proposal_consortium.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def proposal_consortium_remove(request, pk: int, member_id: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.change_proposal", proposal)
    member = get_object_or_404(proposal.consortium_members.all(), pk=member_id)
    return form_post(
        request,
        template="calls/proposal_consortium.html",
        context=lambda: {"form": ConsortiumMemberForm(), "proposal": proposal},
        save=lambda _: services.consortium_member_remove(member=member, actor=request.user),
        success=f"{member.organisation.short_name} removed from the consortium.",
        redirect_to=reverse("proposal-consortium", args=[proposal.pk]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def proposal_documents(request, pk: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.change_proposal", proposal)
    form = DocumentForm(request.POST or None, request.FILES or None)
    context = {"form": form, "proposal": proposal}
    if request.method == "POST" and form.is_valid():
        return form_post(
            request,
            form=form,
            template="calls/proposal_documents.html",
            context=context,
            save=lambda data: services.document_upload(
                proposal=proposal, kind=data["kind"], uploaded_file=data["file"], actor=request.user
            ),
            success=lambda document: f"{document.filename} uploaded (SHA-256 {document.sha256[:16]}…).",
            redirect_to=reverse("proposal-documents", args=[proposal.pk]),
        )
    return render(request, "calls/proposal_documents.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def proposal_document_delete(request, pk: int, document_id: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.change_proposal", proposal)
    document = get_object_or_404(proposal.documents.all(), pk=document_id)
    return form_post(
        request,
        template="calls/proposal_documents.html",
        context=lambda: {"form": DocumentForm(), "proposal": proposal},
        save=lambda _: services.document_delete(document=document, actor=request.user),
        success=f"{document.filename} removed.",
        redirect_to=reverse("proposal-documents", args=[proposal.pk]),
    )


@login_required
def proposal_document_download(request, pk: int, document_id: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.view_document", proposal)
    document = get_object_or_404(proposal.documents.all(), pk=document_id)
    return document_response(document)


def _detail_url(proposal: Proposal) -> str:
    return reverse("proposal-detail", args=[proposal.pk])


def _action(request, pk: int, perm: str, action, success: str):
    """A button of the proposal page: the one service, else the page again with its refusal."""
    proposal = _proposal(request, pk)
    _require(request, perm, proposal)
    return form_post(
        request,
        template="calls/proposal_detail.html",
        context=lambda: _detail_context(request, proposal),
        save=lambda _: action(proposal=proposal, actor=request.user),
        success=lambda result: success.format(proposal=result),
        redirect_to=_detail_url,
    )


@login_required
@require_POST
def proposal_submit(request, pk: int):
    return _action(
        request,
        pk,
        "calls.submit_proposal",
        services.proposal_submit,
        "Submitted. Your reference is {proposal.reference}; a receipt is on its way.",
    )


@login_required
@require_POST
def proposal_withdraw(request, pk: int):
    return _action(
        request,
        pk,
        "calls.withdraw_proposal",
        services.proposal_withdraw,
        "Proposal {proposal.reference} withdrawn.",
    )


@login_required
@require_POST
def proposal_copy(request, pk: int):
    return _action(
        request,
        pk,
        "calls.change_proposal",
        services.proposal_copy,
        "Copied into a new draft.",
    )


# --- programme officer -------------------------------------------------------------------------------


@login_required
def submission_list(request):
    _require(request, "calls.list_submissions")
    params = request.GET
    filters = {
        "call_id": database_id(params.get("call")),
        "cut_off_id": database_id(params.get("cut_off")),
        "status": params.get("status") if params.get("status") in Proposal.Status.values else None,
        "type": params.get("type") if params.get("type") in Proposal.Type.values else None,
        "search": (params.get("q") or "").strip() or None,
    }
    tally = submission_tally(call_id=filters["call_id"])
    paginator = CountedPaginator(submissions(**filters), PAGE_SIZE, count=submission_total(tally, **filters))
    page = paginator.get_page(params.get("page"))
    page.object_list = with_budget_totals(page.object_list)
    calls = list(call_list(include_drafts=True))
    query = "&".join(f"{k}={v}" for k, v in params.items() if k != "page" and v)
    return render(
        request,
        "calls/submission_list.html",
        {
            "page": page,
            "calls": calls,
            # the filters' values as chosen (None when not), read once rather than looked up in every option
            "filters": {key: params.get(key) for key in ("call", "cut_off", "status", "type", "q")},
            "statuses": Proposal.Status.choices,
            "types": Proposal.Type.choices,
            "counts": submission_counts_of(tally),
            "query": query,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def eligibility_screen(request, pk: int):
    proposal = _proposal(request, pk)
    _require(request, "calls.record_eligibility", proposal)
    if proposal.is_draft:
        raise Http404
    form = EligibilityForm(request.POST or None)
    context = {**_detail_context(request, proposal), "form": form,
               "can_record": services.eligibility_recordable(proposal)}  # fmt: skip
    if request.method == "POST" and form.is_valid():
        return form_post(
            request,
            form=form,
            template="calls/eligibility.html",
            context=context,
            save=lambda data: services.proposal_record_eligibility(proposal=proposal, actor=request.user, **data),
            success=f"Eligibility of {proposal.reference} recorded.",
            redirect_to=f"{reverse('submission-list')}?call={proposal.call_id}",
        )
    return render(request, "calls/eligibility.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def call_new(request):
    _require(request, "calls.manage_calls")
    form = CallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():

        def save(data):
            data = dict(data)
            status = Call.Status.OPEN if data.pop("open_now") else Call.Status.DRAFT
            return services.call_create(actor=request.user, status=status, **data)

        return form_post(
            request,
            form=form,
            template="calls/call_form.html",
            context={"form": form},
            save=save,
            success=lambda call: f"Call {call.identifier} created ({call.get_status_display().lower()}).",
            redirect_to=_call_url,
        )
    return render(request, "calls/call_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def call_add_cut_off(request, pk: int):
    _require(request, "calls.manage_calls")
    call = get_object_or_404(Call, pk=pk)
    form = CutOffForm(request.POST)
    context = {"call": call_list(include_drafts=True).get(pk=pk), "now": timezone.now(), "cut_off_form": form}
    return form_post(
        request,
        form=form,
        template="calls/call_detail.html",
        context=context,
        save=lambda data: services.cut_off_add(call=call, closes_at=data["closes_at"], actor=request.user),
        success="Cut-off added.",
        redirect_to=_call_url(call),
    )


@login_required
@require_POST
def call_open(request, pk: int):
    _require(request, "calls.manage_calls")
    call = get_object_or_404(Call, pk=pk)
    return form_post(
        request,
        template="calls/call_detail.html",
        context=lambda: {
            "call": call_list(include_drafts=True).get(pk=pk),
            "now": timezone.now(),
            "cut_off_form": CutOffForm(),
        },
        save=lambda _: services.call_open(call=call, actor=request.user),
        success=f"{call.identifier} is open.",
        redirect_to=_call_url(call),
    )


def _call_url(call: Call) -> str:
    return reverse("call-detail", kwargs={"identifier": call.identifier})
