"""The Evaluation Summary Report is verifiable in public like the award letter: it prints the verification address
and its QR code, and /verify/<sha256>/ names the report without anything confidential (scores, outcome, applicant)."""

import hashlib
import io
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from calls.evaluation.pdf import summary_report_html, summary_report_pdf
from calls.evaluation.selectors import summary_report_by_hash
from calls.evaluation.services import decisions_confirm, decisions_publish
from calls.models import SummaryReport
from tests.calls.evaluation_factories import evaluate

pytestmark = pytest.mark.django_db

LUX = ZoneInfo("Europe/Luxembourg")


@pytest.fixture
def report(proposal, experts, programme_officer, django_capture_on_commit_callbacks) -> SummaryReport:
    """A published proposal (12 / 15, selected) whose report was rendered."""
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    report = SummaryReport.objects.select_related("proposal__call", "decision").get(proposal=proposal)
    assert report.status == SummaryReport.Status.READY
    return report


def test_summary_report_pdf_prints_the_verification_address_and_stays_one_page(report, settings):
    settings.GRANTS_PUBLIC_BASE_URL = "https://aif-grants.example.eu/"
    html = summary_report_html(report=report)
    assert "upload this PDF file at <strong>https://aif-grants.example.eu/verify/</strong>" in html
    assert '<svg width="' in html and "<title>https://aif-grants.example.eu/verify/</title><path" in html
    pages = PdfReader(io.BytesIO(summary_report_pdf(report=report))).pages
    # The report keeps its one page; a hosting proposal's technical assessment is an annex on a second one.
    assert len(pages) == 2
    assert pages[1].extract_text().startswith("Annex — Technical assessment")
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "https://aif-grants.example.eu/verify/" in text


def test_summary_report_by_hash_finds_a_ready_report_in_one_query(report, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = summary_report_by_hash(sha256=report.sha256.upper())
        assert (found.pk, found.proposal.reference, found.proposal.call.identifier) == (
            report.pk,
            report.proposal.reference,
            report.proposal.call.identifier,
        )


def test_summary_report_by_hash_ignores_a_report_being_rendered_again(report):
    SummaryReport.objects.filter(pk=report.pk).update(status=SummaryReport.Status.PENDING)
    assert summary_report_by_hash(sha256=report.sha256) is None


def test_verify_page_for_a_summary_report_shows_only_what_identifies_it(client, report):
    with report.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == report.sha256
    response = client.get(f"/verify/{report.sha256}/")
    body = " ".join(response.content.decode().split())
    assert response.status_code == 200
    assert "<h1>Document verification</h1>" in body
    assert "issued an Evaluation Summary Report with this fingerprint" in body
    assert "<dt>Document</dt><dd>Evaluation Summary Report</dd>" in body
    assert f"<dt>Proposal</dt><dd>{report.proposal.reference}</dd>" in body
    assert f"<dt>Call</dt><dd>{report.proposal.call.identifier}</dd>" in body
    assert f"<dt>Issued on</dt><dd>{report.requested_at.astimezone(LUX):%-d %B %Y}</dd>" in body
    assert "this is the proposal's current report" in body
    assert "Verify another document" in body
    # Nothing confidential: no score, total, outcome, rank, applicant or title.
    for secret in ("12 / 15", "Weighted total", "Score", "Selected", "selected", "Reserve", "Rank", "EUR "):
        assert secret not in body, secret
    proposal, applicant = report.proposal, report.proposal.organisation
    for secret in (proposal.acronym, proposal.title, applicant.short_name, applicant.legal_name):
        assert secret not in body, secret


def test_verify_page_for_an_unknown_hash_covers_both_documents(client, report):
    response = client.get(f"/verify/{'f' * 64}/")
    assert response.status_code == 404
    body = " ".join(response.content.decode().split())
    assert "No award letter or Evaluation Summary Report with this fingerprint was issued" in body
    assert report.proposal.reference not in body


def test_verify_by_upload_of_a_summary_report_redirects_to_its_page(client, report):
    with report.file.open("rb") as handle:
        response = client.post("/verify/", {"file": handle})
    assert response.status_code == 302
    assert response["Location"] == f"/verify/{report.sha256}/"
    assert client.get(response["Location"]).status_code == 200
