"""Evaluation services: individual reviews and the consensus (thresholds, weights)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from calls.evaluation.services import (
    assignment_create,
    consensus_record,
    review_save,
    review_submit,
)
from calls.models import Review, ReviewScore
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from tests.calls.evaluation_factories import (
    assign_all,
    comments_for,
    evaluate,
    make_batch,
    scores_of,
    submit_review,
)
from tests.calls.factories import make_call

pytestmark = pytest.mark.django_db


# --- individual reviews -----------------------------------------------------------------------------


@pytest.fixture
def open_assignment(proposal, experts, programme_officer):
    return assign_all(proposal, experts[:1], programme_officer)[0]


def test_review_refused_before_declaration(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(NotPermitted) as refused:
        review_save(assignment=assignment, scores={}, comments={}, actor=experts[0])
    assert refused.value.message == (
        "Declare whether you have a conflict of interest with proposal EUROHPC-2026-CEI-AI-03-0001 before scoring it."
    )


def test_review_submit_stores_scores(open_assignment):
    review = submit_review(open_assignment, "4.5", "4", "3.5")
    assert review.status == Review.Status.SUBMITTED
    assert {s.criterion: s.score for s in review.scores.all()} == {
        "excellence": Decimal("4.50"),
        "impact": Decimal("4.00"),
        "implementation": Decimal("3.50"),
    }


def test_review_refuses_score_off_the_step(open_assignment):
    with pytest.raises(RuleViolation) as refused:
        review_save(
            assignment=open_assignment,
            scores=scores_of("4.3", "4", "4"),
            comments=comments_for(),
            actor=open_assignment.evaluator,
            submit=True,
        )
    assert refused.value.errors == {
        "scores.excellence": ["Excellence: 4.3 is not on the scale: scores go in steps of 0.5."]
    }


def test_review_refuses_score_out_of_range(open_assignment):
    with pytest.raises(RuleViolation) as refused:
        review_save(
            assignment=open_assignment,
            scores=scores_of("5.5", "-1", "4"),
            comments=comments_for(),
            actor=open_assignment.evaluator,
            submit=True,
        )
    assert refused.value.message == "The scores cannot be accepted: 2 problem(s)."
    assert refused.value.errors == {
        "scores.excellence": ["Excellence: 5.5 is outside the range 0 to 5."],
        "scores.impact": ["Impact: -1 is outside the range 0 to 5."],
    }


def test_review_refuses_float_and_text_scores(open_assignment):
    with pytest.raises(RuleViolation) as refused:
        review_save(
            assignment=open_assignment,
            scores={"excellence": 4.5, "impact": "four"},
            comments={},
            actor=open_assignment.evaluator,
        )
    assert refused.value.errors == {
        "scores.excellence": ['Excellence: give the score as a decimal string, e.g. "4.5".'],
        "scores.impact": ["Impact: 'four' is not a number."],
    }


def test_review_submit_refuses_empty_comment(open_assignment):
    with pytest.raises(RuleViolation) as refused:
        review_save(
            assignment=open_assignment,
            scores=scores_of("4", "4", "4"),
            comments={"excellence": "Fine.", "impact": " ", "implementation": "Fine."},
            actor=open_assignment.evaluator,
            submit=True,
        )
    assert refused.value.errors == {"comments.impact": ["Impact: a comment is required."]}


def test_review_submit_refuses_missing_criterion(open_assignment):
    with pytest.raises(RuleViolation) as refused:
        review_save(
            assignment=open_assignment,
            scores={"excellence": "4", "impact": "4"},
            comments=comments_for(),
            actor=open_assignment.evaluator,
            submit=True,
        )
    assert refused.value.errors == {"scores.implementation": ["Implementation: give a score."]}


def test_review_draft_may_be_partial_and_is_submitted_later(open_assignment):
    review_save(
        assignment=open_assignment,
        scores={"excellence": "4"},
        comments={"excellence": "Strong."},
        actor=open_assignment.evaluator,
    )
    assert ReviewScore.objects.count() == 0
    review_save(
        assignment=open_assignment,
        scores=scores_of("4", "3", "3"),
        comments=comments_for(),
        actor=open_assignment.evaluator,
    )
    review = review_submit(assignment=open_assignment, actor=open_assignment.evaluator)
    assert review.status == Review.Status.SUBMITTED
    assert ReviewScore.objects.filter(review=review).count() == 3


def test_review_submitted_is_locked(open_assignment):
    submit_review(open_assignment, "4", "4", "4")
    with pytest.raises(StateConflict, match=r"submitted on .*: a submitted review is locked\.$"):
        review_save(
            assignment=open_assignment,
            scores=scores_of("5", "5", "5"),
            comments=comments_for(),
            actor=open_assignment.evaluator,
        )


def test_review_score_range_is_a_database_constraint(open_assignment):
    review = submit_review(open_assignment, "4", "4", "4")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewScore.objects.filter(review=review, criterion="impact").update(score=Decimal("6"))


# --- consensus, thresholds, weights ------------------------------------------------------------------


def test_consensus_refused_below_minimum_reviews(proposal, experts, programme_officer):
    assignments = assign_all(proposal, experts, programme_officer)
    submit_review(assignments[0], "4", "4", "4")
    submit_review(assignments[1], "4", "4", "4")
    with pytest.raises(StateConflict) as refused:
        consensus_record(
            proposal=proposal, scores=scores_of("4", "4", "4"), comments=comments_for(), actor=programme_officer
        )
    assert refused.value.message == (
        "The consensus needs at least 3 submitted individual reviews; proposal EUROHPC-2026-CEI-AI-03-0001 has 2."
    )


def test_consensus_passes_at_exact_thresholds(proposal, experts, programme_officer):
    evaluated = evaluate(proposal, experts, programme_officer, "3.5", "3.5", "3")
    assert evaluated.consensus.total == Decimal("10.00")
    assert evaluated.consensus.passed_thresholds is True


def test_consensus_fails_one_criterion_below_threshold(proposal, experts, programme_officer):
    evaluated = evaluate(proposal, experts, programme_officer, "5", "5", "2.5")
    assert evaluated.consensus.total == Decimal("12.50")
    assert evaluated.consensus.passed_thresholds is False


def test_consensus_fails_overall_threshold(proposal, experts, programme_officer):
    evaluated = evaluate(proposal, experts, programme_officer, "3", "3", "3.5")
    assert evaluated.consensus.total == Decimal("9.50")
    assert evaluated.consensus.passed_thresholds is False


def test_consensus_weights_come_from_the_call(applicant, programme_officer, freezer, experts):
    from calls.models.calls import default_evaluation_scheme

    scheme = default_evaluation_scheme()
    scheme["criteria"][0]["weight"] = "2"
    scheme["overall_threshold"] = "14"
    weighted = make_call(identifier="EUROHPC-2026-WEIGHTED", evaluation_scheme=scheme)
    proposal = make_batch(call=weighted, applicant=applicant, officer=programme_officer, freezer=freezer)[0]
    evaluated = evaluate(proposal, experts, programme_officer, "4.5", "3", "3")
    assert evaluated.consensus.total == Decimal("15.00")
    assert evaluated.consensus.passed_thresholds is True
