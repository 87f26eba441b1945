"""Pages of the evaluation: parse, call one service or selector, render. Refusals keep their 4xx status."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls.access.selectors import access_details
from calls.evaluation import selectors, services
from calls.evaluation.actions import assignment_actions
from calls.evaluation.forms import (
    AssignForm,
    AssignmentFilterForm,
    AutoAssignForm,
    ConflictDeclarationForm,
    DecisionForm,
    ReasonForm,
    ScoresForm,
)
from calls.evaluation.presenters import (
    board_rows,
    consensus_data,
    individual_reviews,
    ready_summary_report,
    summary_report_response,
)
from calls.evaluation.scheme import scheme_from_data, scheme_of
from calls.evaluation.views_redress import outcome_redress
from calls.models import Assignment, CutOff, Document, Proposal, Review, SummaryReport
from calls.selectors import proposal_for
from eurohpc.pages import errors_onto, form_post, refusable
from eurohpc.pages import require_perm as _require

PAGE_SIZE = 50


# --- evaluator -----------------------------------------------------------------------------------------------


@login_required
@require_GET
def evaluator_assignments(request):
    _require(request, "calls.evaluate")
    form = AssignmentFilterForm(request.GET, calls=selectors.evaluator_calls(user=request.user))
    chosen = form.cleaned_data if form.is_valid() else {}
    assignments = selectors.evaluator_assignments(
        user=request.user, call_id=chosen.get("call"), state=chosen.get("state") or None
    )
    page = Paginator(assignments, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for a in page.object_list:
        a.late = selectors.overdue_step(a, now)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "now": now, "form": form, "query": query.urlencode()}
    return render(request, "evaluation/my_assignments.html", context, status=200 if form.is_valid() else 400)


def _own_assignment(request, pk: int) -> Assignment:
    _require(request, "calls.evaluate")
    return get_object_or_404(selectors.evaluator_assignments(user=request.user), pk=pk)


def _assignment_context(request, assignment: Assignment, form=None, scores_form=None) -> dict:
    proposal = assignment.proposal
    context = {
        "assignment": assignment,
        "proposal": proposal,
        "now": timezone.now(),
        "actions": assignment_actions(assignment=assignment, user=request.user),
        "late": selectors.overdue_step(assignment),
    }
    if assignment.closed_at is not None:  # reassigned or re-evaluated: nothing more to do here
        return context
    if assignment.declaration == Assignment.Declaration.PENDING:
        context["declaration_form"] = form or ConflictDeclarationForm()
        return context
    if assignment.declaration == Assignment.Declaration.CONFLICT:
        return context
    scheme = scheme_of(proposal.call)
    review = Review.objects.filter(assignment=assignment).prefetch_related("scores").first()
    context.update({"scheme": scheme, "review": review,
                    "documents": Document.objects.filter(proposal=proposal).order_by("uploaded_at", "id")})  # fmt: skip
    access = access_details(proposal=proposal)
    if access is not None:  # an access application: its request and technical assessment instead of a budget
        context.update({"access": access, "technical": getattr(access, "technical", None)})
    else:
        context.update(
            {
                "lines": list(proposal.budget_lines.all()),
                "eu_contribution": selectors.proposal_eu_contribution(proposal=proposal),
            }
        )
    if review is not None and review.status == Review.Status.SUBMITTED:
        by_code = {s.criterion: s for s in review.scores.all()}
        context["submitted_scores"] = [(c, by_code.get(c.code)) for c in scheme.criteria]
        if request.user.has_perm("calls.view_reviews", proposal):
            context["others"] = individual_reviews(user=request.user, proposal=proposal)
            context["consensus"] = consensus_data(proposal=proposal)
    elif proposal.status == Proposal.Status.EVALUATION:
        draft = review.draft if review is not None else {}
        context["scores_form"] = scores_form or ScoresForm(
            scheme=scheme, scores=draft.get("scores"), comments=draft.get("comments")
        )
    return context


@login_required
@require_GET
def assignment_page(request, pk: int):
    assignment = _own_assignment(request, pk)
    return render(request, "evaluation/assignment.html", _assignment_context(request, assignment))


@login_required
@require_POST
def assignment_declare(request, pk: int):
    assignment = _own_assignment(request, pk)
    form = ConflictDeclarationForm(request.POST)

    def save(data) -> bool:
        conflict = data["declaration"] == "conflict"
        services.assignment_declare(assignment=assignment, conflict=conflict, reason=data["reason"], actor=request.user)
        return conflict

    return form_post(
        request,
        form=form,
        template="evaluation/assignment.html",
        context=lambda: _assignment_context(request, assignment, form),
        save=save,
        success=lambda conflict: (
            f"Conflict of interest recorded: you are recused from {assignment.proposal}."
            if conflict
            else f"Declaration recorded: proposal {assignment.proposal} is open to you."
        ),
        redirect_to=_assignment_url(assignment),
        on_refusal=errors_onto(form),
    )


def _assignment_url(assignment: Assignment) -> str:
    return reverse("evaluation-assignment", args=[assignment.pk])


@login_required
@require_POST
def assignment_review(request, pk: int):
    assignment = _own_assignment(request, pk)
    reason = services.coi_refusal(assignment, assignment.proposal, "scoring it")
    if reason and assignment.closed_at is None:  # a closed one: the service's 409 says when and why
        raise PermissionDenied(reason)
    form = ScoresForm(request.POST, scheme=scheme_of(assignment.proposal.call))
    form.is_valid()  # character fields: always valid; the service checks the scale
    scores, comments = form.values()
    submit = request.POST.get("action") == "submit"
    return form_post(
        request,
        template="evaluation/assignment.html",
        context=lambda: _assignment_context(request, assignment, scores_form=form),
        save=lambda _: services.review_save(
            assignment=assignment, scores=scores, comments=comments, actor=request.user, submit=submit
        ),
        success="Review submitted: it is now locked." if submit else "Draft saved.",
        redirect_to=_assignment_url(assignment),
        on_refusal=lambda exc: form.add_service_errors(exc.errors),
    )


@login_required
@require_GET
def assignment_document(request, pk: int, document_id: int):
    """A proposal document, for an evaluator who declared no conflict."""
    from calls.api import document_response

    assignment = _own_assignment(request, pk)
    reason = services.coi_refusal(assignment, assignment.proposal)
    if reason:
        raise PermissionDenied(reason)
    _require(request, "calls.view_document", assignment.proposal)
    document = get_object_or_404(Document.objects.filter(proposal_id=assignment.proposal_id), pk=document_id)
    return document_response(document)


def evaluator_dashboard_context(request) -> dict:
    """The evaluator's panel of the dashboard: counts and the next assignments."""
    summary = selectors.evaluator_summary(user=request.user)
    upcoming = list(
        selectors.evaluator_assignments(user=request.user).filter(
            proposal__status__in=selectors.OPEN_WORK, closed_at__isnull=True
        )[:5]
    )
    return {"evaluation": {**summary, "upcoming": upcoming, "now": timezone.now()}}


# --- programme officer ------------------------------------------------------------------------------------


def officer_dashboard_context(request) -> dict:
    """The officer's evaluation work on the dashboard, first on the panel."""
    return {"evaluation_work": selectors.officer_evaluation_work()}


@login_required
@require_GET
def cut_off_list(request):
    _require(request, "calls.view_evaluation")
    page = Paginator(selectors.cut_offs_in_evaluation(), PAGE_SIZE).get_page(request.GET.get("page"))
    due = selectors.cut_off_consensus_due(cut_offs=page.object_list)
    for cut_off in page.object_list:
        cut_off.consensus_due = due[cut_off.pk]
    return render(request, "evaluation/cut_offs.html", {"page": page, "overdue": selectors.overdue_count()})


def _cut_off(request, pk: int) -> CutOff:
    _require(request, "calls.view_evaluation")
    return get_object_or_404(CutOff.objects.select_related("call"), pk=pk)


def _board_context(request, cut_off: CutOff, assign_form=None, auto_form=None) -> dict:
    proposals = selectors.board_proposals(cut_off=cut_off)
    page = Paginator(proposals.only(*selectors.BOARD_PROPOSAL_FIELDS), PAGE_SIZE).get_page(request.GET.get("page"))
    on_page = list(page.object_list)
    board = selectors.assignment_board(cut_off=cut_off, proposals=on_page)
    open_proposals = proposals.filter(pk__in=[p.pk for p in on_page if p.status in selectors.OPEN_WORK])
    can_manage = request.user.has_perm("calls.manage_evaluation")
    return {
        "cut_off": cut_off,
        "board": board,
        "rows": board_rows(board=board, can_manage=can_manage),
        "page": page,
        "assign_form": assign_form or AssignForm(proposals=open_proposals),
        "auto_form": auto_form or AutoAssignForm(),
        "can_manage": can_manage,
        "consensus_due": selectors.cut_off_consensus_due(cut_offs=[cut_off])[cut_off.pk],
    }


@login_required
@require_GET
def assignment_board(request, pk: int):
    cut_off = _cut_off(request, pk)
    return render(request, "evaluation/board.html", _board_context(request, cut_off))


@login_required
@require_POST
def assignment_add(request, pk: int):
    cut_off = _cut_off(request, pk)
    _require(request, "calls.manage_evaluation")
    open_proposals = selectors.board_proposals(cut_off=cut_off).filter(status__in=selectors.OPEN_WORK)
    data = request.POST.copy()
    if "pair" in data:  # a cell of the board: "<proposal id>:<evaluator id>"
        data["proposal"], _, data["evaluator"] = data["pair"].partition(":")
    form = AssignForm(data, proposals=open_proposals)
    return form_post(
        request,
        form=form,
        template="evaluation/board.html",
        context=lambda: _board_context(request, cut_off, assign_form=form),
        save=lambda data: services.assignment_create(actor=request.user, **data),
        success=lambda assignment: f"{assignment.evaluator.display_name} assigned to {assignment.proposal}.",
        redirect_to=f"{reverse('evaluation-board', args=[cut_off.pk])}?page={request.POST.get('page', 1)}",
    )


@login_required
@require_POST
def auto_assign(request, pk: int):
    cut_off = _cut_off(request, pk)
    _require(request, "calls.manage_evaluation")
    form = AutoAssignForm(request.POST)

    def announce(result) -> None:
        if result.created:
            messages.success(request, f"{len(result.created)} assignment(s) made.")
        else:
            messages.info(request, "Every proposal already has its evaluators: nothing to assign.")
        for proposal, missing in result.shortfall.items():
            messages.warning(
                request, f"{proposal}: {missing} evaluator(s) still missing (no one else without a conflict)."
            )

    return form_post(
        request,
        form=form,
        template="evaluation/board.html",
        context=lambda: _board_context(request, cut_off, auto_form=form),
        save=lambda data: services.assignments_auto_assign(cut_off=cut_off, actor=request.user, **data),
        success=announce,
        redirect_to=reverse("evaluation-board", args=[cut_off.pk]),
    )


def _consensus_context(request, proposal: Proposal, form=None) -> dict:
    scheme = scheme_of(proposal.call)
    reviews = selectors.submitted_reviews(proposal=proposal)
    spread = selectors.consensus_spread(proposal=proposal, scheme=scheme, reviews=reviews)
    if form is None:
        form = ScoresForm(
            scheme=scheme,
            scores={s.code: s.consensus for s in spread if s.consensus is not None},
            comments={s.code: s.comment for s in spread},
        )
    columns = [(review, {s.criterion: s for s in review.scores.all()}) for review in reviews]
    rows = [{"spread": s, "cells": [by_code.get(s.code) for _, by_code in columns]} for s in spread]
    assignments = list(proposal.assignments.select_related("evaluator", "review").order_by("id"))
    return {
        "proposal": proposal,
        "scheme": scheme,
        "reviews": reviews,
        "rows": rows,
        "assignments": assignments,
        "form": form,
        "consensus": getattr(proposal, "consensus", None),
        "can_record": proposal.status == Proposal.Status.EVALUATION
        and request.user.has_perm("calls.manage_evaluation"),
        "enough_reviews": len(reviews) >= scheme.min_evaluators,
        "technical": selectors.technical_result(proposal=proposal),
    }


@login_required
@require_http_methods(["GET", "POST"])
def consensus_page(request, pk: int):
    _require(request, "calls.view_evaluation")
    proposal = get_object_or_404(
        Proposal.objects.select_related("call", "cut_off", "organisation", "consensus").prefetch_related(
            "consensus__scores"
        ),
        pk=pk,
    )
    if proposal.cut_off_id is None:
        raise Http404
    if request.method == "GET":
        return render(request, "evaluation/consensus.html", _consensus_context(request, proposal))
    _require(request, "calls.manage_evaluation")
    form = ScoresForm(request.POST, scheme=scheme_of(proposal.call))
    form.is_valid()
    scores, comments = form.values()
    return form_post(
        request,
        template="evaluation/consensus.html",
        context=lambda: _consensus_context(request, proposal, form),
        save=lambda _: services.consensus_record(
            proposal=proposal, scores=scores, comments=comments, actor=request.user
        ),
        success=f"Consensus on {proposal} recorded.",
        redirect_to=reverse("evaluation-ranking", args=[proposal.cut_off_id]),
        on_refusal=lambda exc: form.add_service_errors(exc.errors),
    )


RANKING_PAGE_SIZE = 100


def _ranking_context(request, cut_off: CutOff) -> dict:
    ranking = selectors.cut_off_ranking(cut_off=cut_off)
    page = Paginator(ranking.rows, RANKING_PAGE_SIZE).get_page(request.GET.get("page"))
    ids = [row.proposal.pk for row in page.object_list]
    reports = {
        r.proposal_id: r
        for r in SummaryReport.objects.filter(proposal_id__in=ids).only("proposal_id", "status", "rendered_at")
    }
    rows = [{"row": row, "report": reports.get(row.proposal.pk)} for row in page.object_list]
    last_above = max((r.rank for r in ranking.above_line), default=None)
    return {
        "cut_off": cut_off,
        "ranking": ranking,
        "page": page,
        "rows": rows,
        "last_above": last_above,
        "decided": {s.value for s in (Proposal.Status.SELECTED, Proposal.Status.RESERVE, Proposal.Status.REJECTED)},
        "can_manage": request.user.has_perm("calls.manage_evaluation"),
        "outcome_choices": DecisionForm.base_fields["outcome"].choices,
    }


@login_required
@require_GET
def ranking_page(request, pk: int):
    cut_off = _cut_off(request, pk)
    return render(request, "evaluation/ranking.html", _ranking_context(request, cut_off))


def _ranking_action(request, cut_off: CutOff, action, success: str):
    """A button of the ranking page: the one service, else the ranking again with its refusal."""
    _require(request, "calls.manage_evaluation")
    return form_post(
        request,
        template="evaluation/ranking.html",
        context=lambda: _ranking_context(request, cut_off),
        save=lambda _: action(),
        success=success,
        redirect_to=reverse("evaluation-ranking", args=[cut_off.pk]),
    )


@login_required
@require_POST
def decisions_confirm(request, pk: int):
    cut_off = _cut_off(request, pk)
    return _ranking_action(
        request,
        cut_off,
        lambda: services.decisions_confirm(cut_off=cut_off, actor=request.user),
        "Decisions recorded as proposed by the ranking and the funding line.",
    )


@login_required
@require_POST
def decisions_publish(request, pk: int):
    cut_off = _cut_off(request, pk)
    return _ranking_action(
        request,
        cut_off,
        lambda: services.decisions_publish(cut_off=cut_off, actor=request.user),
        "Decisions published: the applicants are told and the evaluation summary reports are being prepared.",
    )


def _officer_proposal(request, pk: int) -> Proposal:
    _require(request, "calls.view_evaluation")
    proposal = get_object_or_404(Proposal.objects.select_related("cut_off__call"), pk=pk)
    if proposal.cut_off_id is None:
        raise Http404
    return proposal


@login_required
@require_POST
def decision_record(request, pk: int):
    proposal = _officer_proposal(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose selected, reserve list or rejected.")
        return render(request, "evaluation/ranking.html", _ranking_context(request, proposal.cut_off), status=400)
    return _ranking_action(
        request,
        proposal.cut_off,
        lambda: services.decision_record(proposal=proposal, actor=request.user, **form.cleaned_data),
        f"Decision on {proposal} recorded: {dict(form.fields['outcome'].choices)[form.cleaned_data['outcome']]}.",
    )


@login_required
@require_POST
def reserve_promote(request, pk: int):
    proposal = _officer_proposal(request, pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    return _ranking_action(
        request,
        proposal.cut_off,
        lambda: services.reserve_promote(
            proposal=proposal, actor=request.user, reason=form.cleaned_data.get("reason", "")
        ),
        f"{proposal} promoted from the reserve list; the applicant is told.",
    )


@login_required
@require_POST
def summary_report_retry(request, pk: int):
    proposal = _officer_proposal(request, pk)
    return _ranking_action(
        request,
        proposal.cut_off,
        lambda: services.summary_report_retry(proposal=proposal, actor=request.user),
        f"The evaluation summary report of {proposal} is queued again.",
    )


# --- applicant ----------------------------------------------------------------------------------------------


def _visible_proposal(request, pk: int) -> Proposal:
    queryset = Proposal.objects.select_related("call", "cut_off", "organisation", "consensus").prefetch_related(
        "consensus__scores"
    )
    return proposal_for(user=request.user, pk=pk, queryset=queryset)


def _outcome_context(request, proposal: Proposal) -> dict:
    consensus = getattr(proposal, "consensus", None)
    if consensus is None:
        raise Http404
    scheme = scheme_from_data(consensus.scheme)
    by_code = {s.criterion: s for s in consensus.scores.all()}
    grant = selectors.proposal_grant(proposal=proposal)
    return {
        "proposal": proposal,
        "consensus": consensus,
        "scheme": scheme,
        "criteria": [(c, by_code.get(c.code)) for c in scheme.criteria],
        "failed": scheme.failed_thresholds({code: s.score for code, s in by_code.items()}),
        "decision": selectors.latest_decision(proposal=proposal),
        "report": SummaryReport.objects.filter(proposal=proposal).first(),
        "grant": grant,
        "can_view_grant": grant is not None and request.user.has_perm("grants.view_grant", grant),
        # The service refuses a withdrawal once a grant exists: the grant is terminated instead.
        "can_withdraw": proposal.status == Proposal.Status.SELECTED
        and grant is None
        and request.user.has_perm("calls.withdraw_selection", proposal),
        "withdraw_form": ReasonForm(),
        "technical": selectors.technical_result(proposal=proposal),
        "redress": outcome_redress(request, proposal),
    }


@login_required
@require_GET
def outcome_page(request, pk: int):
    proposal = _visible_proposal(request, pk)
    _require(request, "calls.view_outcome", proposal)
    return render(request, "evaluation/outcome.html", _outcome_context(request, proposal))


@login_required
@require_POST
def selection_withdraw(request, pk: int):
    proposal = _visible_proposal(request, pk)
    _require(request, "calls.withdraw_selection", proposal)
    form = ReasonForm(request.POST)
    form.is_valid()
    if request.user.has_perm("calls.manage_evaluation"):  # the officer withdraws it from the ranking
        back = reverse("evaluation-ranking", args=[proposal.cut_off_id])
        template, context = "evaluation/ranking.html", lambda: _ranking_context(request, proposal.cut_off)
    else:
        back = reverse("proposal-outcome", args=[proposal.pk])
        template, context = "evaluation/outcome.html", lambda: _outcome_context(request, proposal)
    return form_post(
        request,
        template=template,
        context=context,
        save=lambda _: services.selection_withdraw(
            proposal=proposal, reason=form.cleaned_data.get("reason", ""), actor=request.user
        ),
        success=f"The withdrawal of {proposal} from the selection is recorded.",
        redirect_to=back,
        list_errors=False,  # the refusal's message alone, as this page has always shown it
    )


@login_required
@require_GET
def summary_report_download(request, pk: int):
    proposal = _visible_proposal(request, pk)
    _require(request, "calls.download_summary_report", proposal)
    return refusable(
        request,
        lambda: summary_report_response(report=ready_summary_report(proposal=proposal)),
        template="evaluation/outcome.html",
        context=lambda: _outcome_context(request, proposal),
    )
