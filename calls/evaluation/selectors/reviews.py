"""The submitted reviews of a proposal and the spread of their scores, for the consensus."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from calls.evaluation.scheme import SPREAD_FLAG, Scheme, tidy
from calls.models import Assignment, ConsensusScore, Proposal, Review, ReviewScore


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


def reviews_with_scores() -> QuerySet[Review]:
    """Reviews with their scores in the order they were written (the scheme's), for an API answer."""
    return Review.objects.prefetch_related(Prefetch("scores", queryset=ReviewScore.objects.order_by("id")))


def submitted_reviews(*, proposal: Proposal) -> list[Review]:
    """The submitted individual reviews of a proposal with their scores, in submission order."""
    return list(
        Review.objects.filter(
            assignment__proposal_id=proposal.pk,
            status=Review.Status.SUBMITTED,
            assignment__declaration=Assignment.Declaration.NO_CONFLICT,
            # a closed assignment's review (reassigned, or superseded by a re-evaluation) no longer counts
            assignment__closed_at__isnull=True,
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
        .prefetch_related(Prefetch("consensus__scores", queryset=ConsensusScore.objects.order_by("id")))
        .get(pk=pk)
    )
