"""Pages of the technical assessment of hosting proposals: the programme office's queue with its assignments,
a technical expert's list and assessment page (declaration first, then the structured form). Parse, call one
service or selector, render; refusals keep their 4xx status through `form_post`."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from calls.evaluation import selectors, services
from calls.evaluation.actions import may_reassign_technical, technical_actions
from calls.evaluation.feasibility import FAIL, PASS, item_groups
from calls.evaluation.forms import ConflictDeclarationForm
from calls.evaluation.selectors.technical import (
    QUEUE_SCOPES,
    TECHNICAL_OPEN,
    assessment_list,
    assessment_overdue,
    expert_summary,
    with_overdue,
)
from calls.models import FeasibilityAssessment, Proposal
from eurohpc import limits
from eurohpc.formatting import local
from eurohpc.pages import errors_onto, form_post
from eurohpc.pages import require_perm as _require

PAGE_SIZE = 50


# --- the programme office's queue -------------------------------------------------------------------------


class TechnicalAssignForm(forms.Form):
    expert = forms.ModelChoiceField(queryset=selectors.technical_experts(), label="Technical expert")


class TechnicalReassignForm(forms.Form):
    """The replacement of an overdue technical assessment: `candidates` are the experts the queue offers (no
    conflict, not assigned to the proposal yet); the service checks again."""

    expert = forms.ModelChoiceField(queryset=selectors.technical_experts(), label="Replacement expert")
    reason = forms.CharField(
        required=False, max_length=limits.REASON, label="Note to the late expert (optional)", widget=forms.TextInput()
    )

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["expert"]
        if candidates is not None:
            field.choices = [("", "---------")] + [(u.pk, u.display_name) for u in candidates]


def _queue_context(request, form=None, form_for: int | None = None, failed: int | None = None) -> dict:
    """The queue page; `form_for`: the proposal whose assignment was refused; `failed`: the assessment whose
    reassignment was refused, its form filled in."""
    scope = request.GET.get("scope") if request.GET.get("scope") in QUEUE_SCOPES else "open"
    now = timezone.now()
    page = Paginator(selectors.technical_queue(scope=scope, now=now), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.technical_queue_rows(proposals=list(page.object_list), now=now)
    for row in rows:
        row.reassign_form = None
        if row.overdue and row.candidates and may_reassign_technical(assessment=row.assessment, user=request.user):
            data = request.POST if failed == row.assessment.pk else None
            row.reassign_form = TechnicalReassignForm(
                data, candidates=row.candidates, auto_id=f"id_%s_{row.assessment.pk}"
            )
    return {
        "page": page,
        "rows": rows,
        "scope": scope,
        "scopes": [(key, label) for key, (label, _) in QUEUE_SCOPES.items()],
        "can_manage": request.user.has_perm("calls.manage_evaluation"),
        "now": now,
        "form": form,
        "form_for": form_for,
        "query": f"scope={scope}",
    }


@login_required
@require_GET
def technical_queue(request):
    _require(request, "calls.view_evaluation")
    return render(request, "evaluation/technical_queue.html", _queue_context(request))


@login_required
@require_POST
def technical_assign(request, pk: int):
    _require(request, "calls.manage_evaluation")
    proposal = get_object_or_404(Proposal.objects.select_related("call", "cut_off", "organisation"), pk=pk)
    form = TechnicalAssignForm(request.POST)
    return form_post(
        request,
        form=form,
        template="evaluation/technical_queue.html",
        context=lambda: _queue_context(request, form, proposal.pk),
        save=lambda data: services.feasibility_assign(proposal=proposal, expert=data["expert"], actor=request.user),
        success=lambda a: f"{a.expert.display_name} assigned to the technical assessment of {proposal}.",
        redirect_to=reverse("evaluation-technical-queue"),
        invalid_message="Choose a technical expert.",
    )


@login_required
@require_POST
def technical_reassign(request, pk: int):
    _require(request, "calls.reassign_assignment")
    assessment = get_object_or_404(FeasibilityAssessment.objects.select_related("expert", "proposal"), pk=pk)
    form = TechnicalReassignForm(request.POST)
    return form_post(
        request,
        form=form,
        template="evaluation/technical_queue.html",
        context=lambda: _queue_context(request, failed=assessment.pk),
        save=lambda data: services.feasibility_reassign(
            assessment=assessment, expert=data["expert"], reason=data["reason"], actor=request.user
        ),
        success=lambda new: (
            f"{assessment.expert.display_name}'s technical assessment of {assessment.proposal} is closed; "
            f"{new.expert.display_name} is assigned, due {local(new.deadline)}."
        ),
        redirect_to=reverse("evaluation-technical-queue"),
    )


# --- the technical expert ---------------------------------------------------------------------------------


@login_required
@require_GET
def expert_assessments(request):
    _require(request, "calls.assess_technical")
    page = Paginator(selectors.expert_assessments(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_overdue(page.object_list)
    return render(request, "evaluation/technical_list.html", {"page": page})


def _own(request, pk: int) -> FeasibilityAssessment:
    _require(request, "calls.assess_technical")
    return get_object_or_404(selectors.expert_assessments(user=request.user), pk=pk)


def _form_values(data) -> tuple[dict, dict, str]:
    """The posted verdicts (`item-<code>`), comments (`comment-<code>`) and summary, as the service takes them."""
    items, comments = {}, {}
    for _, specs in item_groups():
        for spec in specs:
            verdict = data.get(f"item-{spec.code}", "")
            if verdict:
                items[spec.code] = verdict
            comment = data.get(f"comment-{spec.code}", "")
            if comment.strip():
                comments[spec.code] = comment
    return items, comments, data.get("summary", "")


def _assessment_context(request, assessment: FeasibilityAssessment, form=None, posted=None, errors=None) -> dict:
    draft = assessment.draft or {}
    items, comments, summary = posted or (draft.get("items", {}), draft.get("comments", {}), assessment.summary)
    errors = errors or {}
    recorded = {i.item: i for i in assessment.items.all()}
    groups = [
        (
            group,
            [
                {
                    "spec": spec,
                    "verdict": items.get(spec.code, ""),
                    "comment": comments.get(spec.code, ""),
                    "recorded": recorded.get(spec.code),
                    "errors": [*errors.get(f"items.{spec.code}", []), *errors.get(f"comments.{spec.code}", [])],
                }
                for spec in specs
            ],
        )
        for group, specs in item_groups()
    ]
    return {
        "assessment": assessment,
        "proposal": assessment.proposal,
        "actions": technical_actions(assessment=assessment, user=request.user),
        "declaration_form": form or ConflictDeclarationForm(),
        "groups": groups,
        "summary": summary,
        "summary_errors": errors.get("summary", []),
        "verdicts": [(PASS, "Pass"), (FAIL, "Fail")],
        "comment_limit": limits.REVIEW_COMMENT,
        "overdue": assessment_overdue(assessment),
    }


@login_required
@require_GET
def assessment_page(request, pk: int):
    assessment = _own(request, pk)
    return render(request, "evaluation/technical_assessment.html", _assessment_context(request, assessment))


def _assessment_url(assessment: FeasibilityAssessment) -> str:
    return reverse("evaluation-technical-assessment", args=[assessment.pk])


@login_required
@require_POST
def assessment_declare(request, pk: int):
    assessment = _own(request, pk)
    form = ConflictDeclarationForm(request.POST)

    def save(data) -> bool:
        conflict = data["declaration"] == "conflict"
        services.feasibility_declare(
            assessment=assessment, conflict=conflict, reason=data["reason"], actor=request.user
        )
        return conflict

    return form_post(
        request,
        form=form,
        template="evaluation/technical_assessment.html",
        context=lambda: _assessment_context(request, assessment, form),
        save=save,
        success=lambda conflict: (
            f"Conflict of interest recorded: you are recused from the technical assessment of {assessment.proposal}."
            if conflict
            else f"Declaration recorded: proposal {assessment.proposal} is open to you."
        ),
        redirect_to=_assessment_url(assessment),
        on_refusal=errors_onto(form),
    )


@login_required
@require_POST
def assessment_save(request, pk: int):
    assessment = _own(request, pk)
    items, comments, summary = _form_values(request.POST)
    submit = request.POST.get("action") == "submit"
    refusal: dict = {}

    def on_refusal(exc):
        refusal["errors"] = exc.errors

    return form_post(
        request,
        template="evaluation/technical_assessment.html",
        context=lambda: _assessment_context(
            request,
            get_object_or_404(assessment_list(), pk=assessment.pk),
            posted=(items, comments, summary),
            errors=refusal.get("errors"),
        ),
        save=lambda _: services.feasibility_save(
            assessment=assessment, items=items, comments=comments, summary=summary, actor=request.user, submit=submit
        ),
        success="Technical assessment submitted: it is now locked." if submit else "Draft saved.",
        redirect_to=_assessment_url(assessment),
        on_refusal=on_refusal,
        list_errors=False,
    )


def technical_expert_dashboard_context(request) -> dict:
    """The technical expert's panel of the dashboard: counts and the next assessments, over the proposals open to
    technical work (`TECHNICAL_OPEN`, the reserve list included) like `expert_summary`."""
    upcoming = with_overdue(
        selectors.expert_assessments(user=request.user).filter(
            proposal__status__in=TECHNICAL_OPEN, closed_at__isnull=True
        )[:5]
    )
    return {"technical": {**expert_summary(user=request.user), "upcoming": upcoming}}
