"""The technical assessment of hosting proposals: assignment, declaration, the structured assessment, the
selection gate (decision, confirmation, promotion), the ranking's technical state and the recorded history."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.evaluation.selectors import Funding, Technical, cut_off_ranking, technical_queue, technical_queue_rows
from calls.evaluation.services import (
    decision_record,
    decisions_confirm,
    decisions_publish,
    feasibility_assign,
    feasibility_declare,
    feasibility_record_history,
    feasibility_save,
    reserve_promote,
)
from calls.models import Decision, FeasibilityAssessment, FeasibilityItem, Proposal
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.models import AuditEvent, Role
from tests.calls.evaluation_factories import (
    assess_technical,
    batch_of,
    evaluate,
    feasibility_answers,
    technical_expert,
)
from tests.conftest import requires_postgresql
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MISSING = (
    "Proposal EUROHPC-2026-CEI-AI-03-0001 cannot be selected: its technical assessment (site readiness, procurement, "
    "TCO, energy efficiency, access policy) is not submitted yet."
)


@pytest.fixture
def expert():
    return technical_expert()


@pytest.fixture
def scored(proposal, experts, programme_officer):
    """An eligible hosting proposal evaluated (consensus recorded) without its technical assessment."""
    return evaluate(proposal, experts, programme_officer, "4", "4", "4", technical=False)


# --- assignment ---------------------------------------------------------------------------------------------


def test_feasibility_assign_sets_the_review_deadline_and_notifies_the_expert(proposal, expert, programme_officer):
    assessment = feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    assert assessment.declaration == "pending" and assessment.status == "draft"
    assert assessment.deadline == proposal.cut_off.closes_at + timedelta(days=21)
    event = AuditEvent.objects.filter(verb="evaluation.technical_assign").get()
    assert event.changes["expert"] == expert.username


def test_feasibility_assign_refuses_a_user_without_the_role(proposal, evaluator, programme_officer):
    with pytest.raises(RuleViolation) as refused:
        feasibility_assign(proposal=proposal, expert=evaluator, actor=programme_officer)
    assert refused.value.code == "not_technical_expert"
    assert refused.value.message == f"{evaluator.display_name} is not a technical expert."


def test_feasibility_assign_refuses_an_actor_who_is_not_an_officer(proposal, expert, evaluator):
    with pytest.raises(NotPermitted, match="^Only programme officers assign technical experts.$"):
        feasibility_assign(proposal=proposal, expert=expert, actor=evaluator)


def test_feasibility_assign_refuses_an_expert_of_the_applicant(proposal, programme_officer):
    insider = UserFactory(username="insider", organisation=proposal.organisation, roles=[Role.TECHNICAL_EXPERT])
    with pytest.raises(RuleViolation) as refused:
        feasibility_assign(proposal=proposal, expert=insider, actor=programme_officer)
    assert refused.value.code == "conflict_of_interest"
    assert refused.value.message == (
        f"Conflict of interest: {insider.display_name} works for {proposal.organisation.short_name}, the applicant "
        f"of {proposal}."
    )


def test_feasibility_assign_refuses_a_second_assessment_in_force(proposal, expert, programme_officer):
    feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    other = UserFactory(username="expert-b", roles=[Role.TECHNICAL_EXPERT])
    with pytest.raises(StateConflict) as refused:
        feasibility_assign(proposal=proposal, expert=other, actor=programme_officer)
    assert refused.value.code == "assessment_in_force"
    assert refused.value.message == (
        f"Proposal {proposal} already has its technical expert, {expert.display_name}: another one is assigned only "
        f"after a declared conflict of interest."
    )


def test_feasibility_assign_allows_another_expert_after_a_recusal(proposal, expert, programme_officer):
    first = feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    feasibility_declare(assessment=first, conflict=True, reason="Former employee of the applicant.", actor=expert)
    other = UserFactory(username="expert-b", roles=[Role.TECHNICAL_EXPERT])
    second = feasibility_assign(proposal=proposal, expert=other, actor=programme_officer)
    assert second.expert == other
    with pytest.raises(StateConflict, match="was already assigned the technical assessment"):
        feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)


def test_feasibility_assign_refuses_a_decided_proposal(scored, expert, programme_officer):
    decision_record(proposal=scored, outcome="rejected", actor=programme_officer)
    with pytest.raises(StateConflict) as refused:
        feasibility_assign(proposal=scored, expert=expert, actor=programme_officer)
    assert refused.value.code == "not_in_evaluation"
    assert refused.value.message == (
        f"Proposal {scored} is rejected: technical experts are assigned while it is under evaluation or on the "
        f"reserve list."
    )


# --- declaration --------------------------------------------------------------------------------------------


def test_feasibility_declare_conflict_needs_a_reason(proposal, expert, programme_officer):
    assessment = feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    with pytest.raises(RuleViolation) as refused:
        feasibility_declare(assessment=assessment, conflict=True, reason=" ", actor=expert)
    assert refused.value.errors == {"reason": ["Describe the conflict of interest."]}


def test_feasibility_declare_is_final(proposal, expert, programme_officer):
    assessment = feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    feasibility_declare(assessment=assessment, conflict=False, actor=expert)
    with pytest.raises(StateConflict, match="a declaration is final"):
        feasibility_declare(assessment=assessment, conflict=True, reason="Changed my mind.", actor=expert)


def test_feasibility_declare_by_another_user_is_refused(proposal, expert, programme_officer):
    assessment = feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    with pytest.raises(NotPermitted, match="^Only the assigned technical expert declares a conflict of interest.$"):
        feasibility_declare(assessment=assessment, conflict=False, actor=programme_officer)


def test_feasibility_declare_conflict_tells_the_officer(proposal, expert, programme_officer):
    from eurohpc.models import Notification

    assessment = feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    feasibility_declare(assessment=assessment, conflict=True, reason="Former employee.", actor=expert)
    subjects = list(Notification.objects.filter(recipient=programme_officer).values_list("subject", flat=True))
    assert f"Conflict of interest: proposal {proposal.reference} needs another technical expert" in subjects


# --- the assessment -----------------------------------------------------------------------------------------


@pytest.fixture
def declared(proposal, expert, programme_officer):
    assessment = feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    return feasibility_declare(assessment=assessment, conflict=False, actor=expert)


def test_feasibility_save_before_the_declaration_is_refused(proposal, expert, programme_officer):
    assessment = feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)
    with pytest.raises(NotPermitted) as refused:
        feasibility_save(assessment=assessment, items={}, comments={}, actor=expert)
    assert refused.value.message == (
        f"Declare whether you have a conflict of interest with proposal {proposal} before assessing it."
    )


def test_feasibility_save_keeps_a_partial_draft(declared, expert):
    saved = feasibility_save(
        assessment=declared, items={"site_power": "pass"}, comments={"tco": "Split still unclear."}, actor=expert
    )
    assert saved.draft == {"items": {"site_power": "pass"}, "comments": {"tco": "Split still unclear."}}
    assert saved.status == "draft" and saved.passed is None
    assert not FeasibilityItem.objects.exists()


def test_feasibility_submit_incomplete_names_every_missing_item(declared, expert):
    with pytest.raises(RuleViolation) as refused:
        feasibility_save(
            assessment=declared, items={"site_power": "pass", "tco": "maybe"}, comments={"site_power": "Fine."},
            summary="", actor=expert, submit=True,
        )  # fmt: skip
    errors = refused.value.errors
    assert refused.value.code == "feasibility_invalid"
    assert errors["items.tco"] == ["Total cost of ownership and its split: the verdict is pass or fail."]
    assert errors["items.site_cooling"] == ["Cooling: choose pass or fail."]
    assert errors["comments.access_policy"] == ["Access policy: a comment is required."]
    assert errors["summary"] == ["Summarise the assessment."]
    assert "comments.site_power" not in errors
    # Six verdicts (one invalid, five missing), six comments and the summary.
    assert refused.value.message == "The technical assessment cannot be accepted: 13 problem(s)."


def test_feasibility_submit_refuses_an_unknown_item(declared, expert):
    answers = feasibility_answers()
    answers["items"]["cafeteria"] = "pass"
    with pytest.raises(RuleViolation) as refused:
        feasibility_save(assessment=declared, **answers, summary="Fine.", actor=expert, submit=True)
    assert refused.value.errors["items.cafeteria"][0].startswith("Unknown item 'cafeteria'; the items are site_power")


def test_feasibility_submit_records_the_items_and_passes(declared, expert):
    submitted = feasibility_save(
        assessment=declared, **feasibility_answers(), summary="Feasible.", actor=expert, submit=True
    )
    assert submitted.status == "submitted" and submitted.passed is True and submitted.submitted_at is not None
    assert FeasibilityItem.objects.filter(assessment=submitted, passed=True).count() == 7


def test_feasibility_submit_with_a_failed_item_fails(declared, expert):
    submitted = feasibility_save(
        assessment=declared, **feasibility_answers(failing=("tco",)), summary="TCO unclear.", actor=expert,
        submit=True,
    )  # fmt: skip
    assert submitted.passed is False
    assert list(FeasibilityItem.objects.filter(passed=False).values_list("item", flat=True)) == ["tco"]


def test_feasibility_save_after_submission_is_refused(declared, expert):
    feasibility_save(assessment=declared, **feasibility_answers(), summary="Feasible.", actor=expert, submit=True)
    with pytest.raises(StateConflict) as refused:
        feasibility_save(assessment=declared, **feasibility_answers(), summary="Again.", actor=expert)
    assert refused.value.code == "assessment_locked"
    assert "a submitted assessment is locked." in refused.value.message


# --- the selection gate -------------------------------------------------------------------------------------


def test_selection_without_technical_assessment_is_refused(scored, programme_officer):
    with pytest.raises(StateConflict) as refused:
        decision_record(proposal=scored, outcome="selected", actor=programme_officer)
    assert refused.value.status_code == 409
    assert refused.value.code == "technical_assessment_missing"
    assert refused.value.message == MISSING
    assert Proposal.objects.get(pk=scored.pk).status == Proposal.Status.EVALUATION


def test_selection_with_a_draft_assessment_is_refused(scored, programme_officer):
    assess_technical(scored, programme_officer, submit=False)
    with pytest.raises(StateConflict, match="is not submitted yet"):
        decision_record(proposal=scored, outcome="selected", actor=programme_officer)


def test_selection_with_a_failed_assessment_names_the_failed_items(scored, programme_officer):
    assess_technical(scored, programme_officer, failing=("site_cooling", "tco"))
    with pytest.raises(StateConflict) as refused:
        decision_record(proposal=scored, outcome="selected", actor=programme_officer)
    assert refused.value.code == "technical_assessment_failed"
    assert refused.value.message == (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 cannot be selected: its technical assessment failed on Cooling, "
        "Total cost of ownership and its split; a proposal whose technical assessment failed can only be rejected."
    )


def test_selection_with_a_passed_assessment_is_recorded(scored, programme_officer):
    assess_technical(scored, programme_officer)
    decision = decision_record(proposal=scored, outcome="selected", actor=programme_officer)
    assert decision.outcome == Decision.Outcome.SELECTED


def test_reserve_and_rejection_need_no_technical_assessment(scored, programme_officer):
    assert decision_record(proposal=scored, outcome="reserve", actor=programme_officer).outcome == "reserve"
    assert decision_record(proposal=scored, outcome="rejected", actor=programme_officer).outcome == "rejected"


def test_reserve_with_a_failed_assessment_is_refused_like_the_confirmation(scored, programme_officer):
    assess_technical(scored, programme_officer, failing=("site_cooling", "tco"))
    with pytest.raises(StateConflict) as refused:
        decision_record(proposal=scored, outcome="reserve", actor=programme_officer)
    assert refused.value.status_code == 409
    assert refused.value.code == "technical_assessment_failed"
    assert refused.value.message == (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 cannot be put on the reserve list: its technical assessment failed on "
        "Cooling, Total cost of ownership and its split; a proposal whose technical assessment failed can only be "
        "rejected."
    )
    assert Proposal.objects.get(pk=scored.pk).status == Proposal.Status.EVALUATION
    assert not Decision.objects.exists()
    assert decision_record(proposal=scored, outcome="rejected", actor=programme_officer).outcome == "rejected"


def test_reserve_is_refused_again_once_the_assessment_of_a_reserve_proposal_failed(scored, programme_officer):
    decision_record(proposal=scored, outcome="reserve", actor=programme_officer)
    assess_technical(Proposal.objects.get(pk=scored.pk), programme_officer, failing=("energy_efficiency",))
    with pytest.raises(StateConflict) as refused:
        decision_record(proposal=scored, outcome="reserve", actor=programme_officer)
    assert refused.value.code == "technical_assessment_failed"
    assert Decision.objects.count() == 1


def test_decisions_confirm_names_every_proposal_selected_without_assessment(
    call, applicant, programme_officer, freezer, experts
):
    p = batch_of(call, applicant, programme_officer, freezer, ["10000000.00", "10000000.00", "10000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5", technical=False)
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "4", "4", "4", technical=False)
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    assert [r.technical for r in ranking.rows] == [Technical.MISSING, Technical.PASSED, Technical.MISSING]
    assert ranking.can_confirm is False
    with pytest.raises(StateConflict) as refused:
        decisions_confirm(cut_off=p[0].cut_off, actor=programme_officer)
    assert refused.value.code == "technical_assessment_missing"
    assert refused.value.message == (
        f"Proposal {p[0]} cannot be selected: its technical assessment (site readiness, procurement, TCO, energy "
        f"efficiency, access policy) is not submitted yet. Proposal {p[2]} cannot be selected: its technical "
        f"assessment (site readiness, procurement, TCO, energy efficiency, access policy) is not submitted yet."
    )
    assert not Decision.objects.exists()


def test_a_failed_assessment_is_never_above_the_funding_line(call, applicant, programme_officer, freezer, experts):
    p = batch_of(call, applicant, programme_officer, freezer, ["10000000.00", "10000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5", technical=False)
    assess_technical(p[0], programme_officer, failing=("energy_efficiency",))
    evaluate(p[1], experts, programme_officer, "4", "4", "4")
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    assert [(r.rank, r.technical, r.funding) for r in ranking.rows] == [
        (1, Technical.FAILED, Funding.TECHNICAL_FAIL),
        (2, Technical.PASSED, Funding.ABOVE_LINE),
    ]
    assert ranking.rows[0].funding_label == "Failed technical assessment"
    decisions_confirm(cut_off=p[0].cut_off, actor=programme_officer)
    statuses = dict(Proposal.objects.filter(pk__in=[x.pk for x in p]).values_list("pk", "status"))
    assert statuses == {p[0].pk: "rejected", p[1].pk: "selected"}


def test_reserve_promote_without_technical_assessment_is_refused(call, applicant, programme_officer, freezer, experts):
    p = batch_of(call, applicant, programme_officer, freezer, ["60000000.00", "30000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4", "4", "4", technical=False)
    decision_record(proposal=p[0], outcome="selected", actor=programme_officer)
    decision_record(proposal=p[1], outcome="reserve", actor=programme_officer)
    decisions_publish(cut_off=p[0].cut_off, actor=programme_officer)
    with pytest.raises(StateConflict) as refused:
        reserve_promote(proposal=p[1], actor=programme_officer)
    assert refused.value.code == "technical_assessment_missing"
    assert refused.value.message == (
        f"Proposal {p[1]} cannot be selected: its technical assessment (site readiness, procurement, TCO, energy "
        f"efficiency, access policy) is not submitted yet."
    )
    # A reserve proposal is still assessed, then promoted.
    assess_technical(Proposal.objects.get(pk=p[1].pk), programme_officer)
    assert reserve_promote(proposal=p[1], actor=programme_officer).kind == Decision.Kind.PROMOTION


def test_ranking_query_count_is_the_same_for_one_and_several_hosting_proposals(
    call, applicant, programme_officer, freezer, experts
):
    def count(cut_off) -> int:
        with CaptureQueriesContext(connection) as captured:
            cut_off_ranking(cut_off=cut_off)
        return len(captured)

    one = batch_of(call, applicant, programme_officer, freezer, ["10000000.00"])
    evaluate(one[0], experts, programme_officer, "4", "4", "4")
    single = count(one[0].cut_off)
    more = batch_of(call, applicant, programme_officer, freezer, ["10000000.00", "10000000.00"])
    for proposal in more:
        evaluate(proposal, experts, programme_officer, "4", "4", "4")
    assert count(more[0].cut_off) == single


# --- the queue ----------------------------------------------------------------------------------------------


def test_technical_queue_rows_query_count_is_constant(call, applicant, programme_officer, freezer, expert):
    def count() -> tuple[int, list]:
        with CaptureQueriesContext(connection) as captured:
            rows = technical_queue_rows(proposals=list(technical_queue()[:50]))
        return len(captured), rows

    p = batch_of(call, applicant, programme_officer, freezer, ["10000000.00"])
    feasibility_assign(proposal=p[0], expert=expert, actor=programme_officer)
    single, rows = count()
    assert [(r.proposal.pk, r.state, r.assignable) for r in rows] == [(p[0].pk, Technical.MISSING, False)]
    freezer(timezone.now() - timedelta(days=1))
    more = batch_of(call, applicant, programme_officer, freezer, ["1.00", "1.00", "1.00"])
    several, rows = count()
    assert len(rows) == 4 and several == single
    assert [r.candidates for r in rows if r.proposal.pk == more[0].pk] == [[expert]]


# --- history ------------------------------------------------------------------------------------------------


def test_feasibility_record_history_records_a_passed_assessment(scored, programme_officer, expert):
    assess_past = timezone.now() - timedelta(days=1)
    decision_record(proposal=scored, outcome="reserve", actor=programme_officer)
    recorded = feasibility_record_history(
        proposal=scored, expert=expert, **feasibility_answers(), summary="Feasible.",
        assigned_at=assess_past - timedelta(days=10), submitted_at=assess_past, actor=programme_officer,
    )  # fmt: skip
    assert recorded.status == "submitted" and recorded.passed is True and recorded.submitted_at == assess_past
    assert FeasibilityAssessment.objects.get().declaration == "no_conflict"
    with pytest.raises(StateConflict, match="is already recorded"):
        feasibility_record_history(
            proposal=scored, expert=expert, **feasibility_answers(), summary="Again.",
            assigned_at=assess_past - timedelta(days=10), submitted_at=assess_past, actor=programme_officer,
        )  # fmt: skip


# --- locks --------------------------------------------------------------------------------------------------


@requires_postgresql
def test_technical_services_lock_the_proposal_then_the_audit_head(proposal, expert, programme_officer):
    from tests.eurohpc.test_lock_order import assert_in_order, locked_tables

    steps = [
        lambda: feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer),
        lambda: feasibility_declare(assessment=FeasibilityAssessment.objects.get(), conflict=False, actor=expert),
        lambda: feasibility_save(
            assessment=FeasibilityAssessment.objects.get(),
            **feasibility_answers(),
            summary="Feasible.",
            actor=expert,
            submit=True,
        ),
    ]
    for step in steps:
        with CaptureQueriesContext(connection) as captured:
            step()
        tables = locked_tables(captured)
        assert tables[0] == "calls_proposal"
        assert_in_order(tables)
