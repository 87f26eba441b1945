"""Evaluation reviews (redress): the request's window, admissibility, the committee, its opinion, the re-evaluation
and its conclusion, with every refusal's status and message."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.evaluation.selectors import cut_off_ranking, redress_list, redress_window
from calls.evaluation.selectors.redress import redress_conclusion_refusal
from calls.evaluation.services import (
    assignment_create,
    decision_record,
    decisions_confirm,
    decisions_publish,
    feasibility_assign,
    feasibility_reassign,
    redress_admissibility_record,
    redress_committee_appoint,
    redress_committee_declare,
    redress_conclude,
    redress_opinion_record,
    redress_request_submit,
    summary_report_retry,
)
from calls.models import Assignment, Decision, Proposal, RedressRequest, SummaryReport
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import AuditEvent, Notification, Role, User
from tests.calls.evaluation_factories import batch_of, evaluate, technical_expert
from tests.calls.redress_factories import (
    GROUNDS,
    admit,
    declare_all,
    make_committee,
    publish_three,
    published_at,
    re_evaluate,
    send_to_re_evaluation,
    submit,
)
from tests.conftest import requires_postgresql
from tests.eurohpc.test_lock_order import assert_in_order, locked_tables
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(call, applicant, programme_officer, freezer, experts):
    return publish_three(call, applicant, programme_officer, freezer, experts)


@pytest.fixture
def committee(db):
    return make_committee()


# --- the request --------------------------------------------------------------------------------------------


def test_redress_request_submit_records_reference_deadline_and_receipt(published, applicant, freezer):
    request = submit(published[2], applicant, freezer, days=3)
    assert request.reference == "RED-EUROHPC-2026-CEI-AI-03-0003-1"
    assert request.status == RedressRequest.Status.SUBMITTED
    assert request.decision.outcome == Decision.Outcome.REJECTED
    assert request.deadline == published_at(published[2]) + timedelta(days=30)
    event = AuditEvent.objects.get(verb="redress.submit")
    assert event.target_repr == request.reference and event.changes["outcome"] == "rejected"
    receipt = Notification.objects.get(recipient=applicant, subject=f"Evaluation review requested: {request.reference}")
    assert f"Deadline of the request: {local(request.deadline)}" in receipt.body


def test_redress_window_is_open_for_reserve_until_the_deadline(published, freezer):
    window = redress_window(proposal=published[1], now=published_at(published[1]) + timedelta(days=30))
    assert window.is_open and window.decision.outcome == Decision.Outcome.RESERVE
    assert window.notified_at == published_at(published[1])


def test_redress_request_submit_refused_after_the_deadline(published, applicant, freezer):
    notified = published_at(published[2])
    freezer(notified + timedelta(days=30, seconds=1))
    with pytest.raises(StateConflict) as refused:
        redress_request_submit(proposal=published[2], grounds=GROUNDS, actor=applicant)
    assert refused.value.status_code == 409 and refused.value.code == "redress_late"
    assert refused.value.message == (
        f"The outcome of proposal EUROHPC-2026-CEI-AI-03-0003 was notified on {local(notified)}: an evaluation "
        f"review could be requested until {local(notified + timedelta(days=30))}."
    )


def test_redress_request_submit_refused_for_a_second_request_on_the_same_outcome(published, applicant, freezer):
    first = submit(published[2], applicant, freezer)
    with pytest.raises(StateConflict) as refused:
        redress_request_submit(proposal=published[2], grounds="Another shortcoming.", actor=applicant)
    assert refused.value.status_code == 409 and refused.value.code == "redress_exists"
    assert refused.value.message == (
        f"An evaluation review of this outcome of proposal EUROHPC-2026-CEI-AI-03-0003 was already requested "
        f"({first.reference}): one request per proposal and outcome."
    )


def test_redress_request_submit_refused_for_a_selection(published, applicant, freezer):
    freezer(published_at(published[0]) + timedelta(days=1))
    with pytest.raises(StateConflict) as refused:
        redress_request_submit(proposal=published[0], grounds=GROUNDS, actor=applicant)
    assert refused.value.code == "nothing_to_contest"
    assert refused.value.message == (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 is selected: an evaluation review contests a reserve-list or "
        "rejection outcome."
    )


def test_redress_request_submit_refused_before_publication(call, applicant, programme_officer, freezer, experts):
    from tests.calls.evaluation_factories import batch_of, evaluate

    proposal = evaluate(batch_of(call, applicant, programme_officer, freezer, ["1.00"])[0], experts,
                        programme_officer, "2", "2", "2")  # fmt: skip
    decision_record(proposal=proposal, outcome="rejected", actor=programme_officer)
    with pytest.raises(StateConflict) as refused:
        redress_request_submit(proposal=proposal, grounds=GROUNDS, actor=applicant)
    assert refused.value.code == "not_notified"


def test_redress_request_submit_refused_for_another_organisation(published, other_applicant, freezer):
    freezer(published_at(published[2]) + timedelta(days=1))
    with pytest.raises(NotPermitted) as refused:
        redress_request_submit(proposal=published[2], grounds=GROUNDS, actor=other_applicant)
    assert refused.value.status_code == 403
    assert refused.value.message == (
        "Only the applicants of proposal EUROHPC-2026-CEI-AI-03-0003 may request an evaluation review of it."
    )


def test_redress_request_submit_refused_without_grounds(published, applicant, freezer):
    freezer(published_at(published[2]) + timedelta(days=1))
    with pytest.raises(RuleViolation) as refused:
        redress_request_submit(proposal=published[2], grounds="  ", actor=applicant)
    assert refused.value.status_code == 400
    assert refused.value.message == "State the shortcomings of the evaluation procedure you contest."


# --- admissibility and committee ----------------------------------------------------------------------------


def test_redress_admissibility_refused_without_reason_when_inadmissible(
    published, applicant, freezer, programme_officer
):
    request = submit(published[2], applicant, freezer)
    with pytest.raises(RuleViolation) as refused:
        redress_admissibility_record(request=request, admissible=False, reason="", actor=programme_officer)
    assert refused.value.status_code == 400
    assert refused.value.message == "Give the reason why the request is not admissible."


def test_redress_inadmissible_closes_the_request_and_tells_the_applicant(
    published, applicant, freezer, programme_officer
):
    request = submit(published[2], applicant, freezer)
    reason = "It contests the experts' judgement, not the procedure."
    request = redress_admissibility_record(request=request, admissible=False, reason=reason, actor=programme_officer)
    assert request.status == RedressRequest.Status.INADMISSIBLE and request.closed_at is not None
    assert Notification.objects.filter(recipient=applicant, body__contains=reason).exists()
    with pytest.raises(StateConflict) as refused:
        redress_admissibility_record(request=request, admissible=True, reason="", actor=programme_officer)
    assert refused.value.message == (
        f"The admissibility of {request.reference} was already recorded: it is not admissible."
    )


def test_redress_committee_refuses_a_member_who_evaluated_the_proposal(
    call, applicant, freezer, programme_officer, experts
):
    # An officer who is also an expert, one of the proposal's evaluators.
    both = UserFactory(
        username="dual", first_name="Dana", last_name="Dual", roles=[Role.PROGRAMME_OFFICER, Role.EVALUATOR]
    )
    published = publish_three(call, applicant, programme_officer, freezer, [both, *experts[1:]])
    request = submit(published[2], applicant, freezer)
    redress_admissibility_record(request=request, admissible=True, reason="", actor=programme_officer)
    with pytest.raises(RuleViolation) as refused:
        redress_committee_appoint(request=request, members=[both, *make_committee()], actor=programme_officer)
    assert refused.value.status_code == 400 and refused.value.code == "committee_involved"
    assert refused.value.message == (
        "Dana Dual evaluated proposal EUROHPC-2026-CEI-AI-03-0003. The committee is made of officers not involved "
        "in that evaluation."
    )


def test_redress_committee_refuses_the_officer_who_ran_the_evaluation(
    published, applicant, freezer, programme_officer, committee
):
    request = submit(published[2], applicant, freezer)
    redress_admissibility_record(request=request, admissible=True, reason="", actor=committee[0])
    with pytest.raises(RuleViolation) as refused:
        redress_committee_appoint(request=request, members=[programme_officer, committee[1]], actor=committee[0])
    assert refused.value.message.startswith(
        f"{programme_officer.display_name} assigned experts to proposal EUROHPC-2026-CEI-AI-03-0003."
    )
    with pytest.raises(RuleViolation) as refused:
        redress_committee_appoint(request=request, members=committee, actor=committee[1])
    assert refused.value.message.startswith(
        f"{committee[0].display_name} recorded the admissibility of {request.reference}."
    )


def test_redress_committee_needs_two_members(published, applicant, freezer, programme_officer, committee):
    request = submit(published[2], applicant, freezer)
    redress_admissibility_record(request=request, admissible=True, reason="", actor=programme_officer)
    with pytest.raises(RuleViolation) as refused:
        redress_committee_appoint(request=request, members=committee[:1], actor=programme_officer)
    assert refused.value.message == (
        f"A review committee has at least 2 members without a conflict of interest; {request.reference} would have 1."
    )


# --- the opinion --------------------------------------------------------------------------------------------


def test_redress_opinion_refused_to_an_officer_off_the_committee(
    published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    with pytest.raises(NotPermitted) as refused:
        redress_opinion_record(request=request, opinion="confirm", reason="Fine.", actor=programme_officer)
    assert refused.value.status_code == 403
    assert refused.value.message == (
        f"Only a member of the review committee of {request.reference} without a conflict of interest records its "
        f"opinion."
    )


def test_redress_opinion_refused_before_the_members_declaration(
    published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    with pytest.raises(StateConflict) as refused:
        redress_opinion_record(request=request, opinion="confirm", reason="Fine.", actor=committee[0])
    assert refused.value.status_code == 409 and refused.value.code == "declaration_pending"


def test_redress_opinion_refused_to_a_member_who_declared_a_conflict(
    published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    seat = request.committee.get(member=committee[0])
    redress_committee_declare(seat=seat, conflict=True, reason="Former colleague of the coordinator.",
                              actor=committee[0])  # fmt: skip
    with pytest.raises(NotPermitted):
        redress_opinion_record(request=request, opinion="confirm", reason="Fine.", actor=committee[0])


def test_redress_opinion_confirm_closes_the_request(published, applicant, freezer, programme_officer, committee):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    declare_all(request, committee)
    request = redress_opinion_record(
        request=request, opinion="confirm", reason="The procedure was followed.", actor=committee[1]
    )
    assert request.status == RedressRequest.Status.CONFIRMED and request.closed_at is not None
    assert Proposal.objects.get(pk=published[2].pk).status == Proposal.Status.REJECTED
    assert Notification.objects.filter(recipient=applicant, body__contains="confirms the evaluation").exists()


def test_redress_re_evaluation_closes_the_experts_work_and_reopens_the_evaluation(
    published, applicant, freezer, programme_officer, committee, experts
):
    request = send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    assert request.status == RedressRequest.Status.RE_EVALUATION
    assert (request.original_total, request.original_outcome) == (Decimal("6.00"), "rejected")
    assert Proposal.objects.get(pk=published[2].pk).status == Proposal.Status.EVALUATION
    closed = Assignment.objects.filter(proposal=published[2])
    assert {a.close_reason for a in closed} == {Assignment.CloseReason.RE_EVALUATION}
    with pytest.raises(StateConflict) as refused:
        assignment_create(proposal=published[2], evaluator=experts[0], actor=programme_officer)
    assert refused.value.message == (
        f"{experts[0].display_name} evaluated proposal EUROHPC-2026-CEI-AI-03-0003 before: a re-evaluation after an "
        f"evaluation review takes new experts."
    )


def test_decision_record_refused_during_a_re_evaluation(published, applicant, freezer, programme_officer, committee):
    request = send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    with pytest.raises(StateConflict) as refused:
        decision_record(proposal=published[2], outcome="rejected", actor=programme_officer)
    assert refused.value.code == "redress_re_evaluation"
    assert refused.value.message == (
        f"Proposal EUROHPC-2026-CEI-AI-03-0003 is being re-evaluated after the evaluation review {request.reference}: "
        f"its outcome is recorded by concluding the evaluation review."
    )


def test_summary_report_retry_refused_during_a_re_evaluation(
    published, applicant, freezer, programme_officer, committee
):
    send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    SummaryReport.objects.filter(proposal=published[2]).update(status=SummaryReport.Status.FAILED, error="x")
    with pytest.raises(StateConflict) as refused:
        summary_report_retry(proposal=published[2], actor=programme_officer)
    assert refused.value.code == "re_evaluation"
    assert refused.value.message == (
        "Proposal EUROHPC-2026-CEI-AI-03-0003 is being re-evaluated after an evaluation review: its summary report "
        "is rendered again when the review is concluded."
    )
    assert SummaryReport.objects.get(proposal=published[2]).status == SummaryReport.Status.FAILED


# --- the conclusion -----------------------------------------------------------------------------------------


def test_redress_conclude_refused_before_the_new_consensus(published, applicant, freezer, programme_officer, committee):
    request = send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    with pytest.raises(StateConflict) as refused:
        redress_conclude(request=request, actor=programme_officer)
    assert refused.value.status_code == 409
    assert refused.value.message == (
        f"Record the new consensus on proposal EUROHPC-2026-CEI-AI-03-0003 (from the new experts' reviews) before "
        f"concluding {request.reference}."
    )


def test_redress_conclude_selects_a_proposal_now_above_the_line_that_fits(
    published, applicant, freezer, programme_officer, committee
):
    request = send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    freezer(published_at(published[2]) + timedelta(days=20))
    re_evaluate(published[2], programme_officer, "5", "5", "5")
    decision = redress_conclude(request=request, actor=programme_officer)
    assert (decision.kind, decision.outcome, decision.total) == ("redress", "selected", Decimal("15.00"))
    request = RedressRequest.objects.get(pk=request.pk)
    assert request.status == RedressRequest.Status.RE_EVALUATED and request.outcome_changed is True
    assert request.outcome_decision_id == decision.pk
    assert Proposal.objects.get(pk=published[2].pk).status == Proposal.Status.SELECTED
    # The others notified before keep their outcome.
    statuses = [Proposal.objects.get(pk=p.pk).status for p in published[:2]]
    assert statuses == [Proposal.Status.SELECTED, Proposal.Status.RESERVE]
    event = AuditEvent.objects.get(verb="redress.conclude")
    assert event.changes["before"]["outcome"] == "rejected" and event.changes["after"]["outcome"] == "selected"
    assert event.changes["after"]["rank"] == decision.rank
    assert SummaryReport.objects.get(proposal=published[2]).decision_id == decision.pk
    assert Notification.objects.filter(recipient=applicant, body__contains="Outcome now: selected (changed)").exists()


def test_redress_conclude_refuses_a_selection_without_a_technical_pass(
    call, applicant, freezer, programme_officer, experts, committee
):
    # Rejected at the first evaluation, never assessed technically: the re-evaluation would now select it.
    proposal = batch_of(call, applicant, programme_officer, freezer, ["30000000.00"])[0]
    evaluate(proposal, experts, programme_officer, "2", "2", "2", technical=False)
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    request = send_to_re_evaluation(submit(proposal, applicant, freezer), programme_officer, committee)
    re_evaluate(proposal, programme_officer, "5", "5", "5")
    with pytest.raises(StateConflict) as refused:
        redress_conclude(request=request, actor=programme_officer)
    assert refused.value.code == "technical_assessment_missing"
    assert refused.value.message == (
        f"Proposal {proposal} cannot be selected: its technical assessment (site readiness, procurement, TCO, "
        f"energy efficiency, access policy) is not submitted yet. Concluding {request.reference} would "
        f"select it: the technical assessment comes first."
    )
    assert RedressRequest.objects.get(pk=request.pk).status == RedressRequest.Status.RE_EVALUATION


def test_redress_conclude_puts_on_the_reserve_list_what_does_not_fit(
    published, applicant, freezer, programme_officer, committee
):
    request = send_to_re_evaluation(submit(published[1], applicant, freezer), programme_officer, committee)
    re_evaluate(published[1], programme_officer, "5", "5", "5")
    decision = redress_conclude(request=request, actor=programme_officer)
    assert decision.outcome == "reserve"  # 50M does not fit the 40M left; the 60M selection stays
    assert RedressRequest.objects.get(pk=request.pk).outcome_changed is False
    ranking = cut_off_ranking(cut_off=published[1].cut_off)
    assert ranking.available == Decimal("40000000.00")


def test_redress_request_refused_again_after_its_outcome(published, applicant, freezer, programme_officer, committee):
    request = send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    re_evaluate(published[2], programme_officer, "2.5", "2.5", "2.5")
    redress_conclude(request=request, actor=programme_officer)
    with pytest.raises(StateConflict) as refused:
        redress_request_submit(proposal=published[2], grounds=GROUNDS, actor=applicant)
    assert refused.value.code == "redress_final"


def test_redress_list_puts_overdue_steps_first(published, applicant, freezer, programme_officer, committee):
    late = submit(published[2], applicant, freezer, days=1)
    recent = submit(published[1], applicant, freezer, days=20)
    assert [r.pk for r in redress_list()] == [late.pk, recent.pk]
    assert [r.pk for r in redress_list(status="submitted", call_id=published[1].call_id)] == [late.pk, recent.pk]
    assert list(redress_list(status="confirmed")) == []


# --- lock order (PostgreSQL) --------------------------------------------------------------------------------


@requires_postgresql
def test_redress_services_lock_in_the_products_order(published, applicant, freezer, programme_officer, committee):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    declare_all(request, committee)
    with CaptureQueriesContext(connection) as captured:
        redress_opinion_record(request=request, opinion="re_evaluate", reason="Overlooked.", actor=committee[0])
    assert_in_order(locked_tables(captured))
    re_evaluate(published[2], programme_officer, "5", "5", "5")
    with CaptureQueriesContext(connection) as captured:
        redress_conclude(request=request, actor=programme_officer)
    tables = locked_tables(captured)
    assert_in_order(tables)
    assert tables[:4] == ["calls_call", "calls_cutoff", "calls_proposal", "calls_redressrequest"]


# --- review findings: the committee's size at its opinion, the technical assessment's officers, the office told --


def test_redress_opinion_refused_when_the_committee_falls_below_its_minimum(
    published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    seats = {s.member_id: s for s in request.committee.all()}
    redress_committee_declare(seat=seats[committee[0].pk], conflict=False, reason="", actor=committee[0])
    redress_committee_declare(
        seat=seats[committee[1].pk], conflict=True, reason="I advised the applicant in 2025.", actor=committee[1]
    )
    with pytest.raises(StateConflict) as refused:
        redress_opinion_record(request=request, opinion="confirm", reason="Fine.", actor=committee[0])
    assert refused.value.status_code == 409 and refused.value.code == "committee_too_small"
    assert refused.value.message == (
        f"The review committee of {request.reference} has 1 member without a conflict of interest: it gives its "
        f"opinion with at least 2. The programme office must appoint another member first."
    )
    assert RedressRequest.objects.get(pk=request.pk).status == RedressRequest.Status.IN_REVIEW
    assert not AuditEvent.objects.filter(verb="redress.opinion").exists()
    # Another member appointed (still to declare): the committee is back at its minimum.
    redress_committee_appoint(request=request, members=make_committee("extra", 1), actor=programme_officer)
    request = redress_opinion_record(request=request, opinion="confirm", reason="Fine.", actor=committee[0])
    assert request.status == RedressRequest.Status.CONFIRMED


def _rejected_with_technical_officers(call, applicant, freezer, programme_officer, experts):
    """A rejected, published hosting proposal whose technical expert one officer assigned and, once overdue,
    another reassigned; returns (proposal, assigner, reassigner)."""
    assigner = UserFactory(username="tia", first_name="Tia", last_name="Assigner", roles=[Role.PROGRAMME_OFFICER])
    reassigner = UserFactory(username="rex", first_name="Rex", last_name="Reassigner", roles=[Role.PROGRAMME_OFFICER])
    proposal = batch_of(call, applicant, programme_officer, freezer, ["30000000.00"])[0]
    evaluate(proposal, experts, programme_officer, "2", "2", "2", technical=False)
    late = feasibility_assign(proposal=proposal, expert=technical_expert(), actor=assigner)
    freezer(late.deadline + timedelta(days=1))
    spare = UserFactory(username="spare-expert", roles=[Role.TECHNICAL_EXPERT])
    feasibility_reassign(assessment=late, expert=spare, actor=reassigner, reason="No answer.")
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    return Proposal.objects.get(pk=proposal.pk), assigner, reassigner


def test_redress_committee_refuses_the_officers_of_the_technical_assessment(
    call, applicant, freezer, programme_officer, experts, committee
):
    proposal, assigner, reassigner = _rejected_with_technical_officers(
        call, applicant, freezer, programme_officer, experts
    )
    request = submit(proposal, applicant, freezer)
    redress_admissibility_record(request=request, admissible=True, reason="", actor=programme_officer)
    with pytest.raises(RuleViolation) as refused:
        redress_committee_appoint(request=request, members=[assigner, *committee], actor=programme_officer)
    assert refused.value.status_code == 400 and refused.value.code == "committee_involved"
    assert refused.value.message == (
        f"Tia Assigner assigned the technical expert of proposal {proposal}. The committee is made of officers not "
        f"involved in that evaluation."
    )
    with pytest.raises(RuleViolation) as refused:
        redress_committee_appoint(request=request, members=[reassigner, *committee], actor=programme_officer)
    assert refused.value.status_code == 400 and refused.value.code == "committee_involved"
    assert refused.value.message == (
        f"Rex Reassigner reassigned the technical assessment of proposal {proposal}. The committee is made of "
        f"officers not involved in that evaluation."
    )
    assert RedressRequest.objects.get(pk=request.pk).committee.count() == 0


def test_redress_conclusion_refusal_is_the_services_refusal(
    call, applicant, freezer, programme_officer, experts, committee
):
    proposal = batch_of(call, applicant, programme_officer, freezer, ["30000000.00"])[0]
    evaluate(proposal, experts, programme_officer, "2", "2", "2", technical=False)
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    request = send_to_re_evaluation(submit(proposal, applicant, freezer), programme_officer, committee)
    assert redress_conclusion_refusal(request).code == "redress_consensus_missing"
    re_evaluate(proposal, programme_officer, "5", "5", "5")
    request = RedressRequest.objects.get(pk=request.pk)
    expected = redress_conclusion_refusal(request)
    with pytest.raises(StateConflict) as refused:
        redress_conclude(request=request, actor=programme_officer)
    assert refused.value.status_code == 409
    assert (refused.value.code, refused.value.message) == (expected.code, expected.message)
    assert expected.code == "technical_assessment_missing"


def _office_notified(subject: str) -> list[str]:
    return sorted(Notification.objects.filter(subject=subject).values_list("recipient__username", flat=True))


def test_redress_request_and_re_evaluation_notify_the_programme_office(
    published, applicant, freezer, programme_officer, committee
):
    retired = UserFactory(username="retired", roles=[Role.PROGRAMME_OFFICER])
    User.objects.filter(pk=retired.pk).update(is_active=False)
    request = submit(published[2], applicant, freezer)
    subject = f"Evaluation review to admit: {request.reference}"
    assert _office_notified(subject) == ["chair1", "chair2", "officer"]
    assert Notification.objects.filter(subject=subject).first().body == (
        f"The applicants of proposal EUROHPC-2026-CEI-AI-03-0003 requested an evaluation review of it "
        f"({published[2].acronym}, rejected): {request.reference}, received {local(request.submitted_at)}.\n\n"
        f"Record its admissibility on the request's page (Evaluation reviews): admissible when it states "
        f"shortcomings of the evaluation procedure.\n"
    )
    request = send_to_re_evaluation(request, programme_officer, make_committee("member"))
    subject = f"Re-evaluation to organise: {request.reference}"
    # Every active programme officer but the member who gave the opinion.
    assert _office_notified(subject) == ["chair1", "chair2", "member2", "officer"]
    assert Notification.objects.filter(subject=subject).first().body == (
        f"The review committee of {request.reference} asks for proposal EUROHPC-2026-CEI-AI-03-0003 "
        f"({published[2].acronym}) to be evaluated again: its experts' work is closed (3 assignments) and its "
        f"consensus withdrawn.\n\nAssign new experts on the cut-off's assignment board; once their reviews are in, "
        f"record the new consensus and conclude the evaluation review.\n"
    )


def test_redress_confirmation_does_not_ask_the_office_for_new_experts(
    published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    declare_all(request, committee)
    redress_opinion_record(request=request, opinion="confirm", reason="Fine.", actor=committee[0])
    assert not Notification.objects.filter(subject__startswith="Re-evaluation to organise").exists()
