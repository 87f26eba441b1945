"""Helpers shared by the evaluation services: locks, the proposal's move through its state machine, who hears
of an outcome, and the request of a summary report. Not services themselves: each runs inside a service's
transaction.
"""

from django.db import transaction
from django.utils import timezone

from calls.models import Call, Decision, Proposal, SummaryReport
from calls.transitions import proposal_transition
from eurohpc.models import User


def status_label(proposal: Proposal) -> str:
    """The proposal's status as it reads in a sentence ("under evaluation")."""
    return proposal.get_status_display().lower()


def lock_proposal(proposal: Proposal | int) -> Proposal:
    """Lock the proposal's row (not its call's or organisation's) and return it fresh."""
    pk = proposal.pk if isinstance(proposal, Proposal) else proposal
    return Proposal.objects.select_for_update(of=("self",)).select_related("call", "cut_off", "organisation").get(pk=pk)


def lock_call(call_id: int) -> Call:
    """Lock the call's row: the first lock of every service that spends the call's money."""
    return Call.objects.select_for_update().get(pk=call_id)


def applicant_recipients(proposal: Proposal) -> set[User]:
    """The active users who created or submitted the proposal: they hear of its outcome."""
    ids = {i for i in (proposal.created_by_id, proposal.submitted_by_id) if i}
    return set(User.objects.filter(pk__in=ids, is_active=True).order_by("username"))


def move_proposal(proposal: Proposal, status: str, **fields) -> None:
    """Move the proposal to `status` through its state machine."""
    proposal_transition(proposal=proposal, to=status, **fields)


def request_summary_report(proposal: Proposal, decision: Decision) -> SummaryReport:
    """(Re)queue the Evaluation Summary Report of `proposal` for `decision`; rendered once the transaction
    commits."""
    from calls.evaluation.tasks import render_summary_report

    report, _ = SummaryReport.objects.update_or_create(
        proposal=proposal,
        defaults={
            "decision": decision,
            "status": SummaryReport.Status.PENDING,
            "error": "",
            "requested_at": timezone.now(),
        },
    )
    transaction.on_commit(lambda: render_summary_report.delay(report_id=report.pk))
    return report
