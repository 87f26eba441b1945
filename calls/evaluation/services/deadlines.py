"""Deadlines of the evaluation: the reminders experts receive before and at each deadline, and the reassignment
of overdue work to another expert.

An overdue declaration or review is still accepted until the programme officer reassigns it; the reassignment
closes the late assignment (its draft is kept, no longer accepted) and assigns a replacement with the checks of
any assignment.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.access.models import AccessApplication
from calls.access.rules import reviews_released
from calls.evaluation.calendar import calendar_of
from calls.evaluation.selectors.deadlines import (
    DECLARATION,
    OPEN_ASSIGNMENT,
    missed_deadline,
    overdue_step,
)
from calls.evaluation.services._common import close_assignments, lock_proposal, status_label
from calls.evaluation.services.assignments import _check_assignable, _check_evaluator, _insert_assignment
from calls.evaluation.services.assignments import _notify_assigned as notify_assigned
from calls.models import Assignment, AssignmentReminder, Proposal, Review
from eurohpc.errors import NotPermitted, StateConflict
from eurohpc.formatting import local
from eurohpc.models import User
from eurohpc.permissions import denial_message
from eurohpc.services import audit_record, notification_queue

REASSIGN_PERM = "calls.reassign_assignment"


@transaction.atomic
def assignment_reassign(*, assignment: Assignment, evaluator: User, actor: User, reason: str = "") -> Assignment:
    """Give an overdue assignment to another expert: the late one is closed (their draft is kept but no longer
    accepted) and `evaluator` is assigned with the checks of any assignment (role, conflict of interest, a second
    assignment), from now on the calendar's replacement time. Returns the new assignment."""
    if not actor.has_perm(REASSIGN_PERM):
        raise NotPermitted(denial_message(REASSIGN_PERM))
    proposal = lock_proposal(assignment.proposal_id)
    late = Assignment.objects.select_for_update().select_related("evaluator").get(pk=assignment.pk)
    late.proposal = proposal
    review = Review.objects.filter(assignment_id=late.pk).first()
    late.review = review  # read by overdue_step; the proposal lock keeps it from being submitted meanwhile
    who = late.evaluator.display_name
    if late.closed_at is not None:
        raise StateConflict(
            f"The assignment of {who} to proposal {proposal} was already closed on {local(late.closed_at)} "
            f"({late.get_close_reason_display().lower()}).",
            code="assignment_closed",
        )
    if proposal.status not in (Proposal.Status.ELIGIBLE, Proposal.Status.EVALUATION):
        raise StateConflict(
            f"Proposal {proposal} is {status_label(proposal)}: only work on a proposal under evaluation is reassigned.",
            code="not_in_evaluation",
        )
    if proposal.type == Proposal.Type.ACCESS:
        # The access rule (calls/access/rules.py `reviews_released`, as the application page's assign_reviewer):
        # reviewers are assigned only until the reviews are released to the applicant.
        application = AccessApplication.objects.filter(pk=proposal.pk).first()
        if reviews_released(actor, application):
            raise StateConflict(
                f"The reviews of access application {proposal} were released to the applicant (reply due by "
                f"{local(application.reply_deadline)}): reviewers are assigned only until the reviews are released, "
                f"so the assignment of {who} is not reassigned.",
                code="access_reviews_released",
            )
    if review is not None and review.status == Review.Status.SUBMITTED:
        raise StateConflict(
            f"{who} submitted the review of proposal {proposal} on {local(review.submitted_at)}: a submitted review "
            f"is not reassigned.",
            code="review_submitted",
        )
    if late.declaration == Assignment.Declaration.CONFLICT:
        raise StateConflict(
            f"{who} declared a conflict of interest with proposal {proposal}: assign a replacement on the assignment "
            f"board instead.",
            code="recused",
        )
    now = timezone.now()
    step = overdue_step(late, now)
    if step is None:
        what = "declaration" if late.declaration == Assignment.Declaration.PENDING else "review"
        raise StateConflict(
            f"The assignment of {who} to proposal {proposal} is not overdue: its {what} is due by "
            f"{local(missed_deadline(late))}.",
            code="not_overdue",
        )
    _check_assignable(proposal)
    _check_evaluator(proposal, evaluator)
    close_assignments([late], reason=Assignment.CloseReason.REASSIGNED, now=now)
    replacement = _insert_assignment(proposal, evaluator, actor, now, None, late)
    reason = (reason or "").strip()
    audit_record(
        actor=actor,
        verb="evaluation.reassign",
        target=proposal,
        changes={
            "from": late.evaluator.username,
            "to": evaluator.username,
            "late_step": step,
            "missed_deadline": missed_deadline(late),
            "deadline": replacement.deadline,
            "reason": reason,
        },
    )
    step_text = "conflict-of-interest declaration" if step == DECLARATION else "individual review"
    notification_queue(
        recipient=late.evaluator,
        subject=f"Evaluation: your assignment to proposal {proposal.reference} was reassigned",
        body=(
            f"Your {step_text} of proposal {proposal.reference} ({proposal.acronym}) was due by "
            f"{local(missed_deadline(late))}. The programme office assigned another expert on {local(now)}; your "
            f"assignment is closed and your draft, if any, is kept but no longer accepted."
            + (f"\n\nReason: {reason}" if reason else "")
            + "\n"
        ),
    )
    notify_assigned(evaluator, [proposal], replacement.deadline)
    return replacement


# --- reminders ------------------------------------------------------------------------------------------------

KIND = AssignmentReminder.Kind
SUBJECTS = {
    KIND.DECLARATION_SOON: "Evaluation: declare your conflict of interest with proposal {ref} by {due}",
    KIND.DECLARATION_DUE: "Evaluation: your declaration on proposal {ref} is overdue",
    KIND.REVIEW_SOON: "Evaluation: your review of proposal {ref} is due by {due}",
    KIND.REVIEW_DUE: "Evaluation: your review of proposal {ref} is overdue",
}
BODIES = {
    KIND.DECLARATION_SOON: (
        "Your conflict-of-interest declaration on proposal {ref} ({acronym}) is due by {due}. Declare it on your "
        "assignment page before you read the proposal."
    ),
    KIND.DECLARATION_DUE: (
        "Your conflict-of-interest declaration on proposal {ref} ({acronym}) was due by {due}. You may still "
        "declare until the programme office assigns another expert."
    ),
    KIND.REVIEW_SOON: "Your individual review of proposal {ref} ({acronym}) is due by {due}.",
    KIND.REVIEW_DUE: (
        "Your individual review of proposal {ref} ({acronym}) was due by {due}. You may still submit it until the "
        "programme office assigns another expert; your draft is then kept but no longer accepted."
    ),
}


def _reminder_due(assignment: Assignment, now: datetime) -> str | None:
    """The reminder the assignment's step calls for at `now`, or None (outside the reminder window, or done)."""
    if assignment.declaration == Assignment.Declaration.PENDING:
        due, soon, late = assignment.declaration_deadline, KIND.DECLARATION_SOON, KIND.DECLARATION_DUE
    elif assignment.declaration == Assignment.Declaration.NO_CONFLICT:
        review = getattr(assignment, "review", None)
        if review is not None and review.status == Review.Status.SUBMITTED:
            return None
        due, soon, late = assignment.deadline, KIND.REVIEW_SOON, KIND.REVIEW_DUE
    else:
        return None
    passed = reminder_in_window(due=due, lead=calendar_of(assignment.proposal.call).reminder_lead, now=now)
    return None if passed is None else (late if passed else soon)


def evaluation_reminders_send(*, now: datetime | None = None) -> int:
    """Remind experts of their deadlines: once within the call's `reminder_days_before` of a declaration or a
    review deadline, once when it has passed — at most once per assignment and kind however often this runs.
    Returns the number of reminders sent.

    The open assignments are read in one query (with their proposal, call, review and the kinds already sent);
    each reminder is then recorded and its e-mail queued in one short transaction, so that a reminder row exists
    exactly when its e-mail was queued. A concurrent run that recorded the same reminder first wins on the unique
    constraint; this one skips it. No audit event per reminder: it changes no state of the evaluation, and the
    reminder rows (with their time) are the record.
    """
    now = now or timezone.now()
    candidates = (
        Assignment.objects.filter(OPEN_ASSIGNMENT)
        .exclude(declaration=Assignment.Declaration.CONFLICT)
        .select_related("proposal__call", "evaluator", "review")
        .prefetch_related("reminders")
        .order_by("id")
    )
    sent = 0
    for assignment in candidates:
        kind = _reminder_due(assignment, now)
        if kind is None or kind in {r.kind for r in assignment.reminders.all()}:
            continue
        if assignment.evaluator.is_active and _remind(assignment, kind, now):
            sent += 1
    return sent


def _remind(assignment: Assignment, kind: str, now: datetime) -> bool:
    proposal = assignment.proposal
    due = assignment.declaration_deadline if kind.startswith("declaration") else assignment.deadline
    words = {"ref": proposal.reference, "acronym": proposal.acronym, "due": local(due)}
    return reminder_record(
        record=lambda: AssignmentReminder.objects.create(assignment=assignment, kind=kind, sent_at=now),
        recipient=assignment.evaluator,
        subject=SUBJECTS[kind].format(**words),
        body=BODIES[kind].format(**words) + "\n",
    )


def reminder_in_window(*, due: datetime, lead, now: datetime) -> bool | None:
    """Which reminder a deadline `due` calls for at `now`: True once it has passed ("due"), False within `lead`
    before it ("soon"), None before that."""
    if now >= due:
        return True
    if now >= due - lead:
        return False
    return None


def reminder_record(*, record, recipient: User, subject: str, body: str) -> bool:
    """Record one reminder (`record` creates its row, unique per kind) and queue its e-mail in one short
    transaction, so that a reminder row exists exactly when its e-mail was queued. False when a concurrent run
    recorded it first (the unique constraint): that run sent the e-mail."""
    try:
        with transaction.atomic():
            record()
            notification_queue(recipient=recipient, subject=subject, body=body)
    except IntegrityError:
        return False
    return True
