"""Pages of the evaluation's deadlines: the officer's overdue evaluation work and its reassignment."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from calls.evaluation import selectors, services
from calls.evaluation.actions import may_reassign
from calls.evaluation.forms import ReassignForm
from calls.models import Assignment
from eurohpc.formatting import local
from eurohpc.pages import form_post
from eurohpc.pages import require_perm as _require

PAGE_SIZE = 50


def _overdue_context(request, *, failed: int | None = None) -> dict:
    """The page of overdue work; `failed`: the assignment whose reassignment was refused, its form filled in."""
    now = timezone.now()
    page = Paginator(selectors.overdue_queryset(now=now), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.overdue_assignments(now=now, assignments=list(page.object_list))
    cut_offs = {row.assignment.proposal.cut_off_id: row.assignment.proposal.cut_off for row in rows}
    due = selectors.cut_off_consensus_due(cut_offs=[c for c in cut_offs.values() if c is not None])
    items = []
    for row in rows:
        a = row.assignment
        reassign = bool(row.candidates) and may_reassign(assignment=a, user=request.user, now=now)
        data = request.POST if failed == a.pk else None
        items.append(
            {
                "row": row,
                "consensus_due": due.get(a.proposal.cut_off_id),
                "form": ReassignForm(data, candidates=row.candidates) if reassign else None,
            }
        )
    # Overdue technical assessments are reassigned in the technical queue; listed here so that all late work is
    # seen in one place (one query).
    technical = [
        {"assessment": a, "days_late": selectors.days_late(a.deadline, now)}
        for a in selectors.overdue_assessments(now=now)
    ]
    return {"page": page, "items": items, "technical": technical, "now": now}


@login_required
@require_GET
def overdue_page(request):
    _require(request, "calls.view_evaluation")
    return render(request, "evaluation/overdue.html", _overdue_context(request))


@login_required
@require_POST
def assignment_reassign(request, pk: int):
    _require(request, "calls.reassign_assignment")
    assignment = get_object_or_404(Assignment.objects.select_related("evaluator", "proposal"), pk=pk)
    form = ReassignForm(request.POST)
    return form_post(
        request,
        form=form,
        template="evaluation/overdue.html",
        context=lambda: _overdue_context(request, failed=assignment.pk),
        save=lambda data: services.assignment_reassign(
            assignment=assignment, evaluator=data["evaluator"], reason=data["reason"], actor=request.user
        ),
        success=lambda new: (
            f"{assignment.evaluator.display_name}'s assignment to {assignment.proposal} is closed; "
            f"{new.evaluator.display_name} is assigned, due {local(new.deadline)}."
        ),
        redirect_to=reverse("evaluation-overdue"),
    )
