"""The technical assessment of hosting proposals: its state for the ranking and the selection gate, the
programme office's queue, a technical expert's own list, and the result an ESR and the consensus page show."""

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from calls.evaluation.feasibility import feasibility_items, item_names
from calls.evaluation.selectors.assignments import conflict_reason
from calls.evaluation.selectors.common import IN_EVALUATION, OPEN_WORK
from calls.models import (
    TECHNICAL_TYPES,
    Assignment,
    Call,
    ConsortiumMember,
    Decision,
    FeasibilityAssessment,
    FeasibilityItem,
    Proposal,
)
from eurohpc.models import Role, User

# The assessment that counts for a proposal: the one whose expert did not recuse and that was not reassigned after
# its deadline (a DB constraint keeps it single).
IN_FORCE = ~Q(declaration=Assignment.Declaration.CONFLICT) & Q(closed_at__isnull=True)

# What the summary of a missing assessment names (the groups of calls/evaluation/data/feasibility_items.json).
MISSING_SCOPE = "site readiness, procurement, TCO, energy efficiency, access policy"

# Proposals an expert may still be assigned to and work on: under evaluation, or on the reserve list (a reserve
# proposal is promoted only with a passed assessment).
TECHNICAL_OPEN = (*OPEN_WORK, Proposal.Status.RESERVE)


class Technical:
    """A proposal's technical state, as the ranking and the queue show it."""

    NOT_NEEDED = "not_needed"
    MISSING = "missing"
    PASSED = "passed"
    FAILED = "failed"

    LABELS = {
        NOT_NEEDED: "Not needed",
        MISSING: "Not submitted",
        PASSED: "Passed",
        FAILED: "Failed",
    }


def needs_technical(proposal_type: str) -> bool:
    return proposal_type in TECHNICAL_TYPES


# --- deadlines --------------------------------------------------------------------------------------------
#
# An assessment is overdue when it is open (not closed, its expert not recused, not submitted, its proposal still
# open to technical work) and its deadline has passed: declaration pending or "no conflict" alike, the whole
# assessment is due by then. `technical_overdue` says it in SQL and `assessment_overdue` in Python, side by side,
# so that the reminders, the reassignment, the pages and the API agree. An overdue assessment is still accepted
# until the programme office reassigns it.

OPEN_ASSESSMENT = Q(
    closed_at__isnull=True, status=FeasibilityAssessment.Status.DRAFT, proposal__status__in=TECHNICAL_OPEN
) & ~Q(declaration=Assignment.Declaration.CONFLICT)


def technical_overdue(now: datetime) -> Q:
    return OPEN_ASSESSMENT & Q(deadline__lt=now)


def assessment_open(assessment: FeasibilityAssessment) -> bool:
    """The Python side of OPEN_ASSESSMENT (reads the assessment's proposal status)."""
    return (
        assessment.closed_at is None
        and assessment.status == FeasibilityAssessment.Status.DRAFT
        and assessment.declaration != Assignment.Declaration.CONFLICT
        and assessment.proposal.status in TECHNICAL_OPEN
    )


def assessment_overdue(assessment: FeasibilityAssessment, now: datetime | None = None) -> bool:
    """The Python side of `technical_overdue`."""
    return assessment_open(assessment) and assessment.deadline < (now or timezone.now())


def with_overdue(assessments, now: datetime | None = None) -> list[FeasibilityAssessment]:
    """`assessments` as a list, each with `overdue` set by `assessment_overdue`: what the expert's list, assessment
    page and dashboard show (no query when the proposals are selected with them)."""
    now = now or timezone.now()
    assessments = list(assessments)
    for a in assessments:
        a.overdue = assessment_overdue(a, now)
    return assessments


def days_late(due: datetime, now: datetime) -> int:
    """Started days: an assessment due yesterday evening is one day late."""
    return max(1, math.ceil((now - due).total_seconds() / 86400))


def overdue_assessments(*, now: datetime | None = None) -> QuerySet[FeasibilityAssessment]:
    """Overdue technical assessments, the most overdue first, with what the lists show (one query)."""
    return (
        FeasibilityAssessment.objects.filter(technical_overdue(now or timezone.now()))
        .select_related("proposal__call", "proposal__cut_off", "proposal__organisation", "expert")
        .order_by("deadline", "id")
    )


def technical_overdue_count(*, now: datetime | None = None) -> int:
    return FeasibilityAssessment.objects.filter(technical_overdue(now or timezone.now())).count()


def technical_state(*, proposal_type: str, status: str | None, passed: bool | None) -> str:
    """The state from the proposal's type and its assessment in force (`status`/`passed`, None when none)."""
    if not needs_technical(proposal_type):
        return Technical.NOT_NEEDED
    if status != FeasibilityAssessment.Status.SUBMITTED:
        return Technical.MISSING
    return Technical.PASSED if passed else Technical.FAILED


def technical_annotations(ref: str = "pk") -> dict:
    """`technical_status` and `technical_passed` of the assessment in force, as subqueries on a proposal
    queryset (no extra query)."""
    in_force = FeasibilityAssessment.objects.filter(IN_FORCE, proposal_id=OuterRef(ref)).order_by("-id")
    return {
        "technical_status": Subquery(in_force.values("status")[:1]),
        "technical_passed": Subquery(in_force.values("passed")[:1]),
    }


@dataclass(frozen=True)
class TechnicalRefusal:
    code: str
    message: str


# The outcomes a technical assessment stands in the way of: a selection needs a passed assessment; the reserve list
# only excludes a failed one (a reserve proposal is promoted only once assessed and passed). Rejection is always open.
OUTCOME_WORDS = {Decision.Outcome.SELECTED: "selected", Decision.Outcome.RESERVE: "put on the reserve list"}


def technical_refusal(proposal: Proposal, outcome: str = Decision.Outcome.SELECTED) -> TechnicalRefusal | None:
    """Why `proposal` cannot have `outcome` (selected, the default, or reserve) for its technical assessment; None
    when it can (or needs none). A missing assessment refuses only a selection; a failed one refuses both: a failed
    proposal can only be rejected. The one rule behind decision_record, reserve_promote, decisions_confirm and the
    pages' buttons (`RankedProposal.technical_ok` for selected; `technical != "failed"` for reserve)."""
    if outcome not in OUTCOME_WORDS or not needs_technical(proposal.type):
        return None
    assessment = (
        FeasibilityAssessment.objects.filter(IN_FORCE, proposal_id=proposal.pk, status="submitted")
        .prefetch_related(Prefetch("items", queryset=FeasibilityItem.objects.filter(passed=False).order_by("id")))
        .first()
    )
    if assessment is None:
        if outcome == Decision.Outcome.RESERVE:
            return None
        return TechnicalRefusal("technical_assessment_missing", missing_message(proposal))
    if not assessment.passed:
        names = item_names()
        failed = ", ".join(names.get(i.item, i.item) for i in assessment.items.all())
        return TechnicalRefusal(
            "technical_assessment_failed",
            f"Proposal {proposal} cannot be {OUTCOME_WORDS[outcome]}: its technical assessment failed on {failed}; "
            f"a proposal whose technical assessment failed can only be rejected.",
        )
    return None


def missing_message(proposal: Proposal) -> str:
    return f"Proposal {proposal} cannot be selected: its technical assessment ({MISSING_SCOPE}) is not submitted yet."


# --- experts ----------------------------------------------------------------------------------------------


def technical_experts() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True, role_grants__role=Role.TECHNICAL_EXPERT)
        .select_related("organisation")
        .order_by("username")
    )


# --- the programme office's queue -------------------------------------------------------------------------

QUEUE_SCOPES = {
    "open": ("Open (to assign, assess or promote)", Q(status__in=TECHNICAL_OPEN)),
    "all": ("All hosting proposals in evaluation", Q()),
}


def technical_queue(
    *, scope: str = "open", call_id: int | None = None, now: datetime | None = None
) -> QuerySet[Proposal]:
    """Hosting proposals (new systems, upgrades) of cut-offs in evaluation: those with an overdue assessment first
    (`technical_overdue` annotated), then the oldest cut-off first."""
    late = FeasibilityAssessment.objects.filter(technical_overdue(now or timezone.now()), proposal_id=OuterRef("pk"))
    proposals = (
        Proposal.objects.filter(type__in=TECHNICAL_TYPES, status__in=IN_EVALUATION, cut_off__isnull=False)
        .exclude(call__prong=Call.Prong.ACCESS)
        .filter(QUEUE_SCOPES.get(scope, QUEUE_SCOPES["open"])[1])
        .select_related("call", "cut_off", "organisation")
        .annotate(technical_overdue=Exists(late))
    )
    if call_id is not None:
        proposals = proposals.filter(call_id=call_id)
    return proposals.order_by("-technical_overdue", "cut_off__closes_at", "reference", "pk")


@dataclass
class QueueRow:
    proposal: Proposal
    assessment: FeasibilityAssessment | None  # in force
    recused: list[FeasibilityAssessment]
    state: str
    candidates: list[User] = field(default_factory=list)  # experts the office may assign now (or reassign to)
    conflicted: list[tuple[User, str]] = field(default_factory=list)
    closed: list[FeasibilityAssessment] = field(default_factory=list)  # reassigned after their deadline
    overdue: bool = False  # the assessment in force is past its deadline (`assessment_overdue`)
    days_late: int = 0

    @property
    def state_label(self) -> str:
        return Technical.LABELS[self.state]

    @property
    def assignable(self) -> bool:
        return self.assessment is None and self.proposal.status in TECHNICAL_OPEN


def technical_queue_rows(*, proposals: list[Proposal], now: datetime | None = None) -> list[QueueRow]:
    """A page of `technical_queue` with each proposal's assessments and the experts the office may assign.

    Four queries whatever the page holds: the page's assessments (with experts), their submitted items, the
    consortium members and the technical experts (a small role)."""
    ids = [p.pk for p in proposals]
    by_proposal: dict[int, list[FeasibilityAssessment]] = {}
    for a in (
        FeasibilityAssessment.objects.filter(proposal_id__in=ids)
        .select_related("expert", "expert__organisation")
        .prefetch_related(Prefetch("items", queryset=FeasibilityItem.objects.order_by("id")))
        .order_by("assigned_at", "id")
    ):
        by_proposal.setdefault(a.proposal_id, []).append(a)
    members: dict[int, set[int]] = {}
    for proposal_id, org_id in ConsortiumMember.objects.filter(proposal_id__in=ids).values_list(
        "proposal_id", "organisation_id"
    ):
        members.setdefault(proposal_id, set()).add(org_id)
    experts = list(technical_experts()) if ids else []
    now = now or timezone.now()
    rows = []
    for proposal in proposals:
        assessments = by_proposal.get(proposal.pk, [])
        for a in assessments:
            a.proposal = proposal  # read by assessment_overdue, without a query per row
        in_force = next(
            (a for a in assessments if a.declaration != Assignment.Declaration.CONFLICT and a.closed_at is None), None
        )
        row = QueueRow(
            proposal=proposal,
            assessment=in_force,
            recused=[a for a in assessments if a.declaration == Assignment.Declaration.CONFLICT],
            closed=[a for a in assessments if a.closed_at is not None],
            state=technical_state(
                proposal_type=proposal.type,
                status=in_force.status if in_force else None,
                passed=in_force.passed if in_force else None,
            ),
            overdue=in_force is not None and assessment_overdue(in_force, now),
        )
        if row.overdue:
            row.days_late = days_late(in_force.deadline, now)
        if row.assignable or row.overdue:
            taken = {a.expert_id for a in assessments}
            for expert in experts:
                if expert.pk in taken:
                    continue
                reason = conflict_reason(
                    evaluator=expert, proposal=proposal, member_org_ids=members.get(proposal.pk, set())
                )
                if reason:
                    row.conflicted.append((expert, reason))
                else:
                    row.candidates.append(expert)
        rows.append(row)
    return rows


# --- a technical expert's own work ------------------------------------------------------------------------


def assessment_list() -> QuerySet[FeasibilityAssessment]:
    """Assessments with what their lists and pages show, in a constant number of queries."""
    return FeasibilityAssessment.objects.select_related(
        "proposal__call", "proposal__cut_off", "proposal__organisation", "expert", "assigned_by"
    ).prefetch_related(Prefetch("items", queryset=FeasibilityItem.objects.order_by("id")))


def expert_assessments(*, user: User) -> QuerySet[FeasibilityAssessment]:
    """A technical expert's own assessments: open work first (by deadline), then the others."""
    return assessment_list().filter(expert=user).order_by("status", "deadline", "id")


def expert_summary(*, user: User) -> dict:
    """Counts for the technical expert's dashboard panel."""
    mine = FeasibilityAssessment.objects.filter(expert=user, proposal__status__in=TECHNICAL_OPEN)
    return mine.aggregate(
        to_declare=Count("pk", filter=Q(declaration="pending", closed_at__isnull=True)),
        to_assess=Count("pk", filter=Q(declaration="no_conflict", status="draft", closed_at__isnull=True)),
        submitted=Count("pk", filter=Q(status="submitted")),
        overdue=Count("pk", filter=technical_overdue(timezone.now())),
    )


# --- the result, for the consensus page, the ESR and the outcome page -------------------------------------


@dataclass
class ItemResult:
    code: str
    group: str
    name: str
    passed: bool | None
    comment: str


@dataclass
class TechnicalResult:
    needed: bool
    assessment: FeasibilityAssessment | None
    state: str
    items: list[ItemResult]

    @property
    def state_label(self) -> str:
        return Technical.LABELS[self.state]


def technical_result(*, proposal: Proposal) -> TechnicalResult:
    """The technical result of `proposal`: its assessment in force and, once submitted, each item's verdict and
    comment in the order of the item list. Two queries at most (none for a proposal that needs none)."""
    if not needs_technical(proposal.type):
        return TechnicalResult(needed=False, assessment=None, state=Technical.NOT_NEEDED, items=[])
    assessment = (
        FeasibilityAssessment.objects.filter(IN_FORCE, proposal_id=proposal.pk)
        .select_related("expert")
        .prefetch_related("items")
        .first()
    )
    state = technical_state(
        proposal_type=proposal.type,
        status=assessment.status if assessment else None,
        passed=assessment.passed if assessment else None,
    )
    items = []
    if assessment is not None and assessment.status == FeasibilityAssessment.Status.SUBMITTED:
        recorded = {i.item: i for i in assessment.items.all()}
        for spec in feasibility_items():
            got = recorded.get(spec.code)
            items.append(
                ItemResult(
                    code=spec.code,
                    group=spec.group,
                    name=spec.name,
                    passed=got.passed if got else None,
                    comment=got.comment if got else "",
                )
            )
    return TechnicalResult(needed=True, assessment=assessment, state=state, items=items)
