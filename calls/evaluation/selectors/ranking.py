"""The ranking of a cut-off: the weighted consensus totals, the funding line and the reserve list."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from calls.evaluation.scheme import SUBMITTED_AT, Scheme, scheme_of, tidy
from calls.evaluation.selectors.common import DECIDED, IN_EVALUATION, OPEN_WORK, ZERO
from calls.evaluation.selectors.money import call_funding_position, eu_contribution_expression
from calls.evaluation.selectors.technical import Technical, technical_annotations, technical_state
from calls.models import Assignment, Call, CutOff, Decision, DecisionPublication, Proposal, Review
from calls.providers import funding_provider


class Funding:
    ABOVE_LINE = "above_line"
    RESERVE = "reserve"
    BELOW_THRESHOLD = "below_threshold"
    # A hosting proposal whose technical assessment failed: never funded, whatever its score.
    TECHNICAL_FAIL = "technical_fail"

    LABELS = {
        ABOVE_LINE: "Above the funding line",
        RESERVE: "Reserve list",
        BELOW_THRESHOLD: "Below threshold",
        TECHNICAL_FAIL: "Failed technical assessment",
    }


# The decision each place in the ranking proposes (decisions_confirm, the conclusion of a re-evaluation).
OUTCOME_BY_FUNDING = {
    Funding.ABOVE_LINE: Decision.Outcome.SELECTED,
    Funding.RESERVE: Decision.Outcome.RESERVE,
    Funding.BELOW_THRESHOLD: Decision.Outcome.REJECTED,
    Funding.TECHNICAL_FAIL: Decision.Outcome.REJECTED,
}


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
    technical: str = Technical.NOT_NEEDED

    @property
    def technical_label(self) -> str:
        return Technical.LABELS[self.technical]

    @property
    def technical_ok(self) -> bool:
        """Nothing technical stands in the way of its selection (technical_refusal agrees)."""
        return self.technical in (Technical.NOT_NEEDED, Technical.PASSED)

    @property
    def decidable_outcomes(self) -> frozenset[str]:
        """The outcomes decision_record accepts for it: rejected always; selected once it passed the thresholds
        with nothing technical in the way; the reserve list once it passed them, unless its technical assessment
        failed (technical_refusal agrees)."""
        outcomes = {Decision.Outcome.REJECTED}
        if self.passed and self.technical_ok:
            outcomes.add(Decision.Outcome.SELECTED)
        if self.passed and self.technical != Technical.FAILED:
            outcomes.add(Decision.Outcome.RESERVE)
        return frozenset(outcomes)

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
    def technical_missing(self) -> list[RankedProposal]:
        """Proposals the confirmation would select without a submitted technical assessment."""
        return [
            r
            for r in self.above_line
            if r.technical == Technical.MISSING and r.proposal.status != Proposal.Status.SELECTED
        ]

    @property
    def can_confirm(self) -> bool:
        """decisions_confirm would accept: not published, a consensus on every proposal, something to decide,
        and no proposal above the line still waiting for its technical assessment."""
        return self.published is None and not self.pending and bool(self.rows) and not self.technical_missing

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
            assignment__closed_at__isnull=True,  # a re-evaluation counts its new experts' reviews only
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
    list in rank order; failing ones are below threshold; a failed technical assessment is never funded."""
    remaining = budget
    line_open = True
    for row in rows:
        if not row.passed:
            row.funding = Funding.BELOW_THRESHOLD
        elif row.technical == Technical.FAILED:
            row.funding = Funding.TECHNICAL_FAIL
        elif line_open and row.eu_contribution <= remaining:
            row.funding = Funding.ABOVE_LINE
            remaining -= row.eu_contribution
        else:
            line_open = False
            row.funding = Funding.RESERVE


RANKING_FIELDS = (
    "id", "call_id", "cut_off_id", "organisation_id", "organisation__short_name", "reference", "acronym", "title",
    "status", "submitted_at", "type",
)  # fmt: skip


def ranking_queryset(*, cut_off: CutOff, scheme: Scheme) -> QuerySet[Proposal]:
    """The proposals of a cut-off in one query: their consensus total, pass and per-criterion scores (`score_0`,
    `score_1`… in the scheme's order), requested EU contribution, number of submitted reviews, whether a
    grant was prepared from it, and its technical assessment in force (`technical_status`, `technical_passed`)."""
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
            has_grant=funding_provider().proposal_has_grant("pk"),
            **technical_annotations(),
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
            proposal=proposal,
            eu_contribution=proposal.requested_eu,
            reviews_submitted=proposal.reviews_submitted,
            technical=technical_state(
                proposal_type=proposal.type, status=proposal.technical_status, passed=proposal.technical_passed
            ),
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
            (
                r
                for r in rows
                if r.proposal.status == Proposal.Status.RESERVE
                and r.eu_contribution <= available
                and r.technical != Technical.FAILED  # never selectable
            ),
            None,
        )
    return ranking
