"""Evaluation Summary Reports: rendering the PDF of a published decision, recording a failure, retrying."""

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from calls.models import Proposal, SummaryReport
from eurohpc.errors import StateConflict
from eurohpc.models import User
from eurohpc.pdf import render_failure_reason
from eurohpc.services import audit_record


class RenderError(Exception):
    """The PDF could not be rendered (the task retries)."""


def summary_report_render(*, report_id: int) -> bool:
    """Render the Evaluation Summary Report PDF; idempotent: a report already rendered for its decision is left
    alone. Returns whether it rendered. On failure the report is marked failed and RenderError raised."""
    try:
        return _render(report_id)
    except RenderError as exc:
        _record_failure(report_id, str(exc))
        raise


@transaction.atomic
def _render(report_id: int) -> bool:
    from calls.evaluation.pdf import summary_report_pdf

    report = (
        SummaryReport.objects.select_for_update(of=("self",))
        .select_related("proposal__call", "proposal__cut_off", "proposal__organisation", "decision")
        .filter(pk=report_id)
        .first()
    )
    if report is None or report.status == SummaryReport.Status.READY:
        return False
    report.attempts += 1
    try:
        content = summary_report_pdf(report=report)
    except Exception as exc:  # WeasyPrint and font errors alike: the task retries, the officer sees the failure
        raise RenderError(render_failure_reason(exc)) from exc
    old = report.file.name if report.file else ""
    report.file.save(report.filename, ContentFile(content), save=False)
    report.sha256 = hashlib.sha256(content).hexdigest()
    report.size = len(content)
    report.status = SummaryReport.Status.READY
    report.rendered_at = timezone.now()
    report.error = ""
    report.save()
    audit_record(
        actor=None,
        verb="evaluation.summary_report",
        target=report.proposal,
        changes={"sha256": report.sha256, "size": report.size, "decision": report.decision.outcome},
    )
    if old:
        storage = report.file.storage
        transaction.on_commit(lambda: storage.delete(old))
    return True


@transaction.atomic
def _record_failure(report_id: int, error: str) -> None:
    report = SummaryReport.objects.select_for_update().filter(pk=report_id).first()
    if report is None or report.status == SummaryReport.Status.READY:
        return
    report.status = SummaryReport.Status.FAILED
    report.attempts += 1
    report.error = error[:2000]
    report.save(update_fields=["status", "attempts", "error"])


@transaction.atomic
def summary_report_retry(*, proposal: Proposal, actor: User) -> SummaryReport:
    """Queue a failed (or stuck) report again."""
    from calls.evaluation.tasks import render_summary_report

    report = SummaryReport.objects.select_for_update().filter(proposal_id=proposal.pk).first()
    if report is None:
        raise StateConflict(f"Proposal {proposal} has no summary report: publish the decisions first.")
    if report.status == SummaryReport.Status.READY:
        raise StateConflict(f"The summary report of proposal {proposal} is ready: nothing to retry.", code="ready")
    if Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.EVALUATION).exists():
        # A re-evaluation after an evaluation review: the contested consensus is gone, the new one not decided yet.
        raise StateConflict(
            f"Proposal {proposal} is being re-evaluated after an evaluation review: its summary report is rendered "
            f"again when the review is concluded.",
            code="re_evaluation",
        )
    report.status = SummaryReport.Status.PENDING
    report.error = ""
    report.save(update_fields=["status", "error"])
    audit_record(actor=actor, verb="evaluation.summary_report_retry", target=proposal, changes={})
    transaction.on_commit(lambda: render_summary_report.delay(report_id=report.pk))
    return report
