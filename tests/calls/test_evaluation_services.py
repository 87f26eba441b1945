"""Evaluation services: the ranking, the funding line and the decisions."""

from decimal import Decimal

import pytest

from calls.evaluation.selectors import (
    Funding,
    call_available_amount,
    cut_off_ranking,
    proposal_eu_contribution,
)
from calls.evaluation.services import (
    decision_record,
    decisions_confirm,
    decisions_publish,
)
from calls.models import Call, Proposal, SummaryReport
from eurohpc.errors import AppendOnlyError, LimitExceeded, RuleViolation, StateConflict
from eurohpc.models import AuditEvent, Notification
from tests.calls.evaluation_factories import (
    assign_all,
    batch_of,
    evaluate,
)
from tests.calls.factories import make_call

pytestmark = pytest.mark.django_db


# --- ranking and funding line ------------------------------------------------------------------------


def test_ranking_orders_by_total_then_excellence_then_impact_then_submission(
    call, applicant, programme_officer, freezer, experts
):
    p = batch_of(call, applicant, programme_officer, freezer, ["1000.00"] * 4)
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
    p = batch_of(call, applicant, programme_officer, freezer, ["1000.00"] * rows)
    for proposal in p:
        evaluate(proposal, experts, programme_officer, "4", "4", "4")
    cut_off = type(p[0].cut_off).objects.select_related("call").get(pk=p[0].cut_off_id)
    # proposals with their consensus scores, EU contribution and reviews; the call's money (selected,
    # uncommitted, envelope); publication
    with django_assert_num_queries(3):
        ranking = cut_off_ranking(cut_off=cut_off)
    assert len(ranking.rows) == rows


def test_funding_line_fits_to_the_cent(call, applicant, programme_officer, freezer, experts):
    p = batch_of(call, applicant, programme_officer, freezer, ["60000000.00", "39999999.99", "0.01"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "4", "4", "4")
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    assert [r.funding for r in ranking.rows] == [Funding.ABOVE_LINE, Funding.ABOVE_LINE, Funding.ABOVE_LINE]
    assert ranking.line_total == Decimal("100000000.00")


def test_funding_line_misses_by_one_cent(call, applicant, programme_officer, freezer, experts):
    p = batch_of(call, applicant, programme_officer, freezer, ["60000000.00", "40000000.01", "1000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "4", "4", "4")
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    # The line stops at the first proposal that does not fit: the ones below it form the reserve list.
    assert [r.funding for r in ranking.rows] == [Funding.ABOVE_LINE, Funding.RESERVE, Funding.RESERVE]


def test_funding_line_puts_failing_proposals_below_threshold(call, applicant, programme_officer, freezer, experts):
    p = batch_of(call, applicant, programme_officer, freezer, ["1000.00", "1000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "2.5")  # 12.5 but a criterion fails
    evaluate(p[1], experts, programme_officer, "3.5", "3.5", "3")  # 10: passes
    ranking = cut_off_ranking(cut_off=p[0].cut_off)
    assert [(r.proposal.pk, r.funding) for r in ranking.rows] == [
        (p[0].pk, Funding.BELOW_THRESHOLD),
        (p[1].pk, Funding.ABOVE_LINE),
    ]


def test_call_available_amount_subtracts_selected_contributions(call, applicant, programme_officer, freezer, experts):
    p = batch_of(call, applicant, programme_officer, freezer, ["30000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    assert call_available_amount(call) == Decimal("100000000.00")
    decision_record(proposal=p[0], outcome="selected", actor=programme_officer)
    assert proposal_eu_contribution(proposal=p[0]) == Decimal("30000000.00")
    assert call_available_amount(Call.objects.get(pk=call.pk)) == Decimal("70000000.00")


def test_selected_eu_contribution_is_the_amount_of_the_selection(call, applicant, programme_officer, freezer, experts):
    from calls.evaluation.selectors import selected_eu_contribution

    p = batch_of(call, applicant, programme_officer, freezer, ["30000000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    assert selected_eu_contribution(proposal=p[0]) is None
    decision_record(proposal=p[0], outcome="selected", actor=programme_officer)
    assert selected_eu_contribution(proposal=Proposal.objects.get(pk=p[0].pk)) == Decimal("30000000.00")


def test_call_without_budget_has_nothing_available(applicant, programme_officer, freezer, experts):
    unbudgeted = make_call(identifier="EUROHPC-2026-NOBUDGET")
    assert call_available_amount(unbudgeted) == Decimal("0.00")


# --- decisions ----------------------------------------------------------------------------------------


def test_decision_selected_refused_when_it_misses_by_one_cent(call, applicant, programme_officer, freezer, experts):
    p = batch_of(call, applicant, programme_officer, freezer, ["60000000.00", "40000000.01"])
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
    p = batch_of(call, applicant, programme_officer, freezer, ["60000000.00", "40000000.00"])
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
    p = batch_of(call, applicant, programme_officer, freezer, ["1000.00"] * 3)
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
    p = batch_of(call, applicant, programme_officer, freezer, ["60000000.00", "50000000.00", "1000.00"])
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "2", "2", "2")
    decisions_confirm(cut_off=p[0].cut_off, actor=programme_officer)
    statuses = dict(Proposal.objects.filter(pk__in=[x.pk for x in p]).values_list("pk", "status"))
    assert statuses == {p[0].pk: "selected", p[1].pk: "reserve", p[2].pk: "rejected"}
    assert AuditEvent.objects.filter(verb="evaluation.decision").count() == 3


def test_decisions_confirm_refused_while_a_consensus_is_missing(call, applicant, programme_officer, freezer, experts):
    p = batch_of(call, applicant, programme_officer, freezer, ["1000.00", "1000.00"])
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
