"""The consensus report of a proposal, recorded by the programme officer from the submitted individual
reviews."""

from django.db import transaction
from django.utils import timezone

from calls.access.checks import access_evaluation_refusal
from calls.evaluation.scheme import number, scheme_of
from calls.evaluation.services._common import lock_proposal, status_label
from calls.models import Assignment, Consensus, ConsensusScore, Proposal, Review
from eurohpc.errors import StateConflict
from eurohpc.models import User
from eurohpc.services import audit_record


@transaction.atomic
def consensus_record(*, proposal: Proposal, scores: dict, comments: dict, actor: User) -> Consensus:
    """Record (or correct, until a decision is taken) the consensus scores and comments of a proposal."""
    proposal = lock_proposal(proposal)
    refusal = access_evaluation_refusal(proposal, "consensus")
    if refusal:
        raise StateConflict(refusal, code="access_committee")
    if proposal.status != Proposal.Status.EVALUATION:
        raise StateConflict(
            f"Proposal {proposal} is {status_label(proposal)}: the consensus is recorded while it is under evaluation.",
            code="not_in_evaluation",
        )
    scheme = scheme_of(proposal.call)
    submitted = Review.objects.filter(
        assignment__proposal_id=proposal.pk,
        assignment__declaration=Assignment.Declaration.NO_CONFLICT,
        # Closed assignments' reviews are left out: after a re-evaluation only the new experts' reviews count.
        assignment__closed_at__isnull=True,
        status=Review.Status.SUBMITTED,
    ).count()
    if submitted < scheme.min_evaluators:
        raise StateConflict(
            f"The consensus needs at least {scheme.min_evaluators} submitted individual reviews; proposal "
            f"{proposal} has {submitted}.",
            code="reviews_missing",
        )
    parsed, texts = scheme.parse(scores=scores, comments=comments, complete=True)
    total = scheme.total(parsed)
    passed = scheme.passes(parsed)
    now = timezone.now()
    consensus = Consensus.objects.select_for_update().filter(proposal_id=proposal.pk).first()
    if consensus is None:
        consensus = Consensus(proposal=proposal, recorded_by=actor, recorded_at=now)
    consensus.scheme = scheme.as_data()
    consensus.total, consensus.passed_thresholds, consensus.reviews_count = total, passed, submitted
    consensus.recorded_by, consensus.updated_at = actor, now
    consensus.save()
    consensus.scores.all().delete()
    ConsensusScore.objects.bulk_create(
        [
            ConsensusScore(consensus=consensus, criterion=c.code, score=parsed[c.code], max_score=c.max,
                           comment=texts[c.code])
            for c in scheme.criteria
        ]
    )  # fmt: skip
    audit_record(
        actor=actor,
        verb="evaluation.consensus",
        target=proposal,
        changes={
            "scores": {code: number(value) for code, value in parsed.items()},
            "total": total,
            "passed_thresholds": passed,
            "reviews": submitted,
        },
    )
    return consensus
