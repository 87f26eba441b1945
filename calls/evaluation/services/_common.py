"""Helpers shared by the evaluation services: locks, the proposal's move through its state machine, who hears
of an outcome, and the request of a summary report. Not services themselves: each runs inside a service's
transaction.
"""

from django.db import transaction
from django.utils import timezone

from calls.models import Assignment, Call, Decision, Proposal, SummaryReport
from calls.transitions import proposal_transition
from eurohpc import limits
from eurohpc.errors import RuleViolation
from eurohpc.formatting import local
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


def close_assignments(assignments, *, reason: str, now) -> list[int]:
    """Close the experts' open work on these (locked) assignments: a reassignment after the deadline, or a
    re-evaluation after an evaluation review. Drafts are kept; the review services refuse them from now on.
    Returns the ids closed."""
    ids = [a.pk for a in assignments if a.closed_at is None]
    Assignment.objects.filter(pk__in=ids).update(closed_at=now, close_reason=reason)
    for a in assignments:
        if a.pk in ids:
            a.closed_at, a.close_reason = now, reason
    return ids


def closed_refusal(assignment: Assignment, proposal: Proposal) -> str | None:
    """Why the expert's work on a closed assignment is no longer accepted; None while it is open."""
    if assignment.closed_at is None:
        return None
    if assignment.close_reason == Assignment.CloseReason.REASSIGNED:
        missed = (
            assignment.declaration_deadline
            if assignment.declaration == Assignment.Declaration.PENDING
            else assignment.deadline
        )
        return (
            f"Your assignment to proposal {proposal} was reassigned on {local(assignment.closed_at)} after its "
            f"deadline of {local(missed)}: your draft is kept but no longer accepted."
        )
    return (
        f"Your assignment to proposal {proposal} was closed on {local(assignment.closed_at)} for a re-evaluation "
        f"after an evaluation review: your review is kept but no longer accepted."
    )


def declaration_record(obj, machine, *, conflict: bool, reason: str) -> str:
    """Record an expert's conflict-of-interest declaration on `obj` (an evaluator's assignment, a technical
    assessment, a committee seat), already locked and checked by its service, through its state machine: a conflict
    needs its reason. Returns the reason as recorded."""
    reason = (reason or "").strip()
    if conflict and not reason:
        raise RuleViolation(
            "Describe the conflict of interest.",
            code="reason_required",
            errors={"reason": ["Describe the conflict of interest."]},
        )
    if len(reason) > limits.REASON:
        raise RuleViolation(
            f"The reason is at most {limits.REASON:,} characters.",
            code="reason_too_long",
            errors={"reason": [f"At most {limits.REASON:,} characters."]},
        )
    D = Assignment.Declaration
    machine.move(obj, D.CONFLICT if conflict else D.NO_CONFLICT, declaration_reason=reason, declared_at=timezone.now())
    return reason
