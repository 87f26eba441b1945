"""The Evaluation Summary Report: HTML from templates/evaluation/summary_report.html, PDF by WeasyPrint."""

from datetime import timedelta

from django.template.loader import render_to_string
from django.utils import timezone

from calls.evaluation.scheme import scheme_from_data, tidy
from calls.evaluation.selectors.technical import technical_result
from calls.models import Consensus, ConsortiumMember, SummaryReport
from eurohpc.pdf import html_to_pdf, qr_svg, verify_address

# An applicant may ask for an evaluation review within this many days of the notification of the outcome.
REVIEW_REQUEST_DAYS = 30


def summary_report_context(*, report: SummaryReport) -> dict:
    proposal = report.proposal
    consensus = proposal.consensus
    scheme = scheme_from_data(consensus.scheme)
    recorded = {s.criterion: s for s in consensus.scores.all()}
    criteria = [
        {
            "name": c.name,
            "score": tidy(recorded[c.code].score),
            "max": tidy(c.max),
            "threshold": tidy(c.threshold),
            "weight": tidy(c.weight),
            "passed": recorded[c.code].score >= c.threshold,
            "comment": recorded[c.code].comment,
        }
        for c in scheme.criteria
    ]
    address = verify_address()
    return {
        "proposal": proposal,
        "call": proposal.call,
        "cut_off": proposal.cut_off,
        "members": ConsortiumMember.objects.filter(proposal=proposal).select_related("organisation").order_by("id"),
        "consensus": consensus,
        "scheme": scheme,
        "criteria": criteria,
        "decision": report.decision,
        "total": tidy(consensus.total),
        "max_total": tidy(scheme.max_total),
        "overall_threshold": tidy(scheme.overall_threshold),
        # A hosting proposal's technical assessment, item by item (calls/evaluation/selectors/technical.py).
        "technical": technical_result(proposal=proposal),
        "failed": scheme.failed_thresholds({code: s.score for code, s in recorded.items()}),
        # The report is dated the day its decision was made known (publication, or a later promotion), not the
        # day a worker happened to render it.
        "issued_on": timezone.localdate(report.requested_at),
        "review_deadline": timezone.localdate(report.requested_at) + timedelta(days=REVIEW_REQUEST_DAYS),
        # The proposals ranked in the cut-off: every one with a consensus.
        "ranked": Consensus.objects.filter(proposal__cut_off_id=proposal.cut_off_id).count(),
        # The public page that tells anyone holding the file whether the JU issued it (by its SHA-256).
        "verify_address": address,
        "verify_qr": qr_svg(address),
    }


def summary_report_html(*, report: SummaryReport) -> str:
    return render_to_string("evaluation/summary_report.html", summary_report_context(report=report))


def summary_report_pdf(*, report: SummaryReport) -> bytes:
    return html_to_pdf(summary_report_html(report=report))
