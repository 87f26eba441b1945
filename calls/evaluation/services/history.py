"""Recording the evaluation of proposals decided before this system ran, and the publication of their
decisions."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from calls.evaluation.scheme import number, scheme_of
from calls.evaluation.selectors import DECIDED, conflict_reason, proposal_eu_contribution
from calls.evaluation.services._common import lock_proposal, request_summary_report, status_label
from calls.models import (
    Assignment,
    Consensus,
    ConsensusScore,
    CutOff,
    Decision,
    DecisionPublication,
    Proposal,
    Review,
    ReviewScore,
)
from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.models import User
from eurohpc.services import audit_record


@transaction.atomic
def evaluation_record_history(
    *,
    proposal: Proposal,
    reviews: list[tuple[User, dict, dict]],
    consensus_scores: dict,
    consensus_comments: dict,
    rank: int | None,
    assigned_at: datetime,
    decided_at: datetime,
    actor: User,
) -> Decision:
    """Record the evaluation of a proposal decided before this system ran (the programme's published selections):
    the assignments with their declarations, the submitted reviews (evaluator, scores, comments), the consensus
    and the decision matching the proposal's recorded status. Conflicts of interest are still refused."""
    proposal = lock_proposal(proposal)
    if proposal.status not in DECIDED:
        raise RuleViolation("Only decided proposals have their evaluation recorded as history.", code="not_decided")
    if Consensus.objects.filter(proposal_id=proposal.pk).exists():
        raise StateConflict(f"The evaluation of proposal {proposal} is already recorded.", code="already_recorded")
    if not assigned_at < decided_at:
        raise RuleViolation("The experts were assigned before the decision.", code="history_order")
    scheme = scheme_of(proposal.call)
    if len(reviews) < scheme.min_evaluators:
        raise RuleViolation(f"A consensus rests on at least {scheme.min_evaluators} reviews.", code="reviews_missing")
    step = (decided_at - assigned_at) / 4

    def working_hour(moment: datetime, hour: int) -> datetime:
        # History reads like office work: a step of days lands on that day at a working hour, not at 02:30.
        if step < timedelta(days=1):
            return moment
        day = timezone.localtime(moment).date()
        return timezone.make_aware(datetime.combine(day, time(hour)))

    declared_at, submitted_at = working_hour(assigned_at + step / 4, 10), working_hour(assigned_at + step, 16)
    deadline, recorded_at = working_hour(assigned_at + 2 * step, 17), working_hour(assigned_at + 3 * step, 15)
    for evaluator, scores, comments in reviews:
        conflict = conflict_reason(evaluator=evaluator, proposal=proposal)
        if conflict:
            raise RuleViolation(f"Conflict of interest: {conflict}", code="conflict_of_interest")
        parsed, texts = scheme.parse(scores=scores, comments=comments, complete=True)
        assignment = Assignment.objects.create(
            proposal=proposal, evaluator=evaluator, assigned_by=actor, assigned_at=assigned_at,
            declaration_deadline=deadline, deadline=deadline, declaration=Assignment.Declaration.NO_CONFLICT,
            declared_at=declared_at,
        )  # fmt: skip
        review = Review.objects.create(
            assignment=assignment,
            status=Review.Status.SUBMITTED,
            submitted_at=submitted_at,
            draft={"scores": {c: number(v) for c, v in parsed.items()}, "comments": texts},
        )
        # created_at and updated_at are set on save; history keeps the times it records.
        Review.objects.filter(pk=review.pk).update(created_at=submitted_at, updated_at=submitted_at)
        ReviewScore.objects.bulk_create(
            [
                ReviewScore(review=review, criterion=c.code, score=parsed[c.code], max_score=c.max,
                            comment=texts[c.code])
                for c in scheme.criteria
            ]
        )  # fmt: skip
    parsed, texts = scheme.parse(scores=consensus_scores, comments=consensus_comments, complete=True)
    if proposal.status != Proposal.Status.REJECTED and not scheme.passes(parsed):
        raise RuleViolation(f"Proposal {proposal} is {status_label(proposal)}: its consensus must pass the thresholds.")
    consensus = Consensus.objects.create(
        proposal=proposal, scheme=scheme.as_data(), total=scheme.total(parsed), passed_thresholds=scheme.passes(parsed),
        reviews_count=len(reviews), recorded_by=actor, recorded_at=recorded_at, updated_at=recorded_at,
    )  # fmt: skip
    ConsensusScore.objects.bulk_create(
        [
            ConsensusScore(consensus=consensus, criterion=c.code, score=parsed[c.code], max_score=c.max,
                           comment=texts[c.code])
            for c in scheme.criteria
        ]
    )  # fmt: skip
    decision = Decision.objects.create(
        proposal=proposal, outcome=proposal.status, kind=Decision.Kind.DECISION, rank=rank, total=consensus.total,
        passed_thresholds=consensus.passed_thresholds, eu_contribution=proposal_eu_contribution(proposal=proposal),
        reason="Recorded from the programme's published selection.", decided_by=actor, decided_at=decided_at,
    )  # fmt: skip
    audit_record(
        actor=actor,
        verb="evaluation.record_history",
        target=proposal,
        changes={
            "evaluators": [e.username for e, _, _ in reviews],
            "total": consensus.total,
            "outcome": proposal.status,
            "decided_at": decided_at,
        },
    )
    return decision


@transaction.atomic
def publication_record_history(*, cut_off: CutOff, published_at: datetime, actor: User) -> DecisionPublication:
    """Record that the decisions of a past cut-off were published, and prepare their summary reports."""
    cut_off = CutOff.objects.select_for_update().select_related("call").get(pk=cut_off.pk)
    existing = DecisionPublication.objects.filter(cut_off_id=cut_off.pk).first()
    if existing is not None:
        return existing
    publication = DecisionPublication.objects.create(cut_off=cut_off, published_by=actor, published_at=published_at)
    latest = {}
    for decision in Decision.objects.filter(proposal__cut_off_id=cut_off.pk).order_by("id"):
        latest[decision.proposal_id] = decision
    for proposal in Proposal.objects.filter(pk__in=latest).order_by("-created_at"):
        request_summary_report(proposal, latest[proposal.pk])
    audit_record(actor=actor, verb="evaluation.record_history_publication", target=cut_off.call,
                 changes={"cut_off": cut_off.closes_at, "published_at": published_at})  # fmt: skip
    return publication
