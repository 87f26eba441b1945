"""Deadlines of the evaluation: which assignments are overdue, the officer's list of them with the experts who
could take them over, and the consensus due date of a cut-off.

An assignment is overdue when it is open (not closed, its proposal still under evaluation) and its expert has
missed a step: the conflict-of-interest declaration is pending past `declaration_deadline`, or "no conflict" was
declared but no review was submitted by `deadline`. `OVERDUE_DECLARATION` / `OVERDUE_REVIEW` say it in SQL and
`overdue_step` in Python, side by side, so that the service, the pages and the API agree.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, F, Q, QuerySet, When
from django.db.models import DateTimeField as DateTimeOutput
from django.utils import timezone

from calls.evaluation.calendar import consensus_due
from calls.evaluation.selectors.assignments import conflict_reason, evaluator_loads, evaluators
from calls.evaluation.selectors.common import OPEN_WORK
from calls.models import Assignment, ConsortiumMember, CutOff, Review
from eurohpc.models import User

DECLARATION = "declaration"
REVIEW = "review"
STEP_LABELS = {DECLARATION: "Conflict-of-interest declaration", REVIEW: "Individual review"}

OPEN_ASSIGNMENT = Q(closed_at__isnull=True, proposal__status__in=OPEN_WORK)
_REVIEW_NOT_SUBMITTED = Q(review__isnull=True) | Q(review__status=Review.Status.DRAFT)


def overdue_declaration(now: datetime) -> Q:
    return OPEN_ASSIGNMENT & Q(declaration=Assignment.Declaration.PENDING, declaration_deadline__lt=now)


def overdue_review(now: datetime) -> Q:
    return OPEN_ASSIGNMENT & Q(declaration=Assignment.Declaration.NO_CONFLICT, deadline__lt=now) & _REVIEW_NOT_SUBMITTED


def overdue(now: datetime) -> Q:
    return overdue_declaration(now) | overdue_review(now)


def overdue_step(assignment: Assignment, now: datetime | None = None) -> str | None:
    """DECLARATION or REVIEW when that step of the (open) assignment is late at `now`, else None. Reads the
    assignment's proposal status and review (select_related them for a list)."""
    now = now or timezone.now()
    if assignment.closed_at is not None or assignment.proposal.status not in OPEN_WORK:
        return None
    if assignment.declaration == Assignment.Declaration.PENDING:
        return DECLARATION if assignment.declaration_deadline < now else None
    if assignment.declaration == Assignment.Declaration.NO_CONFLICT:
        review = getattr(assignment, "review", None)
        submitted = review is not None and review.status == Review.Status.SUBMITTED
        return REVIEW if not submitted and assignment.deadline < now else None
    return None


def is_overdue(assignment: Assignment, now: datetime | None = None) -> bool:
    return overdue_step(assignment, now) is not None


def missed_deadline(assignment: Assignment) -> datetime:
    """The deadline of the step the expert is at: the declaration's while it is pending, else the review's."""
    if assignment.declaration == Assignment.Declaration.PENDING:
        return assignment.declaration_deadline
    return assignment.deadline


@dataclass
class OverdueRow:
    assignment: Assignment
    step: str  # DECLARATION or REVIEW
    due: datetime
    days_late: int  # started days: a review due yesterday evening is one day late
    candidates: list[User] = field(default_factory=list)  # evaluators without a conflict, least loaded first

    @property
    def step_label(self) -> str:
        return STEP_LABELS[self.step]


def overdue_queryset(*, now: datetime | None = None) -> QuerySet[Assignment]:
    """Overdue assignments, most overdue first (by the missed deadline), with what the lists show."""
    now = now or timezone.now()
    missed = Case(
        When(declaration=Assignment.Declaration.PENDING, then=F("declaration_deadline")),
        default=F("deadline"),
        output_field=DateTimeOutput(),
    )
    return (
        Assignment.objects.filter(overdue(now))
        .select_related(
            "proposal__call", "proposal__cut_off", "proposal__organisation", "proposal__access", "evaluator", "review"
        )
        .annotate(missed=missed)
        .order_by("missed", "id")
    )


def overdue_assignments(
    *, now: datetime | None = None, cut_off: CutOff | None = None, assignments: list[Assignment] | None = None
) -> list[OverdueRow]:
    """The officer's overdue evaluation work across cut-offs (or of one), most overdue first, each with the
    evaluators who could take it over: active evaluators not yet assigned to the proposal and without a detected
    conflict of interest, least loaded first.

    Pass `assignments` (a page of `overdue_queryset`) to compute the candidates of that page only. Five queries
    whatever the number of rows: the overdue assignments, the consortium members of their proposals, the experts
    already assigned to them, the evaluators and their open loads.
    """
    now = now or timezone.now()
    if assignments is None:
        queryset = overdue_queryset(now=now)
        if cut_off is not None:
            queryset = queryset.filter(proposal__cut_off_id=cut_off.pk)
        assignments = list(queryset)
    if not assignments:
        return []
    proposal_ids = {a.proposal_id for a in assignments}
    members: dict[int, set[int]] = defaultdict(set)
    for proposal_id, org_id in ConsortiumMember.objects.filter(proposal_id__in=proposal_ids).values_list(
        "proposal_id", "organisation_id"
    ):
        members[proposal_id].add(org_id)
    taken: dict[int, set[int]] = defaultdict(set)
    for proposal_id, evaluator_id in Assignment.objects.filter(proposal_id__in=proposal_ids).values_list(
        "proposal_id", "evaluator_id"
    ):
        taken[proposal_id].add(evaluator_id)
    people = list(evaluators())
    loads = evaluator_loads()
    for person in people:
        person.load = loads.get(person.pk, 0)
    people.sort(key=lambda p: (p.load, p.username))
    rows = []
    for a in assignments:
        step = overdue_step(a, now)
        if step is None:
            continue
        proposal = a.proposal
        due = missed_deadline(a)
        candidates = [
            p
            for p in people
            if p.pk not in taken[proposal.pk]
            and not conflict_reason(evaluator=p, proposal=proposal, member_org_ids=members[proposal.pk])
        ]
        days_late = max(1, math.ceil((now - due).total_seconds() / 86400))
        rows.append(OverdueRow(assignment=a, step=step, due=due, days_late=days_late, candidates=candidates))
    return rows


def overdue_count(*, now: datetime | None = None) -> int:
    return Assignment.objects.filter(overdue(now or timezone.now())).count()


def cut_off_consensus_due(*, cut_offs) -> dict[int, datetime]:
    """The consensus due date of each cut-off (its call's calendar), by cut-off id; no query when the cut-offs
    carry their call."""
    return {c.pk: consensus_due(call=c.call, cut_off=c) for c in cut_offs}


def overdue_ids(*, assignment_ids, now: datetime | None = None) -> set[int]:
    """Which of these assignments are overdue now (one query)."""
    now = now or timezone.now()
    return set(Assignment.objects.filter(overdue(now), pk__in=list(assignment_ids)).values_list("pk", flat=True))


__all__ = [
    "DECLARATION",
    "OPEN_ASSIGNMENT",
    "REVIEW",
    "STEP_LABELS",
    "OverdueRow",
    "cut_off_consensus_due",
    "is_overdue",
    "missed_deadline",
    "overdue",
    "overdue_assignments",
    "overdue_count",
    "overdue_declaration",
    "overdue_ids",
    "overdue_queryset",
    "overdue_review",
    "overdue_step",
]
