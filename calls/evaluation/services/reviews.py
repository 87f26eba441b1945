"""The evaluators' individual reviews: drafts, submission and the conflict-of-interest gate before them."""

from django.db import transaction
from django.utils import timezone

from calls.evaluation.scheme import number, scheme_of
from calls.evaluation.services._common import closed_refusal, lock_proposal, status_label
from calls.models import Assignment, Proposal, Review, ReviewScore
from calls.transitions import REVIEW
from eurohpc.errors import NotPermitted, StateConflict
from eurohpc.formatting import local
from eurohpc.models import User
from eurohpc.services import audit_record


def coi_refusal(assignment: Assignment, proposal: Proposal, what: str = "reading it") -> str | None:
    if assignment.declaration == Assignment.Declaration.PENDING:
        return f"Declare whether you have a conflict of interest with proposal {proposal} before {what}."
    if assignment.declaration == Assignment.Declaration.CONFLICT:
        return f"You declared a conflict of interest with proposal {proposal}: it is closed to you."
    return None


@transaction.atomic
def review_save(
    *,
    assignment: Assignment,
    scores: dict | None,
    comments: dict | None,
    actor: User,
    submit: bool = False,
) -> Review:
    """Save the evaluator's scores and comments (a draft may be partial); `submit` checks that every criterion
    has a score on its scale and a comment, and locks the review."""
    proposal = lock_proposal(assignment.proposal_id)
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.evaluator_id != actor.pk:
        raise NotPermitted("Only the assigned evaluator writes this review.")
    closed = closed_refusal(assignment, proposal)
    if closed:
        raise StateConflict(closed, code="assignment_closed")
    refusal = coi_refusal(assignment, proposal, "scoring it")
    if refusal:
        raise NotPermitted(refusal, code="conflict_of_interest_gate")
    review = Review.objects.select_for_update().filter(assignment_id=assignment.pk).first()
    if review is not None and review.status == Review.Status.SUBMITTED:
        raise StateConflict(
            f"Your review of proposal {proposal} was submitted on {local(review.submitted_at)}: a submitted "
            f"review is locked.",
            code="review_locked",
        )
    if proposal.status != Proposal.Status.EVALUATION:
        raise StateConflict(f"Proposal {proposal} is {status_label(proposal)}: its evaluation is over.", code="decided")
    if submit and hasattr(proposal, "consensus"):
        raise StateConflict(f"The consensus on proposal {proposal} is already recorded.", code="consensus_recorded")
    scheme = scheme_of(proposal.call)
    parsed, texts = scheme.parse(scores=scores, comments=comments, complete=submit)
    if review is None:
        review = Review(assignment=assignment)
    review.draft = {"scores": {code: number(value) for code, value in parsed.items()}, "comments": texts}
    review.save()
    if submit:
        REVIEW.move(review, Review.Status.SUBMITTED, submitted_at=timezone.now())
    if submit:
        ReviewScore.objects.bulk_create(
            [
                ReviewScore(review=review, criterion=c.code, score=parsed[c.code], max_score=c.max,
                            comment=texts[c.code])
                for c in scheme.criteria
            ]
        )  # fmt: skip
    audit_record(
        actor=actor,
        verb="evaluation.review_submit" if submit else "evaluation.review_save",
        target=proposal,
        changes={"evaluator": actor.username, "scores": review.draft["scores"]},
    )
    return review


def review_submit(*, assignment: Assignment, actor: User) -> Review:
    """Submit the draft saved before."""
    review = Review.objects.filter(assignment_id=assignment.pk).first()
    draft = review.draft if review is not None else {}
    return review_save(
        assignment=assignment,
        scores=draft.get("scores"),
        comments=draft.get("comments"),
        actor=actor,
        submit=True,
    )
