"""The technical assessment of hosting proposals (new systems, upgrades): a technical expert's assignment, their
conflict-of-interest declaration, the assessment itself, its deadline (reminders before and at it, the
reassignment of an overdue assessment to another expert), and the assessment of a proposal decided before this
system ran.

Every service locks the proposal first; the assessment rows are then written under that lock, so two writes to
one proposal's assessments never interleave (the order of eurohpc/locking.py: proposal before its work)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from calls.evaluation.calendar import assignment_deadlines, calendar_of
from calls.evaluation.feasibility import PASS, parse_feasibility
from calls.evaluation.selectors import DECIDED, conflict_reason
from calls.evaluation.selectors.technical import (
    IN_FORCE,
    OPEN_ASSESSMENT,
    TECHNICAL_OPEN,
    assessment_overdue,
    needs_technical,
)
from calls.evaluation.services._common import declaration_record, lock_proposal, status_label
from calls.evaluation.services.assignments import _deadline
from calls.evaluation.services.deadlines import REASSIGN_PERM, reminder_in_window, reminder_record
from calls.evaluation.services.reviews import coi_refusal
from calls.models import Assignment, FeasibilityAssessment, FeasibilityItem, FeasibilityReminder, Proposal
from calls.transitions import FEASIBILITY, FEASIBILITY_DECLARATION
from eurohpc import limits
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role, User
from eurohpc.permissions import denial_message
from eurohpc.services import audit_record, notification_queue

D = Assignment.Declaration
S = FeasibilityAssessment.Status


def _check_hosting(proposal: Proposal) -> None:
    if not needs_technical(proposal.type):
        raise RuleViolation(
            f"Proposal {proposal} is a proposal for {proposal.get_type_display().lower()}: only new systems and "
            f"upgrades have a technical assessment.",
            code="not_hosting_proposal",
        )


def _check_open(proposal: Proposal, what: str) -> None:
    if proposal.status not in TECHNICAL_OPEN:
        raise StateConflict(
            f"Proposal {proposal} is {status_label(proposal)}: {what} while it is under evaluation or on the "
            f"reserve list.",
            code="not_in_evaluation",
        )


def _check_expert(expert: User) -> None:
    if not (expert.is_active and Role.TECHNICAL_EXPERT in expert.roles):
        raise RuleViolation(
            f"{expert.display_name} is not a technical expert.",
            code="not_technical_expert",
            errors={"expert": ["Choose a user with the technical expert role."]},
        )


def _in_force(proposal: Proposal) -> FeasibilityAssessment | None:
    return FeasibilityAssessment.objects.filter(IN_FORCE, proposal_id=proposal.pk).select_related("expert").first()


@transaction.atomic
def feasibility_assign(
    *, proposal: Proposal, expert: User, actor: User, deadline: datetime | None = None
) -> FeasibilityAssessment:
    """The programme office appoints one technical expert to assess a hosting proposal. One assessment is in
    force per proposal; another expert is appointed only after a recusal (or by `feasibility_reassign`). Due with
    the individual reviews (the call's calendar), unless the officer sets a deadline."""
    if Role.PROGRAMME_OFFICER not in actor.roles:
        raise NotPermitted("Only programme officers assign technical experts.")
    proposal = lock_proposal(proposal)
    _check_hosting(proposal)
    _check_open(proposal, "technical experts are assigned")
    _check_assignee(proposal, expert)
    current = _in_force(proposal)
    if current is not None:
        raise StateConflict(
            f"Proposal {proposal} already has its technical expert, {current.expert.display_name}: another one is "
            f"assigned only after a declared conflict of interest.",
            code="assessment_in_force",
        )
    now = timezone.now()
    assessment = _insert_assessment(proposal, expert, actor, now, _deadline(deadline, now))
    audit_record(
        actor=actor,
        verb="evaluation.technical_assign",
        target=proposal,
        changes={"expert": expert.username, "deadline": assessment.deadline},
    )
    _notify_assigned(expert, proposal, assessment.deadline)
    return assessment


def _check_assignee(proposal: Proposal, expert: User) -> None:
    """The checks of any new assessment of the (locked) `proposal` by `expert`: the role, a detected conflict of
    interest, a second assessment by the same expert."""
    _check_expert(expert)
    conflict = conflict_reason(evaluator=expert, proposal=proposal)
    if conflict:
        raise RuleViolation(
            f"Conflict of interest: {conflict}", code="conflict_of_interest", errors={"expert": [conflict]}
        )
    if FeasibilityAssessment.objects.filter(proposal_id=proposal.pk, expert_id=expert.pk).exists():
        raise StateConflict(
            f"{expert.display_name} was already assigned the technical assessment of proposal {proposal}.",
            code="already_assigned",
        )


def _insert_assessment(
    proposal: Proposal, expert: User, actor: User, now: datetime, deadline: datetime | None
) -> FeasibilityAssessment:
    """Create the checked assessment, due with the individual reviews (the call's calendar: a late start gets
    the replacement time) unless `deadline` (checked) says otherwise. One in force per proposal (a constraint)."""
    _, due = assignment_deadlines(call=proposal.call, cut_off=proposal.cut_off, now=now, review_deadline=deadline)
    try:
        with transaction.atomic():
            return FeasibilityAssessment.objects.create(
                proposal=proposal, expert=expert, assigned_by=actor, assigned_at=now, deadline=due
            )
    except IntegrityError:  # another officer assigned meanwhile
        raise StateConflict(
            f"Proposal {proposal} already has its technical expert.", code="assessment_in_force"
        ) from None


def _notify_assigned(expert: User, proposal: Proposal, due: datetime) -> None:
    notification_queue(
        recipient=expert,
        subject=f"Technical assessment: proposal {proposal.reference} assigned to you",
        body=(
            f"You were asked to assess the technical feasibility of proposal {proposal.reference} "
            f"({proposal.acronym}: {proposal.title}).\n\nBefore you can read it, declare whether you have a "
            f"conflict of interest with it. The assessment is due by {local(due)}.\n"
        ),
    )


def _lock(assessment: FeasibilityAssessment) -> tuple[Proposal, FeasibilityAssessment]:
    proposal = lock_proposal(assessment.proposal_id)
    return proposal, FeasibilityAssessment.objects.select_related("assigned_by").get(pk=assessment.pk)


def _check_not_closed(proposal: Proposal, assessment: FeasibilityAssessment) -> None:
    """A reassigned assessment is closed: its expert's draft is kept, no longer accepted."""
    if assessment.closed_at is not None:
        raise StateConflict(
            f"Your technical assessment of proposal {proposal} was reassigned on {local(assessment.closed_at)} "
            f"after its deadline of {local(assessment.deadline)}: your draft is kept but no longer accepted.",
            code="assessment_closed",
        )


@transaction.atomic
def feasibility_declare(
    *, assessment: FeasibilityAssessment, conflict: bool, reason: str = "", actor: User
) -> FeasibilityAssessment:
    """The technical expert's conflict-of-interest declaration. "No conflict" opens the proposal to them; a
    conflict recuses them and the programme office is asked to assign another expert. Final once made."""
    proposal, assessment = _lock(assessment)
    if assessment.expert_id != actor.pk:
        raise NotPermitted("Only the assigned technical expert declares a conflict of interest.")
    _check_not_closed(proposal, assessment)
    if assessment.declaration != D.PENDING:
        raise StateConflict(
            f"You already declared {assessment.get_declaration_display().lower()} for proposal {proposal} on "
            f"{local(assessment.declared_at)}: a declaration is final.",
            code="already_declared",
        )
    _check_open(proposal, "the technical assessment is declared")
    reason = declaration_record(assessment, FEASIBILITY_DECLARATION, conflict=conflict, reason=reason)
    audit_record(
        actor=actor,
        verb="evaluation.technical_declare",
        target=proposal,
        changes={"expert": actor.username, "conflict": conflict, "reason": reason},
    )
    if conflict and assessment.assigned_by_id:
        notification_queue(
            recipient=assessment.assigned_by,
            subject=f"Conflict of interest: proposal {proposal.reference} needs another technical expert",
            body=(
                f"{actor.display_name} declared a conflict of interest with proposal {proposal.reference} "
                f"({proposal.acronym}) and is recused from its technical assessment.\n\nReason: {reason}\n\n"
                f"Assign another technical expert in the technical assessment queue.\n"
            ),
        )
    return assessment


@transaction.atomic
def feasibility_save(
    *,
    assessment: FeasibilityAssessment,
    items: dict | None,
    comments: dict | None,
    summary: str = "",
    actor: User,
    submit: bool = False,
) -> FeasibilityAssessment:
    """Save the expert's verdicts (pass/fail per item) and comments; a draft may be partial. `submit` needs a
    verdict and a comment on every item and a summary, records the items, sets `passed` (every item passed) and
    locks the assessment."""
    proposal, assessment = _lock(assessment)
    if assessment.expert_id != actor.pk:
        raise NotPermitted("Only the assigned technical expert writes this assessment.")
    _check_not_closed(proposal, assessment)
    refusal = coi_refusal(assessment, proposal, "assessing it")
    if refusal:
        raise NotPermitted(refusal, code="conflict_of_interest_gate")
    if assessment.status == S.SUBMITTED:
        raise StateConflict(
            f"Your technical assessment of proposal {proposal} was submitted on {local(assessment.submitted_at)}: "
            f"a submitted assessment is locked.",
            code="assessment_locked",
        )
    _check_open(proposal, "its technical assessment is written")
    summary = (summary or "").strip()
    try:
        verdicts, texts = parse_feasibility(items=items, comments=comments, complete=submit)
        summary_errors = {}
    except RuleViolation as exc:
        verdicts, texts, summary_errors = None, None, exc.errors
    if len(summary) > limits.REVIEW_COMMENT:
        summary_errors = {**(summary_errors or {}), "summary": [f"At most {limits.REVIEW_COMMENT} characters."]}
    elif submit and not summary:
        summary_errors = {**(summary_errors or {}), "summary": ["Summarise the assessment."]}
    if summary_errors:
        count = sum(len(v) for v in summary_errors.values())
        raise RuleViolation(
            f"The technical assessment cannot be accepted: {count} problem(s).",
            code="feasibility_invalid",
            errors=summary_errors,
        )
    assessment.draft = {
        "items": {code: (PASS if ok else "fail") for code, ok in verdicts.items()},
        "comments": texts,
    }
    assessment.summary = summary
    assessment.save(update_fields=["draft", "summary"])
    if submit:
        passed = all(verdicts.values())
        FEASIBILITY.move(assessment, S.SUBMITTED, submitted_at=timezone.now(), passed=passed)
        FeasibilityItem.objects.bulk_create(
            [FeasibilityItem(assessment=assessment, item=code, passed=ok, comment=texts[code])
             for code, ok in verdicts.items()]
        )  # fmt: skip
    audit_record(
        actor=actor,
        verb="evaluation.technical_submit" if submit else "evaluation.technical_save",
        target=proposal,
        changes={"expert": actor.username, "items": assessment.draft["items"], "passed": assessment.passed},
    )
    if submit and assessment.assigned_by_id:
        notification_queue(
            recipient=assessment.assigned_by,
            subject=f"Technical assessment submitted: proposal {proposal.reference}",
            body=(
                f"{actor.display_name} submitted the technical assessment of proposal {proposal.reference} "
                f"({proposal.acronym}): {'passed' if assessment.passed else 'failed'}.\n"
            ),
        )
    return assessment


@transaction.atomic
def feasibility_reassign(
    *, assessment: FeasibilityAssessment, expert: User, actor: User, reason: str = ""
) -> FeasibilityAssessment:
    """Give an overdue technical assessment to another expert: the late one is closed (their draft is kept but no
    longer accepted) and `expert` is assigned with the checks of any assignment (role, conflict of interest, one
    in force), from now on the calendar's replacement time. Returns the new assessment."""
    if not actor.has_perm(REASSIGN_PERM):
        raise NotPermitted(denial_message(REASSIGN_PERM))
    proposal = lock_proposal(assessment.proposal_id)
    # The proposal's lock serializes every write to its assessments (the module's docstring): no lock of the row.
    late = FeasibilityAssessment.objects.select_related("expert").get(pk=assessment.pk)
    late.proposal = proposal
    who = late.expert.display_name
    if late.closed_at is not None:
        raise StateConflict(
            f"The technical assessment of proposal {proposal} by {who} was already closed on {local(late.closed_at)} "
            f"(reassigned).",
            code="assessment_closed",
        )
    if late.status == S.SUBMITTED:
        raise StateConflict(
            f"{who} submitted the technical assessment of proposal {proposal} on {local(late.submitted_at)}: a "
            f"submitted assessment is not reassigned.",
            code="assessment_submitted",
        )
    if late.declaration == D.CONFLICT:
        raise StateConflict(
            f"{who} declared a conflict of interest with proposal {proposal}: assign another technical expert in "
            f"the queue instead.",
            code="recused",
        )
    _check_open(proposal, "technical assessments are reassigned")
    now = timezone.now()
    if not assessment_overdue(late, now):
        raise StateConflict(
            f"The technical assessment of proposal {proposal} by {who} is not overdue: it is due by "
            f"{local(late.deadline)}.",
            code="not_overdue",
        )
    _check_assignee(proposal, expert)
    late.closed_at = now
    late.save(update_fields=["closed_at"])
    replacement = _insert_assessment(proposal, expert, actor, now, None)
    reason = (reason or "").strip()
    audit_record(
        actor=actor,
        verb="evaluation.technical_reassign",
        target=proposal,
        changes={
            "from": late.expert.username,
            "to": expert.username,
            "missed_deadline": late.deadline,
            "deadline": replacement.deadline,
            "reason": reason,
        },
    )
    notification_queue(
        recipient=late.expert,
        subject=f"Technical assessment: proposal {proposal.reference} was reassigned",
        body=(
            f"Your technical assessment of proposal {proposal.reference} ({proposal.acronym}) was due by "
            f"{local(late.deadline)}. The programme office assigned another expert on {local(now)}; your "
            f"assessment is closed and your draft, if any, is kept but no longer accepted."
            + (f"\n\nReason: {reason}" if reason else "")
            + "\n"
        ),
    )
    _notify_assigned(expert, proposal, replacement.deadline)
    return replacement


# --- reminders ------------------------------------------------------------------------------------------------

R = FeasibilityReminder.Kind
REMINDER_SUBJECTS = {
    R.SOON: "Technical assessment: proposal {ref} is due by {due}",
    R.DUE: "Technical assessment: proposal {ref} is overdue",
}
REMINDER_BODIES = {
    R.SOON: "Your technical assessment of proposal {ref} ({acronym}) is due by {due}.",
    R.DUE: (
        "Your technical assessment of proposal {ref} ({acronym}) was due by {due}. You may still submit it until "
        "the programme office assigns another expert; your draft is then kept but no longer accepted."
    ),
}


def feasibility_reminders_send(*, now: datetime | None = None) -> int:
    """Remind technical experts of their deadlines: once within the call's `reminder_days_before` of an open
    assessment's deadline ("soon"), once when it has passed ("due") — at most once per assessment and kind however
    often this runs. Returns the number of reminders sent.

    The open assessments not yet reminded at their deadline are read in two queries (with their proposal, call,
    expert, then the kinds already sent); each reminder is recorded with its e-mail as the
    evaluators' are (`reminder_record`): a concurrent run that recorded it first wins on the unique constraint.
    No audit event per reminder: the reminder rows are the record."""
    now = now or timezone.now()
    candidates = (
        FeasibilityAssessment.objects.filter(OPEN_ASSESSMENT)
        .exclude(Exists(FeasibilityReminder.objects.filter(assessment_id=OuterRef("pk"), kind=R.DUE)))
        .select_related("proposal__call", "expert")
        .prefetch_related("reminders")
        .order_by("id")
    )
    sent = 0
    for assessment in candidates:
        passed = reminder_in_window(
            due=assessment.deadline, lead=calendar_of(assessment.proposal.call).reminder_lead, now=now
        )
        if passed is None:
            continue
        kind = R.DUE if passed else R.SOON
        if kind in {r.kind for r in assessment.reminders.all()} or not assessment.expert.is_active:
            continue
        proposal = assessment.proposal
        words = {"ref": proposal.reference, "acronym": proposal.acronym, "due": local(assessment.deadline)}
        if reminder_record(
            record=lambda a=assessment, k=kind: FeasibilityReminder.objects.create(assessment=a, kind=k, sent_at=now),
            recipient=assessment.expert,
            subject=REMINDER_SUBJECTS[kind].format(**words),
            body=REMINDER_BODIES[kind].format(**words) + "\n",
        ):
            sent += 1
    return sent


@transaction.atomic
def feasibility_record_history(
    *,
    proposal: Proposal,
    expert: User,
    items: dict,
    comments: dict,
    summary: str,
    assigned_at: datetime,
    submitted_at: datetime,
    actor: User,
) -> FeasibilityAssessment:
    """Record the technical assessment of a hosting proposal decided before this system ran: the expert's
    assignment and declaration, and the submitted items. A selected proposal's assessment passed; conflicts of
    interest are still refused."""
    proposal = lock_proposal(proposal)
    _check_hosting(proposal)
    if proposal.status not in DECIDED:
        raise RuleViolation(
            "Only decided proposals have their technical assessment recorded as history.", code="not_decided"
        )
    if FeasibilityAssessment.objects.filter(proposal_id=proposal.pk).exists():
        raise StateConflict(
            f"The technical assessment of proposal {proposal} is already recorded.", code="already_recorded"
        )
    if not assigned_at < submitted_at <= timezone.now():
        raise RuleViolation(
            "The expert was assigned before the assessment was submitted, and both lie in the past.",
            code="history_order",
        )
    _check_expert(expert)
    conflict = conflict_reason(evaluator=expert, proposal=proposal)
    if conflict:
        raise RuleViolation(f"Conflict of interest: {conflict}", code="conflict_of_interest")
    verdicts, texts = parse_feasibility(items=items, comments=comments, complete=True)
    passed = all(verdicts.values())
    if proposal.status == Proposal.Status.SELECTED and not passed:
        raise RuleViolation(
            f"Proposal {proposal} is selected: its technical assessment passed every item.", code="history_selected"
        )
    summary = (summary or "").strip()
    if not summary:
        raise RuleViolation("Summarise the assessment.", code="feasibility_invalid", errors={"summary": ["Required."]})
    declared_at = assigned_at + (submitted_at - assigned_at) / 10
    assessment = FeasibilityAssessment.objects.create(
        proposal=proposal, expert=expert, assigned_by=actor, assigned_at=assigned_at, deadline=submitted_at,
        declaration=D.NO_CONFLICT, declared_at=declared_at, status=S.SUBMITTED, passed=passed,
        submitted_at=submitted_at, summary=summary,
        draft={"items": {c: (PASS if ok else "fail") for c, ok in verdicts.items()}, "comments": texts},
    )  # fmt: skip
    FeasibilityItem.objects.bulk_create(
        [FeasibilityItem(assessment=assessment, item=code, passed=ok, comment=texts[code])
         for code, ok in verdicts.items()]
    )  # fmt: skip
    audit_record(
        actor=actor,
        verb="evaluation.technical_record_history",
        target=proposal,
        changes={"expert": expert.username, "passed": passed, "submitted_at": submitted_at},
    )
    return assessment
