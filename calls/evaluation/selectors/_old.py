"""Reads of the evaluation: money left in a call, rankings with the funding line, the assignment board,
the consensus spread, an evaluator's work list. Each one runs a bounded number of queries."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from calls.evaluation.scheme import SPREAD_FLAG, SUBMITTED_AT, Scheme, scheme_of, tidy
from calls.models import (
    Assignment,
    BudgetLine,
    Call,
    ConsortiumMember,
    CutOff,
    Decision,
    DecisionPublication,
    Proposal,
    Review,
    ReviewScore,
    SummaryReport,
)
from eurohpc.models import Role, User

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)

# Proposals of a cut-off that take part in the evaluation (eligible onwards).
IN_EVALUATION = (
    Proposal.Status.ELIGIBLE,
    Proposal.Status.EVALUATION,
    Proposal.Status.SELECTED,
    Proposal.Status.RESERVE,
    Proposal.Status.REJECTED,
)
DECIDED = (Proposal.Status.SELECTED, Proposal.Status.RESERVE, Proposal.Status.REJECTED)
OPEN_WORK = (Proposal.Status.ELIGIBLE, Proposal.Status.EVALUATION)


# --- money ------------------------------------------------------------------------------------------


def eu_contribution_expression():
    """The requested EU contribution of the outer proposal (the sum of its budget lines), for `annotate`."""
    lines = (
        BudgetLine.objects.filter(proposal=OuterRef("pk"))
        .order_by()
        .values("proposal")
        .annotate(total=Sum("eu_contribution"))
        .values("total")
    )
    return Coalesce(Subquery(lines, output_field=MONEY), Value(ZERO), output_field=MONEY)


def proposal_eu_contribution(*, proposal: Proposal) -> Decimal:
    """The EU contribution a proposal requests: what it costs the programme when it is selected."""
    total = BudgetLine.objects.filter(proposal_id=proposal.pk).aggregate(total=Sum("eu_contribution"))["total"]
    return total if total is not None else ZERO


def selected_eu_contribution(*, proposal: Proposal) -> Decimal | None:
    """The EU contribution a selected proposal was selected for (as recorded on the decision that selected it:
    its requested EU contribution at that time); None when the proposal is not selected."""
    if proposal.status != Proposal.Status.SELECTED:
        return None
    decision = (
        Decision.objects.filter(proposal_id=proposal.pk, outcome=Decision.Outcome.SELECTED)
        .order_by("-id")
        .values_list("eu_contribution", flat=True)
        .first()
    )
    return decision if decision is not None else proposal_eu_contribution(proposal=proposal)


def call_available_amount(call: Call) -> Decimal:
    """The amount still available to fund proposals of `call` (see `call_funding_position`)."""
    return call_funding_position(call)[0]


def call_funding_position(call: Call) -> tuple[Decimal, bool]:
    """(available, budgeted): what is still available to fund proposals of `call` (the funding line, selections
    and promotions ask it), and whether the call has any figure to fund from.

    The least of what the call's limits leave: its indicative budget less the EU contributions already selected,
    and — when an envelope funds the call — what the envelope (and every envelope above it) can still take, less
    the selected proposals not yet committed there. A call with neither figure has nothing available.
    One query for the call's money, two more when an envelope funds it.
    """
    from grants.models import CallFunding, LedgerEntry
    from grants.selectors import envelope_available_by_id

    selected = BudgetLine.objects.filter(proposal__call_id=OuterRef("pk"), proposal__status=Proposal.Status.SELECTED)
    committed = LedgerEntry.objects.filter(grant__proposal_id=OuterRef("proposal_id"), kind=LedgerEntry.Kind.COMMITMENT)
    uncommitted = selected.annotate(committed=Exists(committed)).filter(committed=False)
    money = (
        Call.objects.filter(pk=call.pk)
        .annotate(
            selected_eu=_sum_of(selected),
            uncommitted_eu=_sum_of(uncommitted),
            envelope_id=Subquery(CallFunding.objects.filter(call_id=OuterRef("pk")).values("envelope_id")[:1]),
        )
        .values("selected_eu", "uncommitted_eu", "envelope_id")
        .get()
    )
    limits = []
    if call.indicative_budget is not None:
        limits.append(call.indicative_budget - (money["selected_eu"] or ZERO))
    if money["envelope_id"] is not None:
        # Selected proposals whose grant is not budget-committed yet still need room in the envelope.
        limits.append(envelope_available_by_id(money["envelope_id"]) - (money["uncommitted_eu"] or ZERO))
    return (min(limits) if limits else ZERO), bool(limits)


def _sum_of(lines) -> Subquery:
    total = lines.order_by().values("proposal__call_id").annotate(total=Sum("eu_contribution")).values("total")
    return Subquery(total, output_field=DecimalField(max_digits=14, decimal_places=2))


# --- ranking and funding line ---------------------------------------------------------------------------


class Funding:
    ABOVE_LINE = "above_line"
    RESERVE = "reserve"
    BELOW_THRESHOLD = "below_threshold"

    LABELS = {ABOVE_LINE: "Above the funding line", RESERVE: "Reserve list", BELOW_THRESHOLD: "Below threshold"}


@dataclass
class RankedProposal:
    proposal: Proposal
    eu_contribution: Decimal
    reviews_submitted: int
    total: Decimal | None = None
    scores: dict[str, Decimal] = field(default_factory=dict)
    passed: bool | None = None
    rank: int | None = None
    funding: str | None = None

    @property
    def funding_label(self) -> str:
        return Funding.LABELS.get(self.funding or "", "")

    @property
    def score_list(self) -> list[Decimal | None]:
        return list(self.scores.values())


@dataclass
class Ranking:
    call: Call
    cut_off: CutOff
    scheme: Scheme
    rows: list[RankedProposal]  # with a consensus, in rank order
    pending: list[RankedProposal]  # no consensus yet
    withdrawn: list[RankedProposal]  # withdrawn after selection
    available: Decimal  # left in the call now
    budget: Decimal  # what this cut-off's funding line draws on: available + this cut-off's selections
    published: DecisionPublication | None
    promotion_candidate: RankedProposal | None = None
    has_budget: bool = False  # an indicative budget or a funding envelope: a funding line can be drawn

    @property
    def above_line(self) -> list[RankedProposal]:
        return [r for r in self.rows if r.funding == Funding.ABOVE_LINE]

    @property
    def reserve(self) -> list[RankedProposal]:
        return [r for r in self.rows if r.funding == Funding.RESERVE]

    @property
    def line_total(self) -> Decimal:
        return sum((r.eu_contribution for r in self.above_line), ZERO)

    @property
    def undecided(self) -> list[RankedProposal]:
        return [r for r in [*self.rows, *self.pending] if r.proposal.status in OPEN_WORK]

    def row_for(self, proposal_id: int) -> RankedProposal | None:
        return next((r for r in self.rows if r.proposal.pk == proposal_id), None)

    @property
    def can_confirm(self) -> bool:
        """decisions_confirm would accept: not published, a consensus on every proposal, something to decide."""
        return self.published is None and not self.pending and bool(self.rows)

    @property
    def can_publish(self) -> bool:
        """decisions_publish would accept: not published, every proposal decided, at least one decision."""
        decided = any(r.proposal.status in DECIDED for r in [*self.rows, *self.pending])
        return self.published is None and not self.undecided and decided


def _submitted_reviews_expression():
    reviews = (
        Review.objects.filter(
            assignment__proposal=OuterRef("pk"),
            status=Review.Status.SUBMITTED,
            assignment__declaration=Assignment.Declaration.NO_CONFLICT,
        )
        .order_by()
        .values("assignment__proposal")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(reviews), Value(0))


def sort_key(scheme: Scheme):
    """Weighted total first; then the scheme's tie-break order (criteria, higher first; `submitted_at`,
    earlier first); then the earlier submission and the reference, so that the order is always total."""
    keys = [k for k in scheme.tie_break if k == SUBMITTED_AT or k in scheme.codes]

    def key(row: RankedProposal):
        parts: list = [-row.total]
        for k in keys:
            parts.append(row.proposal.submitted_at if k == SUBMITTED_AT else -row.scores.get(k, ZERO))
        parts += [row.proposal.submitted_at, row.proposal.reference or ""]
        return parts

    return key


def draw_funding_line(rows: list[RankedProposal], budget: Decimal) -> None:
    """Fund the passing proposals top-down while the next one fits; the other passing ones form the reserve
    list in rank order; failing ones are below threshold."""
    remaining = budget
    line_open = True
    for row in rows:
        if not row.passed:
            row.funding = Funding.BELOW_THRESHOLD
        elif line_open and row.eu_contribution <= remaining:
            row.funding = Funding.ABOVE_LINE
            remaining -= row.eu_contribution
        else:
            line_open = False
            row.funding = Funding.RESERVE


RANKING_FIELDS = (
    "id", "call_id", "cut_off_id", "organisation_id", "organisation__short_name", "reference", "acronym", "title",
    "status", "submitted_at",
)  # fmt: skip


def ranking_queryset(*, cut_off: CutOff, scheme: Scheme) -> QuerySet[Proposal]:
    """The proposals of a cut-off in one query: their consensus total, pass and per-criterion scores (`score_0`,
    `score_1`… in the scheme's order), requested EU contribution, number of submitted reviews, and whether a
    grant was prepared from it."""
    from grants.models import Grant

    joins = {
        f"criterion_{index}": FilteredRelation("consensus__scores", condition=Q(consensus__scores__criterion=code))
        for index, code in enumerate(scheme.codes)
    }
    scores = {f"score_{index}": F(f"criterion_{index}__score") for index in range(len(scheme.codes))}
    return (
        Proposal.objects.filter(cut_off_id=cut_off.pk)
        .filter(Q(status__in=IN_EVALUATION) | Q(status=Proposal.Status.WITHDRAWN, consensus__isnull=False))
        .select_related("organisation")
        .only(*RANKING_FIELDS)
        .annotate(**joins)
        .annotate(
            consensus_total=F("consensus__total"),
            consensus_passed=F("consensus__passed_thresholds"),
            requested_eu=eu_contribution_expression(),
            reviews_submitted=_submitted_reviews_expression(),
            # A selection with a grant is not withdrawn (the service refuses it): the page offers no withdrawal.
            has_grant=Exists(Grant.objects.filter(proposal_id=OuterRef("pk"))),
            **scores,
        )
        .order_by("pk")
    )


def cut_off_ranking(*, cut_off: CutOff, call: Call | None = None) -> Ranking:
    """The ranking of a cut-off by the weighted consensus total, the funding line and the reserve list.

    Three queries whatever the number of proposals: the proposals with their consensus scores, requested EU
    contribution and reviews; the money already selected in the call; the publication.
    """
    call = call or cut_off.call
    scheme = scheme_of(call)
    rows, pending = [], []
    for proposal in ranking_queryset(cut_off=cut_off, scheme=scheme):
        row = RankedProposal(
            proposal=proposal, eu_contribution=proposal.requested_eu, reviews_submitted=proposal.reviews_submitted
        )
        if proposal.consensus_total is None:
            pending.append(row)
            continue
        row.scores = {code: tidy(getattr(proposal, f"score_{i}")) for i, code in enumerate(scheme.codes)}
        row.total = tidy(proposal.consensus_total)
        row.passed = proposal.consensus_passed
        rows.append(row)
    # Ranks stay as they were when a selected proposal later withdraws: it keeps its place, out of the line.
    rows.sort(key=sort_key(scheme))
    for position, row in enumerate(rows, start=1):
        row.rank = position
    withdrawn = [r for r in rows if r.proposal.status == Proposal.Status.WITHDRAWN]
    rows = [r for r in rows if r.proposal.status != Proposal.Status.WITHDRAWN]
    pending.sort(key=lambda r: r.proposal.reference or "")
    available, has_budget = call_funding_position(call)
    selected_here = sum((r.eu_contribution for r in rows if r.proposal.status == Proposal.Status.SELECTED), ZERO)
    budget = available + selected_here
    draw_funding_line(rows, budget)
    published = DecisionPublication.objects.filter(cut_off_id=cut_off.pk).select_related("published_by").first()
    ranking = Ranking(
        call=call,
        cut_off=cut_off,
        scheme=scheme,
        rows=rows,
        pending=pending,
        withdrawn=withdrawn,
        available=available,
        budget=budget,
        published=published,
        has_budget=has_budget,
    )
    if published is not None:
        ranking.promotion_candidate = next(
            (r for r in rows if r.proposal.status == Proposal.Status.RESERVE and r.eu_contribution <= available),
            None,
        )
    return ranking


# --- conflicts and assignments ------------------------------------------------------------------------


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
    """Open assignments per evaluator (of `evaluator_ids` when given): not recused, on proposals still being
    evaluated."""
    assignments = Assignment.objects.filter(proposal__status__in=OPEN_WORK).exclude(
        declaration=Assignment.Declaration.CONFLICT
    )
    if evaluator_ids is not None:
        assignments = assignments.filter(evaluator_id__in=evaluator_ids)
    rows = assignments.order_by().values("evaluator_id").annotate(n=Count("pk"))
    return {row["evaluator_id"]: row["n"] for row in rows}


def cut_offs_in_evaluation() -> QuerySet[CutOff]:
    """Cut-offs with proposals in evaluation, with their progress counts, newest first."""
    in_eval = Q(proposals__status__in=IN_EVALUATION)
    return (
        CutOff.objects.select_related("call", "publication")
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
    active: int  # assignments not recused
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
    "review__id", "review__status", "replacement__id",
)  # fmt: skip


def board_proposals(*, cut_off: CutOff) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(cut_off_id=cut_off.pk, status__in=IN_EVALUATION)
        .select_related("organisation")
        .order_by("reference")
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
            if not a.is_recused:
                active += 1
            elif not hasattr(a, "replacement"):
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
TO_DECLARE = Q(declaration=Assignment.Declaration.PENDING)
TO_SCORE = Q(declaration=Assignment.Declaration.NO_CONFLICT) & (
    Q(review__isnull=True) | Q(review__status=Review.Status.DRAFT)
)
REVIEW_SUBMITTED = Q(review__status=Review.Status.SUBMITTED)
IN_OPEN_WORK = Q(proposal__status__in=OPEN_WORK)

# The states an evaluator filters their assignments by (My evaluations).
ASSIGNMENT_STATES = {
    "open": ("Open work", IN_OPEN_WORK),
    "to_declare": ("To declare", IN_OPEN_WORK & TO_DECLARE),
    "to_score": ("To score", IN_OPEN_WORK & TO_SCORE),
    "submitted": ("Review submitted", REVIEW_SUBMITTED),
    "recused": ("Recused (conflict declared)", Q(declaration=Assignment.Declaration.CONFLICT)),
    "finished": ("Evaluation finished", ~IN_OPEN_WORK),
}


def evaluator_assignments(*, user: User, call_id: int | None = None, state: str | None = None) -> QuerySet[Assignment]:
    """An evaluator's own assignments: open work first (by deadline), then the finished ones; optionally of one
    call and in one of ASSIGNMENT_STATES."""
    assignments = assignment_list().filter(evaluator=user)
    if call_id is not None:
        assignments = assignments.filter(proposal__call_id=call_id)
    if state in ASSIGNMENT_STATES:
        assignments = assignments.filter(ASSIGNMENT_STATES[state][1])
    return assignments.order_by("proposal__status", "deadline", "id")


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
    mine = Assignment.objects.filter(IN_OPEN_WORK, evaluator=user)
    return mine.aggregate(
        to_declare=Count("pk", filter=TO_DECLARE),
        to_score=Count("pk", filter=TO_SCORE),
        submitted=Count("pk", filter=REVIEW_SUBMITTED),
    )


# --- reviews and consensus ------------------------------------------------------------------------------


@dataclass
class CriterionSpread:
    code: str
    name: str
    max: Decimal
    threshold: Decimal
    weight: Decimal
    scores: list[Decimal]
    consensus: Decimal | None = None
    comment: str = ""

    @property
    def low(self) -> Decimal | None:
        return min(self.scores) if self.scores else None

    @property
    def high(self) -> Decimal | None:
        return max(self.scores) if self.scores else None

    @property
    def spread(self) -> Decimal | None:
        return self.high - self.low if self.scores else None

    @property
    def flagged(self) -> bool:
        return self.spread is not None and self.spread > SPREAD_FLAG

    @property
    def mean(self) -> Decimal | None:
        if not self.scores:
            return None
        return (sum(self.scores, Decimal("0")) / len(self.scores)).quantize(Decimal("0.01"))


def submitted_reviews(*, proposal: Proposal) -> list[Review]:
    """The submitted individual reviews of a proposal with their scores, in submission order."""
    return list(
        Review.objects.filter(
            assignment__proposal_id=proposal.pk,
            status=Review.Status.SUBMITTED,
            assignment__declaration=Assignment.Declaration.NO_CONFLICT,
        )
        .select_related("assignment__evaluator")
        .prefetch_related(Prefetch("scores", queryset=ReviewScore.objects.order_by("id")))
        .order_by("submitted_at", "id")
    )


def consensus_spread(*, proposal: Proposal, scheme: Scheme, reviews: list[Review]) -> list[CriterionSpread]:
    """Per criterion: the individual scores, their spread (flagged above 2 points) and the consensus so far."""
    consensus = getattr(proposal, "consensus", None)
    recorded = {s.criterion: s for s in consensus.scores.all()} if consensus is not None else {}
    spreads = []
    for c in scheme.criteria:
        scores = [tidy(s.score) for r in reviews for s in r.scores.all() if s.criterion == c.code]
        row = CriterionSpread(
            code=c.code,
            name=c.name,
            max=tidy(c.max),
            threshold=tidy(c.threshold),
            weight=tidy(c.weight),
            scores=scores,
        )
        if c.code in recorded:
            row.consensus, row.comment = tidy(recorded[c.code].score), recorded[c.code].comment
        spreads.append(row)
    return spreads


def proposal_for_consensus(*, pk: int, queryset: QuerySet[Proposal]) -> Proposal:
    return (
        queryset.select_related("call", "cut_off", "organisation", "consensus")
        .prefetch_related("consensus__scores")
        .get(pk=pk)
    )


# --- decisions and outcome ----------------------------------------------------------------------------


def latest_decision(*, proposal: Proposal) -> Decision | None:
    return Decision.objects.filter(proposal_id=proposal.pk).order_by("-id").first()


def decision_history(*, proposal: Proposal) -> QuerySet[Decision]:
    return Decision.objects.filter(proposal_id=proposal.pk).select_related("decided_by").order_by("id")


def is_published(*, proposal: Proposal) -> bool:
    return (
        proposal.cut_off_id is not None and DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).exists()
    )


def proposal_grant(*, proposal: Proposal):
    """The grant prepared from a selected proposal, or None."""
    from grants.models import Grant

    return Grant.objects.filter(proposal_id=proposal.pk).first()


@dataclass
class OfficerWork:
    recusals_to_replace: int  # experts who declared a conflict, not yet replaced
    declarations_pending: int  # assignments whose expert has not declared yet
    consensus_due: int  # proposals whose reviews are all in, without a consensus
    to_confirm: list[CutOff]  # every proposal has its consensus; the decisions are not all recorded
    to_publish: list[CutOff]  # every proposal decided, not published


def officer_evaluation_work() -> OfficerWork:
    """What waits for a programme officer in the evaluations, most urgent first, in three queries."""
    counts = Assignment.objects.filter(IN_OPEN_WORK).aggregate(
        recusals=Count("pk", filter=Q(declaration=Assignment.Declaration.CONFLICT, replacement__isnull=True)),
        pending=Count("pk", filter=TO_DECLARE),
    )
    unfinished = Assignment.objects.filter(TO_DECLARE | TO_SCORE, proposal_id=OuterRef("pk"))
    reviewed = Review.objects.filter(assignment__proposal_id=OuterRef("pk"), status=Review.Status.SUBMITTED)
    consensus_due = (
        Proposal.objects.filter(status__in=OPEN_WORK, consensus__isnull=True)
        .filter(Exists(reviewed))
        .exclude(Exists(unfinished))
        .count()
    )
    cut_offs = [c for c in cut_offs_in_evaluation() if getattr(c, "publication", None) is None]
    return OfficerWork(
        recusals_to_replace=counts["recusals"],
        declarations_pending=counts["pending"],
        consensus_due=consensus_due,
        to_confirm=[c for c in cut_offs if c.n_waiting and c.n_consensus == c.n_proposals],
        to_publish=[c for c in cut_offs if not c.n_waiting and c.n_decided],
    )


def summary_report_by_hash(*, sha256: str) -> SummaryReport | None:
    """The rendered Evaluation Summary Report whose PDF has this SHA-256, with its proposal and call (one query).

    A proposal has one report; rendering it again replaces its fingerprint, so only the current file is found.
    """
    return (
        SummaryReport.objects.filter(sha256=sha256.lower(), status=SummaryReport.Status.READY)
        .select_related("proposal__call")
        .first()
    )
