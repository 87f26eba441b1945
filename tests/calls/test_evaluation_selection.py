"""Evaluation services: withdrawal after selection, promotion from the reserve list, summary reports and the
funding envelope."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from calls.evaluation.selectors import (
    call_available_amount,
    cut_off_ranking,
)
from calls.evaluation.services import (
    decisions_confirm,
    decisions_publish,
    reserve_promote,
    selection_withdraw,
)
from calls.models import Decision, Proposal, SummaryReport
from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from tests.calls.evaluation_factories import (
    batch_of,
    evaluate,
)

pytestmark = pytest.mark.django_db


# --- withdrawal and promotion ---------------------------------------------------------------------------


@pytest.fixture
def published_three(call, applicant, programme_officer, freezer, experts):
    """Selected 60M; reserve 50M (does not fit); reserve 30M (fits the 40M left). Published."""
    p = batch_of(call, applicant, programme_officer, freezer, ["60000000.00", "50000000.00", "30000000.00"])
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

    pages = PdfReader(io.BytesIO(pdf)).pages
    # The report keeps its one page (no page holding only the closing notes); a hosting proposal's technical
    # assessment follows as an annex on a page of its own.
    assert len(pages) == 2
    assert "Decision" in pages[0].extract_text()
    assert pages[1].extract_text().startswith("Annex — Technical assessment")


def test_summary_report_is_dated_the_day_its_decision_was_published(published_three):

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
    p = batch_of(call, applicant, programme_officer, freezer, ["1000.00"] * rows)
    for proposal in p:
        evaluate(proposal, experts, programme_officer, "4", "4", "4")
    cut_off = type(p[0].cut_off).objects.select_related("call").get(pk=p[0].cut_off_id)
    # proposals; the call's money (selected, uncommitted, envelope); the envelopes and their ledger sums; publication
    with django_assert_num_queries(5):
        cut_off_ranking(cut_off=cut_off)
