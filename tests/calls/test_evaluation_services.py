from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.evaluation.selectors import (
    Funding,
    call_available_amount,
    cut_off_ranking,
    proposal_eu_contribution,
)
from calls.evaluation.services import (
    assignment_create,
    assignment_declare,
    assignments_auto_assign,
    consensus_record,
    decision_record,
    decisions_confirm,
    decisions_publish,
    reserve_promote,
    review_save,
    review_submit,
    selection_withdraw,
)
from calls.models import Assignment, Call, Decision, Proposal, Review, ReviewScore, SummaryReport
from eurohpc.errors import AppendOnlyError, LimitExceeded, NotPermitted, RuleViolation, StateConflict
from eurohpc.models import AuditEvent, Notification, Role
from tests.calls.evaluation_factories import (
    assign_all,
    comments_for,
    evaluate,
    make_batch,
    make_evaluators,
    scores_of,
    submit_review,
)
from tests.calls.factories import add_member, make_call
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


# --- assignments ------------------------------------------------------------------------------------


def test_assignment_create_moves_proposal_to_evaluation(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assert assignment.declaration == Assignment.Declaration.PENDING
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.EVALUATION
    assert AuditEvent.objects.filter(verb="evaluation.assign", target_id=str(proposal.pk)).count() == 1
    assert Notification.objects.filter(recipient=experts[0], subject__startswith="Evaluation:").count() == 1


def test_assignment_create_refuses_same_evaluator_twice(proposal, experts, programme_officer):
    assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(
        StateConflict, match=r"^Test User \d+ is already assigned to proposal EUROHPC-2026-CEI-AI-03-0001\.$"
    ):
        assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)


def test_assignment_once_per_evaluator_is_a_database_constraint(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(
            proposal=proposal, evaluator=experts[0], assigned_at=assignment.assigned_at, deadline=assignment.deadline
        )


def test_assignment_create_refuses_evaluator_of_the_applicant(proposal, organisation, programme_officer):
    insider = UserFactory(
        username="insider", first_name="Ilse", last_name="Insider", organisation=organisation, roles=[Role.EVALUATOR]
    )
    with pytest.raises(RuleViolation) as refused:
        assignment_create(proposal=proposal, evaluator=insider, actor=programme_officer)
    assert refused.value.message == (
        "Conflict of interest: Ilse Insider works for CSC, the applicant of EUROHPC-2026-CEI-AI-03-0001."
    )


def test_assignment_create_refuses_evaluator_of_a_consortium_member(
    call, applicant, programme_officer, freezer, other_organisation
):
    from tests.calls.factories import make_draft, pdf_upload

    draft = make_draft(call=call, applicant=applicant)
    add_member(draft, other_organisation, applicant)
    from calls.services import document_upload, proposal_submit

    document_upload(proposal=draft, kind="consortium_agreement", uploaded_file=pdf_upload("ca.pdf"), actor=applicant)
    proposal_submit(proposal=draft, actor=applicant)
    from calls.services import cut_off_process, proposal_record_eligibility

    draft.refresh_from_db()
    freezer(draft.cut_off.closes_at + timedelta(seconds=1))
    cut_off_process(cut_off=draft.cut_off)
    proposal = proposal_record_eligibility(proposal=draft, eligible=True, reason="ok", actor=programme_officer)
    member_expert = UserFactory(
        username="partner",
        first_name="Paolo",
        last_name="Partner",
        organisation=other_organisation,
        roles=[Role.EVALUATOR],
    )
    with pytest.raises(RuleViolation) as refused:
        assignment_create(proposal=proposal, evaluator=member_expert, actor=programme_officer)
    assert refused.value.message == (
        "Conflict of interest: Paolo Partner works for CINECA, a consortium member of EUROHPC-2026-CEI-AI-03-0001."
    )


def test_assignment_create_refuses_user_without_evaluator_role(proposal, programme_officer, other_applicant):
    with pytest.raises(RuleViolation, match=r"^Test User \d+ is not an evaluator\.$"):
        assignment_create(proposal=proposal, evaluator=other_applicant, actor=programme_officer)


def test_assignment_create_refuses_proposal_not_eligible(call, applicant, experts, programme_officer):
    from tests.calls.factories import make_submitted

    submitted = make_submitted(call=call, applicant=applicant)
    with pytest.raises(StateConflict) as refused:
        assignment_create(proposal=submitted, evaluator=experts[0], actor=programme_officer)
    assert refused.value.message == (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 is submitted: evaluators are assigned to eligible proposals under "
        "evaluation."
    )


def test_assignment_create_refuses_deadline_in_the_past(proposal, experts, programme_officer):
    past = timezone.now() - timedelta(hours=1)
    with pytest.raises(RuleViolation, match="^The review deadline must lie in the future; "):
        assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer, deadline=past)


def test_auto_assign_gives_minimum_and_balances_load(call, applicant, programme_officer, freezer):
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=4)
    experts = make_evaluators(6)
    result = assignments_auto_assign(cut_off=proposals[0].cut_off, actor=programme_officer)
    assert len(result.created) == 12
    assert result.shortfall == {}
    per_proposal = {p.pk: Assignment.objects.filter(proposal=p).count() for p in proposals}
    assert set(per_proposal.values()) == {3}
    per_expert = sorted(Assignment.objects.filter(evaluator=e).count() for e in experts)
    assert per_expert == [2, 2, 2, 2, 2, 2]
    assert {p.status for p in Proposal.objects.filter(pk__in=[p.pk for p in proposals])} == {"evaluation"}


def test_auto_assign_excludes_detected_conflicts_and_reports_shortfall(
    proposal, organisation, programme_officer, experts
):
    UserFactory(username="insider", organisation=organisation, roles=[Role.EVALUATOR])
    experts[2].is_active = False
    experts[2].save()
    result = assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    assert sorted(a.evaluator.username for a in result.created) == ["expert1", "expert2"]
    assert result.shortfall == {Proposal.objects.get(pk=proposal.pk): 1}


def test_auto_assign_twice_adds_nothing(proposal, experts, programme_officer):
    assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    again = assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    assert again.created == []
    assert Assignment.objects.filter(proposal=proposal).count() == 3


def test_auto_assign_replaces_a_recused_evaluator(proposal, programme_officer):
    experts = make_evaluators(4)
    assignments = assign_all(proposal, experts[:3], programme_officer, declare=False)
    assignment_declare(assignment=assignments[1], conflict=True, reason="Former employee.", actor=experts[1])
    result = assignments_auto_assign(cut_off=proposal.cut_off, actor=programme_officer)
    assert [a.evaluator for a in result.created] == [experts[3]]
    assert result.created[0].replaces_id == assignments[1].pk


# --- conflict of interest ---------------------------------------------------------------------------


def test_declaration_no_conflict_opens_the_proposal(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assert not experts[0].has_perm("calls.view_proposal", proposal)
    assert not Proposal.objects.visible_to(experts[0]).filter(pk=proposal.pk).exists()
    assignment_declare(assignment=assignment, conflict=False, actor=experts[0])
    assert experts[0].has_perm("calls.view_proposal", proposal)
    assert Proposal.objects.visible_to(experts[0]).filter(pk=proposal.pk).exists()
    event = AuditEvent.objects.get(verb="evaluation.declare")
    assert event.changes == {"evaluator": "expert1", "conflict": False, "reason": ""}


def test_declaration_conflict_recuses_and_keeps_proposal_closed(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assignment_declare(assignment=assignment, conflict=True, reason="I co-wrote the proposal.", actor=experts[0])
    assignment.refresh_from_db()
    assert assignment.is_recused
    assert not experts[0].has_perm("calls.view_proposal", proposal)
    assert Notification.objects.filter(recipient=programme_officer, subject__startswith="Conflict of interest").exists()


def test_declaration_conflict_refused_without_reason(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(RuleViolation, match=r"^Describe the conflict of interest\.$"):
        assignment_declare(assignment=assignment, conflict=True, reason="  ", actor=experts[0])


def test_declaration_is_final(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assignment_declare(assignment=assignment, conflict=False, actor=experts[0])
    with pytest.raises(StateConflict, match="^You already declared no conflict of interest for proposal "):
        assignment_declare(assignment=assignment, conflict=True, reason="Changed my mind", actor=experts[0])


def test_declaration_refused_for_another_evaluator(proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    with pytest.raises(NotPermitted, match=r"^Only the assigned evaluator declares a conflict of interest\.$"):
        assignment_declare(assignment=assignment, conflict=False, actor=experts[1])


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


# --- ranking and funding line ------------------------------------------------------------------------


def _batch(call, applicant, officer, freezer, eus):
    return make_batch(call=call, applicant=applicant, officer=officer, freezer=freezer, count=len(eus), budgets=eus)


def test_ranking_orders_by_total_then_excellence_then_impact_then_submission(
    call, applicant, programme_officer, freezer, experts
):
    p = _batch(call, applicant, programme_officer, freezer, ["1000.00"] * 4)
    evaluate(p[0], experts, programme_officer, "4", "4", "4")  # 12, submitted first
    evaluate(p[1], experts, programme_officer, "4", "4", "4")  # 12, submitted later
    evaluate(p[2], experts, programme_officer, "4.5", "3.5", "4")  # 12, more excellence
    evaluate(p[3], experts, programme_officer, "4", "4.5", "3.5")  # 12, more impact than p0
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    assert [(r.proposal.pk, r.rank) for r in ranking.rows] == [
        (p[2].pk, 1),
        (p[3].pk, 2),
        (p[0].pk, 3),
        (p[1].pk, 4),
    ]


@pytest.mark.parametrize("rows", [1, 4])
def test_ranking_selector_query_count_is_constant(
    call, applicant, programme_officer, freezer, experts, django_assert_num_queries, rows
):
    p = _batch(call, applicant, programme_officer, freezer, ["1000.00"] * rows)
    for proposal in p:
        evaluate(proposal, experts, programme_officer, "4", "4", "4")
    cut_off = type(p[0].cut_off).objects.select_related("call").get(pk=p[0].cut_off_id)
    # proposals with their consensus scores, EU contribution and reviews; the call's money (selected,
    # uncommitted, envelope); publication
    with django_assert_num_queries(3):
        ranking = cut_off_ranking(cut_off=cut_off)
    assert len(ranking.rows) == rows


def test_funding_line_fits_to_the_cent(call, applicant, programme_officer, freezer, experts):
    p = _batch(call, applicant, programme_officer, freezer, ["60000000.00", "39999999.99", "0.01"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "4", "4", "4")
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    assert [r.funding for r in ranking.rows] == [Funding.ABOVE_LINE, Funding.ABOVE_LINE, Funding.ABOVE_LINE]
    assert ranking.line_total == Decimal("100000000.00")


def test_funding_line_misses_by_one_cent(call, applicant, programme_officer, freezer, experts):
    p = _batch(call, applicant, programme_officer, freezer, ["60000000.00", "40000000.01", "1000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "4", "4", "4")
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    # The line stops at the first proposal that does not fit: the ones below it form the reserve list.
    assert [r.funding for r in ranking.rows] == [Funding.ABOVE_LINE, Funding.RESERVE, Funding.RESERVE]


def test_funding_line_puts_failing_proposals_below_threshold(call, applicant, programme_officer, freezer, experts):
    p = _batch(call, applicant, programme_officer, freezer, ["1000.00", "1000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "2.5")  # 12.5 but a criterion fails
    evaluate(p[1], experts, programme_officer, "3.5", "3.5", "3")  # 10: passes
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    assert [(r.proposal.pk, r.funding) for r in ranking.rows] == [
        (p[0].pk, Funding.BELOW_THRESHOLD),
        (p[1].pk, Funding.ABOVE_LINE),
    ]


def test_call_available_amount_subtracts_selected_contributions(call, applicant, programme_officer, freezer, experts):
    p = _batch(call, applicant, programme_officer, freezer, ["30000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    assert call_available_amount(call) == Decimal("100000000.00")
    decision_record(proposal=p[0], outcome="selected", actor=programme_officer)
    assert proposal_eu_contribution(proposal=p[0]) == Decimal("30000000.00")
    assert call_available_amount(Call.objects.get(pk=call.pk)) == Decimal("70000000.00")


def test_selected_eu_contribution_is_the_amount_of_the_selection(call, applicant, programme_officer, freezer, experts):
    from calls.evaluation.selectors import selected_eu_contribution

    p = _batch(call, applicant, programme_officer, freezer, ["30000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    assert selected_eu_contribution(proposal=p[0]) is None
    decision_record(proposal=p[0], outcome="selected", actor=programme_officer)
    assert selected_eu_contribution(proposal=Proposal.objects.get(pk=p[0].pk)) == Decimal("30000000.00")


def test_call_without_budget_has_nothing_available(applicant, programme_officer, freezer, experts):
    unbudgeted = make_call(identifier="EUROHPC-2026-NOBUDGET")
    assert call_available_amount(unbudgeted) == Decimal("0.00")


# --- decisions ----------------------------------------------------------------------------------------


def test_decision_selected_refused_when_it_misses_by_one_cent(call, applicant, programme_officer, freezer, experts):
    p = _batch(call, applicant, programme_officer, freezer, ["60000000.00", "40000000.01"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4", "4", "4")
    decision_record(proposal=p[0], outcome="selected", actor=programme_officer)
    with pytest.raises(LimitExceeded) as refused:
        decision_record(proposal=p[1], outcome="selected", actor=programme_officer)
    assert refused.value.message == (
        "Selecting proposal EUROHPC-2026-CEI-AI-03-0002 needs EUR 40,000,000.01; EUR 40,000,000.00 is available in "
        "EUROHPC-2026-CEI-AI-03: short by EUR 0.01."
    )


def test_decision_selected_fits_to_the_cent(call, applicant, programme_officer, freezer, experts):
    p = _batch(call, applicant, programme_officer, freezer, ["60000000.00", "40000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4", "4", "4")
    decision_record(proposal=p[0], outcome="selected", actor=programme_officer)
    decision = decision_record(proposal=p[1], outcome="selected", actor=programme_officer)
    assert decision.eu_contribution == Decimal("40000000.00")
    assert call_available_amount(Call.objects.get(pk=call.pk)) == Decimal("0.00")


def test_decision_reserve_refused_below_threshold(proposal, experts, programme_officer):
    evaluate(proposal, experts, programme_officer, "2", "4", "4")
    with pytest.raises(RuleViolation, match=r"did not pass the thresholds: it can only be rejected\.$"):
        decision_record(proposal=proposal, outcome="reserve", actor=programme_officer)


def test_decision_refused_without_consensus(proposal, experts, programme_officer):
    assign_all(proposal, experts, programme_officer)
    with pytest.raises(StateConflict, match=r"^Record the consensus on proposal .* before deciding\.$"):
        decision_record(proposal=proposal, outcome="rejected", actor=programme_officer)


def test_decision_is_append_only(proposal, experts, programme_officer):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    decision = decision_record(proposal=proposal, outcome="selected", actor=programme_officer)
    with pytest.raises(AppendOnlyError):
        decision.save()


def test_ranking_offers_confirm_and_publish_only_when_the_services_accept_them(
    call, applicant, programme_officer, freezer, experts, client
):
    p = _batch(call, applicant, programme_officer, freezer, ["1000.00"] * 3)
    evaluate(p[0], experts, programme_officer, "4", "4", "4")
    cut_off = p[0].cut_off
    client.force_login(programme_officer)
    url = f"/officer/evaluation/cut-offs/{cut_off.pk}/ranking/"

    def offered() -> tuple[bool, bool]:
        page = client.get(url).content.decode()
        return f"/cut-offs/{cut_off.pk}/confirm/" in page, f"/cut-offs/{cut_off.pk}/publish/" in page

    assert offered() == (False, False)  # two proposals have no consensus yet
    assert "2 still without one" in client.get(url).content.decode()
    with pytest.raises(StateConflict, match=r"^The consensus is missing for: "):
        decisions_confirm(cut_off=cut_off, actor=programme_officer)
    with pytest.raises(StateConflict, match=r"^Decide on every proposal first; undecided: "):
        decisions_publish(cut_off=cut_off, actor=programme_officer)
    for proposal in p[1:]:
        evaluate(proposal, experts, programme_officer, "4", "4", "4")
    assert offered() == (True, False)
    decisions_confirm(cut_off=cut_off, actor=programme_officer)
    assert offered() == (True, True)
    decisions_publish(cut_off=cut_off, actor=programme_officer)
    assert offered() == (False, False)


def test_decisions_confirm_records_the_funding_line(call, applicant, programme_officer, freezer, experts):
    p = _batch(call, applicant, programme_officer, freezer, ["60000000.00", "50000000.00", "1000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "2", "2", "2")
    decisions_confirm(cut_off=p[0].cut_off, actor=programme_officer)
    statuses = dict(Proposal.objects.filter(pk__in=[x.pk for x in p]).values_list("pk", "status"))
    assert statuses == {p[0].pk: "selected", p[1].pk: "reserve", p[2].pk: "rejected"}
    assert AuditEvent.objects.filter(verb="evaluation.decision").count() == 3


def test_decisions_confirm_refused_while_a_consensus_is_missing(call, applicant, programme_officer, freezer, experts):
    p = _batch(call, applicant, programme_officer, freezer, ["1000.00", "1000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    assign_all(p[1], experts, programme_officer)
    with pytest.raises(StateConflict, match=r"^The consensus is missing for: EUROHPC-2026-CEI-AI-03-0002\.$"):
        decisions_confirm(cut_off=p[0].cut_off, actor=programme_officer)


def test_decisions_publish_notifies_applicants_and_renders_reports(
    proposal, experts, programme_officer, applicant, django_capture_on_commit_callbacks
):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    note = Notification.objects.get(recipient=applicant, subject__startswith="Evaluation outcome")
    assert "Your proposal is selected for funding." in note.body
    assert "Weighted total: 12 of 15" in note.body
    report = SummaryReport.objects.get(proposal=proposal)
    assert report.status == SummaryReport.Status.READY
    with report.file.open("rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF-")
    import hashlib

    assert report.sha256 == hashlib.sha256(content).hexdigest()


def test_decisions_publish_refused_while_undecided(proposal, experts, programme_officer):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    with pytest.raises(
        StateConflict, match=r"^Decide on every proposal first; undecided: EUROHPC-2026-CEI-AI-03-0001\.$"
    ):
        decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)


def test_decision_refused_after_publication(proposal, experts, programme_officer):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    with pytest.raises(StateConflict, match=r"^The decisions of this cut-off were published on "):
        decision_record(proposal=proposal, outcome="rejected", actor=programme_officer)


# --- withdrawal and promotion ---------------------------------------------------------------------------


@pytest.fixture
def published_three(call, applicant, programme_officer, freezer, experts):
    """Selected 60M; reserve 50M (does not fit); reserve 30M (fits the 40M left). Published."""
    p = _batch(call, applicant, programme_officer, freezer, ["60000000.00", "50000000.00", "30000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "4", "4", "4")
    decisions_confirm(cut_off=p[0].cut_off, actor=programme_officer)
    decisions_publish(cut_off=p[0].cut_off, actor=programme_officer)
    return [Proposal.objects.get(pk=x.pk) for x in p]


def test_promotion_candidate_is_first_reserve_that_fits(published_three):
    ranking = cut_off_ranking(cut_off=published_three[0].cut_off)
    assert [r.proposal.status for r in ranking.rows] == ["selected", "reserve", "reserve"]
    assert ranking.promotion_candidate.proposal.pk == published_three[2].pk


def test_reserve_promote_records_a_decision(published_three, programme_officer):
    decision = reserve_promote(proposal=published_three[2], actor=programme_officer, reason="Money left.")
    assert decision.kind == Decision.Kind.PROMOTION
    assert Proposal.objects.get(pk=published_three[2].pk).status == Proposal.Status.SELECTED
    assert call_available_amount(published_three[0].call) == Decimal("10000000.00")


def test_reserve_promote_refused_when_it_does_not_fit(published_three, programme_officer):
    with pytest.raises(LimitExceeded) as refused:
        reserve_promote(proposal=published_three[1], actor=programme_officer)
    assert refused.value.message == (
        "Selecting proposal EUROHPC-2026-CEI-AI-03-0002 needs EUR 50,000,000.00; EUR 40,000,000.00 is available in "
        "EUROHPC-2026-CEI-AI-03: short by EUR 10,000,000.00."
    )


def test_withdrawal_frees_money_and_first_reserve_is_proposed(published_three, programme_officer, applicant):
    selection_withdraw(proposal=published_three[0], reason="The hosting state withdrew its share.", actor=applicant)
    withdrawn = Proposal.objects.get(pk=published_three[0].pk)
    assert withdrawn.status == Proposal.Status.WITHDRAWN and withdrawn.withdrawn_at is not None
    ranking = cut_off_ranking(cut_off=withdrawn.cut_off)
    assert ranking.available == Decimal("100000000.00")
    assert ranking.promotion_candidate.proposal.pk == published_three[1].pk
    assert [r.proposal.pk for r in ranking.withdrawn] == [withdrawn.pk]


def test_reserve_promote_refused_for_a_lower_reserve_when_a_higher_one_fits(
    published_three, applicant, programme_officer
):
    selection_withdraw(proposal=published_three[0], reason="Declined.", actor=applicant)
    with pytest.raises(StateConflict) as refused:
        reserve_promote(proposal=published_three[2], actor=programme_officer)
    assert refused.value.message == (
        "Promote proposal EUROHPC-2026-CEI-AI-03-0002 first: it ranks higher on the reserve list (rank 2) and fits "
        "the available amount."
    )


def test_selection_withdraw_refused_without_reason(published_three, applicant):
    with pytest.raises(RuleViolation, match=r"^Give the reason for the withdrawal\.$"):
        selection_withdraw(proposal=published_three[0], reason="", actor=applicant)


def test_selection_withdraw_refused_once_the_grant_exists(
    published_three, applicant, finance_officer, programme_officer, client
):
    from grants.services import grant_create_from_proposal

    grant = grant_create_from_proposal(proposal=published_three[0], actor=finance_officer)
    with pytest.raises(StateConflict) as refused:
        selection_withdraw(proposal=published_three[0], reason="Declined.", actor=applicant)
    assert refused.value.message == (
        f"Proposal {published_three[0]} has its grant {grant.reference} (prepared): a selection with a grant is not "
        "withdrawn; the grant is terminated instead."
    )
    assert Proposal.objects.get(pk=published_three[0].pk).status == Proposal.Status.SELECTED
    # The outcome page links the grant and offers no withdrawal.
    client.force_login(applicant)
    page = client.get(f"/proposals/{published_three[0].pk}/outcome/").content.decode()
    assert f'Its grant <a href="/grants/{grant.pk}/">{grant.reference}</a> is prepared.' in page
    assert "Withdraw from the selection" not in page
    assert "The grant preparation follows." not in page
    # Nor does the ranking offer the officer a withdrawal of that selection (the other selection keeps it).
    client.force_login(programme_officer)
    ranking = client.get(f"/officer/evaluation/cut-offs/{published_three[0].cut_off_id}/ranking/").content.decode()
    assert f"/proposals/{published_three[0].pk}/outcome/withdraw/" not in ranking
    assert "grant prepared" in ranking


def test_summary_report_task_is_idempotent(published_three):
    from calls.evaluation.services import summary_report_render

    report = SummaryReport.objects.get(proposal=published_three[0])
    assert summary_report_render(report_id=report.pk) is True
    first = SummaryReport.objects.get(pk=report.pk)
    assert summary_report_render(report_id=report.pk) is False
    assert SummaryReport.objects.get(pk=report.pk).sha256 == first.sha256


def test_summary_report_failure_is_recorded(published_three, monkeypatch):
    from calls.evaluation import pdf
    from calls.evaluation.services import RenderError, summary_report_render

    def broken(**kwargs):
        raise OSError("no fonts")

    monkeypatch.setattr(pdf, "summary_report_pdf", broken)
    report = SummaryReport.objects.get(proposal=published_three[0])
    with pytest.raises(RenderError):
        summary_report_render(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == SummaryReport.Status.FAILED
    assert report.error == "OSError: no fonts"


def test_summary_report_without_weasyprint_libraries_records_the_reason(published_three, monkeypatch):
    import sys

    from calls.evaluation.services import RenderError, summary_report_render
    from eurohpc.pdf import MISSING_LIBRARIES

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as when Pango is missing: the import fails
    report = SummaryReport.objects.get(proposal=published_three[0])
    with pytest.raises(RenderError):
        summary_report_render(report_id=report.pk)
    report.refresh_from_db()
    assert (report.status, report.error) == (SummaryReport.Status.FAILED, MISSING_LIBRARIES)


def test_pdf_summary_report_renders_with_weasyprint(published_three):
    from calls.evaluation.pdf import summary_report_html, summary_report_pdf

    report = SummaryReport.objects.select_related("proposal", "decision").get(proposal=published_three[0])
    html = summary_report_html(report=report)
    assert "Selected for funding" in html
    assert "15 / 15" in html
    pdf = summary_report_pdf(report=report)
    assert pdf.startswith(b"%PDF-")
    from tests.grants.test_letters import assert_tagged_for_accessibility

    assert_tagged_for_accessibility(pdf, f"Evaluation Summary Report {report.proposal.reference}")
    import io

    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1  # no page holding only the closing notes


def test_summary_report_is_dated_the_day_its_decision_was_published(published_three):
    from datetime import timedelta

    from calls.evaluation.pdf import summary_report_context, summary_report_html

    report = SummaryReport.objects.select_related("proposal", "decision").get(proposal=published_three[0])
    # Rendered days later (a worker's backlog): the report still carries the publication day.
    SummaryReport.objects.filter(pk=report.pk).update(requested_at=report.requested_at - timedelta(days=3))
    report.refresh_from_db()
    context = summary_report_context(report=report)
    assert context["issued_on"] == timezone.localdate(report.requested_at)
    assert context["review_deadline"] == context["issued_on"] + timedelta(days=30)
    html = summary_report_html(report=report)
    assert f"Rank {report.decision.rank} of 3 in the ranking of the cut-off." in html
    assert f"that is by {context['review_deadline']:%-d %B %Y}" in " ".join(html.split())


def test_call_available_amount_is_bounded_by_the_funding_envelope(call, finance_officer):
    """An envelope funding the call caps the funding line below the call's indicative budget."""
    from decimal import Decimal

    from calls.evaluation.selectors import call_available_amount
    from grants.services import call_funding_set, envelope_create

    call.indicative_budget = Decimal("1000000.00")
    call.save(update_fields=["indicative_budget"])
    envelope = envelope_create(
        code="AIF-TEST",
        name="Test envelope",
        programme="digital_europe",
        amount=Decimal("250000.00"),
        period_start=2026,
        period_end=2026,
        actor=finance_officer,
    )
    assert call_available_amount(call) == Decimal("1000000.00")
    call_funding_set(call=call, envelope=envelope, actor=finance_officer)
    assert call_available_amount(call) == Decimal("250000.00")


def test_call_funded_by_an_envelope_alone_is_budgeted(call, finance_officer):
    """A call without an indicative budget but funded by an envelope has a funding line to draw."""
    from calls.evaluation.selectors import call_funding_position
    from grants.services import call_funding_set, envelope_create

    call.indicative_budget = None
    call.save(update_fields=["indicative_budget"])
    assert call_funding_position(call) == (Decimal("0"), False)
    envelope = envelope_create(
        code="AIF-ONLY", name="Only envelope", programme="digital_europe", amount=Decimal("300000.00"),
        period_start=2026, period_end=2026, actor=finance_officer,
    )  # fmt: skip
    call_funding_set(call=call, envelope=envelope, actor=finance_officer)
    assert call_funding_position(call) == (Decimal("300000.00"), True)


@pytest.mark.parametrize("rows", [1, 3])
def test_ranking_selector_with_envelope_stays_within_five_queries(
    call, applicant, programme_officer, finance_officer, freezer, experts, django_assert_num_queries, rows
):
    from grants.services import call_funding_set, envelope_create

    envelope = envelope_create(
        code="AIF-RANK",
        name="Ranking envelope",
        programme="digital_europe",
        amount=Decimal("1000000000.00"),
        period_start=2026,
        period_end=2026,
        actor=finance_officer,
    )
    call_funding_set(call=call, envelope=envelope, actor=finance_officer)
    p = _batch(call, applicant, programme_officer, freezer, ["1000.00"] * rows)
    for proposal in p:
        evaluate(proposal, experts, programme_officer, "4", "4", "4")
    cut_off = type(p[0].cut_off).objects.select_related("call").get(pk=p[0].cut_off_id)
    # proposals; the call's money (selected, uncommitted, envelope); the envelopes and their ledger sums; publication
    with django_assert_num_queries(5):
        cut_off_ranking(cut_off=cut_off)
