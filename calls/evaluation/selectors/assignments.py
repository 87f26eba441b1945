"""Conflicts of interest, the evaluators and their loads, the assignment board and the evaluators' work lists."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from calls.evaluation.scheme import Scheme, scheme_of
from calls.evaluation.selectors.common import DECIDED, IN_EVALUATION, OPEN_WORK
from calls.models import Assignment, Call, ConsortiumMember, CutOff, Proposal, Review
from eurohpc.models import Role, User


def conflict_reason(*, evaluator: User, proposal: Proposal, member_org_ids: set[int] | None = None) -> str | None:
    """Why `evaluator` cannot evaluate `proposal` (their organisation applies or is a consortium member)."""
    org_id = evaluator.organisation_id
    if org_id is None:
        return None
    if org_id == proposal.organisation_id:
        return f"{evaluator.display_name} works for {proposal.organisation.short_name}, the applicant of {proposal}."
    if member_org_ids is None:
        member_org_ids = set(proposal.consortium_members.values_list("organisation_id", flat=True))
    if org_id in member_org_ids:
        return (
            f"{evaluator.display_name} works for {evaluator.organisation.short_name}, a consortium member "
            f"of {proposal}."
        )
    return None


def evaluators() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True, role_grants__role=Role.EVALUATOR)
        .select_related("organisation")
        .order_by("username")
    )


def evaluator_loads(*, evaluator_ids: list[int] | None = None) -> dict[int, int]:
    """Open assignments per evaluator (of `evaluator_ids` when given): not recused, not closed, on proposals still
    being evaluated."""
    assignments = Assignment.objects.filter(proposal__status__in=OPEN_WORK, closed_at__isnull=True).exclude(
        declaration=Assignment.Declaration.CONFLICT
    )
    if evaluator_ids is not None:
        assignments = assignments.filter(evaluator_id__in=evaluator_ids)
    rows = assignments.order_by().values("evaluator_id").annotate(n=Count("pk"))
    return {row["evaluator_id"]: row["n"] for row in rows}


def cut_offs_in_evaluation() -> QuerySet[CutOff]:
    """Cut-offs with proposals in evaluation, with their progress counts, newest first. An access call's cut-offs
    are ranked and decided by the access committee (calls.access.selectors.cut_off_ranking), not here."""
    in_eval = Q(proposals__status__in=IN_EVALUATION)
    return (
        CutOff.objects.exclude(call__prong=Call.Prong.ACCESS)
        .select_related("call", "publication")
        .annotate(
            n_proposals=Count("proposals", filter=in_eval, distinct=True),
            n_waiting=Count("proposals", filter=Q(proposals__status__in=OPEN_WORK), distinct=True),
            n_consensus=Count("proposals", filter=in_eval & Q(proposals__consensus__isnull=False), distinct=True),
            n_decided=Count("proposals", filter=Q(proposals__status__in=DECIDED), distinct=True),
        )
        .filter(n_proposals__gt=0)
        .order_by("-closes_at")
    )


@dataclass
class BoardRow:
    proposal: Proposal
    assignments: dict[int, Assignment]  # by evaluator id
    conflicts: dict[int, str]  # detected conflicts (organisation of the evaluator), by evaluator id
    conflicted: list[tuple[User, str]]  # the same conflicts as (evaluator, reason), by username
    active: int  # assignments neither recused nor closed
    needs_replacement: int  # recused assignments not replaced yet
    missing: int  # evaluators still to assign to reach the minimum
    assignable: bool  # still open to new assignments


@dataclass
class Board:
    cut_off: CutOff
    scheme: Scheme
    evaluators: list[User]  # the columns: evaluators assigned to a proposal of the page, with their `load`
    loads: dict[int, int]
    rows: list[BoardRow]


BOARD_PROPOSAL_FIELDS = ("id", "reference", "acronym", "status", "organisation_id", "organisation__short_name")
BOARD_EVALUATOR_FIELDS = (
    "id", "username", "first_name", "last_name", "organisation_id", "organisation__short_name",
)  # fmt: skip
BOARD_ASSIGNMENT_FIELDS = (
    "id", "proposal_id", "evaluator_id", "declaration", "declaration_reason", "assigned_at", "deadline",
    "review__id", "review__status", "replacement__id", "declaration_deadline", "closed_at", "close_reason",
)  # fmt: skip


def board_proposals(*, cut_off: CutOff) -> QuerySet[Proposal]:
    """The cut-off's proposals in evaluation, those with overdue work first (`has_overdue`), then by reference."""
    from calls.evaluation.selectors.deadlines import overdue

    late = Assignment.objects.filter(overdue(timezone.now()), proposal_id=OuterRef("pk"))
    return (
        Proposal.objects.filter(cut_off_id=cut_off.pk, status__in=IN_EVALUATION)
        .select_related("organisation")
        .annotate(has_overdue=Exists(late))
        .order_by("-has_overdue", "reference")
    )


def assignment_board(*, cut_off: CutOff, proposals: list[Proposal]) -> Board:
    """A page of `proposals` (of `board_proposals`; `BOARD_PROPOSAL_FIELDS` are enough) by the evaluators
    assigned to them, with each assignment's state and the conflicts detected for the page's proposals only.

    Four queries whatever the page holds: the consortium members, the page's assignments (with reviews and
    replacements), the evaluators concerned (assigned on the page, or working for an applicant or a consortium
    member of it) and the open loads of the assigned ones. Conflicts are looked up by organisation, so the work
    grows with the page and its conflicts, not with the number of evaluators.
    """
    scheme = scheme_of(cut_off.call)
    ids = [p.pk for p in proposals]
    members: dict[int, set[int]] = defaultdict(set)
    for proposal_id, org_id in ConsortiumMember.objects.filter(proposal_id__in=ids).values_list(
        "proposal_id", "organisation_id"
    ):
        members[proposal_id].add(org_id)
    by_proposal: dict[int, dict[int, Assignment]] = defaultdict(dict)
    page_assignments = (
        Assignment.objects.filter(proposal_id__in=ids)
        .select_related("review", "replacement")
        .only(*BOARD_ASSIGNMENT_FIELDS)
        .order_by()
    )
    for a in page_assignments:
        by_proposal[a.proposal_id][a.evaluator_id] = a
    assigned_ids = {evaluator_id for row in by_proposal.values() for evaluator_id in row}
    org_ids = {p.organisation_id for p in proposals}.union(*members.values())
    concerned = Q(pk__in=assigned_ids) | Q(organisation_id__in=org_ids)
    people = list(evaluators().filter(concerned).only(*BOARD_EVALUATOR_FIELDS))
    by_org: dict[int, list[User]] = defaultdict(list)
    for person in people:
        if person.organisation_id is not None:
            by_org[person.organisation_id].append(person)
    rows = []
    for proposal in proposals:
        assignments = by_proposal.get(proposal.pk, {})
        active = unreplaced = 0
        for a in assignments.values():
            if not a.is_recused and not a.is_closed:
                active += 1
            elif a.is_recused and not hasattr(a, "replacement"):
                # a recusal waits for its replacement; a closed assignment (reassigned, or superseded by a
                # re-evaluation) leaves nothing to replace
                unreplaced += 1
        conflicts: dict[int, str] = {}
        conflicted: list[tuple[User, str]] = []
        orgs = {proposal.organisation_id, *members[proposal.pk]}
        for person in sorted((p for org in orgs for p in by_org.get(org, ())), key=lambda u: u.username):
            reason = conflict_reason(evaluator=person, proposal=proposal, member_org_ids=members[proposal.pk])
            if reason:
                conflicts[person.pk] = reason
                conflicted.append((person, reason))
        rows.append(
            BoardRow(
                proposal=proposal,
                assignments=assignments,
                conflicts=conflicts,
                conflicted=conflicted,
                active=active,
                needs_replacement=unreplaced,
                missing=max(scheme.min_evaluators - active, 0),
                assignable=proposal.status in OPEN_WORK,
            )
        )
    columns = [p for p in people if p.pk in assigned_ids]
    loads = evaluator_loads(evaluator_ids=[p.pk for p in columns]) if columns else {}
    for person in columns:
        person.load = loads.get(person.pk, 0)
    return Board(cut_off=cut_off, scheme=scheme, evaluators=columns, loads=loads, rows=rows)


def assignment_list() -> QuerySet[Assignment]:
    """Assignments with what their lists show, in a constant number of queries."""
    return Assignment.objects.select_related(
        "proposal__call", "proposal__organisation", "proposal__cut_off", "evaluator", "review"
    ).prefetch_related(
        Prefetch(
            "proposal__consortium_members",
            queryset=ConsortiumMember.objects.select_related("organisation").order_by("id"),
        )
    )


# An assignment's state, as conditions on it: the evaluator's filter and counts and the officer's to-do list
# all read these.
# A closed assignment (reassigned, or superseded by a re-evaluation) is no one's work any more.
NOT_CLOSED = Q(closed_at__isnull=True)
TO_DECLARE = Q(declaration=Assignment.Declaration.PENDING) & NOT_CLOSED
TO_SCORE = (
    Q(declaration=Assignment.Declaration.NO_CONFLICT)
    & NOT_CLOSED
    & (Q(review__isnull=True) | Q(review__status=Review.Status.DRAFT))
)
REVIEW_SUBMITTED = Q(review__status=Review.Status.SUBMITTED)
IN_OPEN_WORK = Q(proposal__status__in=OPEN_WORK)

# The states an evaluator filters their assignments by (My evaluations).
ASSIGNMENT_STATES = {
    "open": ("Open work", IN_OPEN_WORK & NOT_CLOSED),
    "to_declare": ("To declare", IN_OPEN_WORK & TO_DECLARE),
    "to_score": ("To score", IN_OPEN_WORK & TO_SCORE),
    "submitted": ("Review submitted", REVIEW_SUBMITTED),
    "recused": ("Recused (conflict declared)", Q(declaration=Assignment.Declaration.CONFLICT)),
    "finished": ("Evaluation finished", ~IN_OPEN_WORK),
    "closed": ("Closed (reassigned or re-evaluated)", ~NOT_CLOSED),
}


def evaluator_assignments(*, user: User, call_id: int | None = None, state: str | None = None) -> QuerySet[Assignment]:
    """An evaluator's own assignments: open work first (by deadline), then the finished ones, the closed ones
    last; optionally of one call and in one of ASSIGNMENT_STATES."""
    assignments = assignment_list().filter(evaluator=user)
    if call_id is not None:
        assignments = assignments.filter(proposal__call_id=call_id)
    if state in ASSIGNMENT_STATES:
        assignments = assignments.filter(ASSIGNMENT_STATES[state][1])
    return assignments.order_by(F("closed_at").asc(nulls_first=True), "proposal__status", "deadline", "id")


def evaluator_calls(*, user: User) -> list[tuple[int, str]]:
    """The calls of an evaluator's assignments, for the filter (one query)."""
    return list(
        Call.objects.filter(proposals__assignments__evaluator=user)
        .distinct()
        .order_by("identifier")
        .values_list("pk", "identifier")
    )


def evaluator_summary(*, user: User) -> dict:
    """Counts for the evaluator's dashboard panel, in one query."""
    mine = Assignment.objects.filter(IN_OPEN_WORK, NOT_CLOSED, evaluator=user)
    return mine.aggregate(
        to_declare=Count("pk", filter=TO_DECLARE),
        to_score=Count("pk", filter=TO_SCORE),
        submitted=Count("pk", filter=REVIEW_SUBMITTED),
    )
