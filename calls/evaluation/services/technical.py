"""The technical assessment of hosting proposals (new systems, upgrades): a technical expert's assignment, their
conflict-of-interest declaration, the assessment itself, and the assessment of a proposal decided before this
system ran.

Every service locks the proposal first; the assessment rows are then written under that lock, so two writes to
one proposal's assessments never interleave (the order of eurohpc/locking.py: proposal before its work)."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.evaluation.calendar import assignment_deadlines
from calls.evaluation.feasibility import PASS, parse_feasibility
from calls.evaluation.selectors import DECIDED, conflict_reason
from calls.evaluation.selectors.technical import IN_FORCE, TECHNICAL_OPEN, needs_technical
from calls.evaluation.services._common import lock_proposal, status_label
from calls.evaluation.services.assignments import _deadline
from calls.models import Assignment, FeasibilityAssessment, FeasibilityItem, Proposal
from calls.transitions import FEASIBILITY, FEASIBILITY_DECLARATION
from eurohpc import limits
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role, User
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
    force per proposal; another expert is appointed only after a recusal. Due with the individual reviews
    (the call's calendar), unless the officer sets a deadline."""
    if Role.PROGRAMME_OFFICER not in actor.roles:
        raise NotPermitted("Only programme officers assign technical experts.")
    proposal = lock_proposal(proposal)
    _check_hosting(proposal)
    _check_open(proposal, "technical experts are assigned")
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
    current = _in_force(proposal)
    if current is not None:
        raise StateConflict(
            f"Proposal {proposal} already has its technical expert, {current.expert.display_name}: another one is "
            f"assigned only after a declared conflict of interest.",
            code="assessment_in_force",
        )
    now = timezone.now()
    _, due = assignment_deadlines(
        call=proposal.call, cut_off=proposal.cut_off, now=now, review_deadline=_deadline(deadline, now)
    )
    try:
        with transaction.atomic():
            assessment = FeasibilityAssessment.objects.create(
                proposal=proposal, expert=expert, assigned_by=actor, assigned_at=now, deadline=due
            )
    except IntegrityError:  # another officer assigned meanwhile
        raise StateConflict(
            f"Proposal {proposal} already has its technical expert.", code="assessment_in_force"
        ) from None
    audit_record(
        actor=actor,
        verb="evaluation.technical_assign",
        target=proposal,
        changes={"expert": expert.username, "deadline": due},
    )
    notification_queue(
        recipient=expert,
        subject=f"Technical assessment: proposal {proposal.reference} assigned to you",
        body=(
            f"You were asked to assess the technical feasibility of proposal {proposal.reference} "
            f"({proposal.acronym}: {proposal.title}).\n\nBefore you can read it, declare whether you have a "
            f"conflict of interest with it. The assessment is due by {local(due)}.\n"
        ),
    )
    return assessment


def _lock(assessment: FeasibilityAssessment) -> tuple[Proposal, FeasibilityAssessment]:
    proposal = lock_proposal(assessment.proposal_id)
    return proposal, FeasibilityAssessment.objects.select_related("assigned_by").get(pk=assessment.pk)


@transaction.atomic
def feasibility_declare(
    *, assessment: FeasibilityAssessment, conflict: bool, reason: str = "", actor: User
) -> FeasibilityAssessment:
    """The technical expert's conflict-of-interest declaration. "No conflict" opens the proposal to them; a
    conflict recuses them and the programme office is asked to assign another expert. Final once made."""
    proposal, assessment = _lock(assessment)
    if assessment.expert_id != actor.pk:
        raise NotPermitted("Only the assigned technical expert declares a conflict of interest.")
    if assessment.declaration != D.PENDING:
        raise StateConflict(
            f"You already declared {assessment.get_declaration_display().lower()} for proposal {proposal} on "
            f"{local(assessment.declared_at)}: a declaration is final.",
            code="already_declared",
        )
    _check_open(proposal, "the technical assessment is declared")
    reason = (reason or "").strip()
    if conflict and not reason:
        raise RuleViolation(
            "Describe the conflict of interest.",
            code="reason_required",
            errors={"reason": ["Describe the conflict of interest."]},
        )
    if len(reason) > limits.REASON:
        raise RuleViolation(
            f"The reason is at most {limits.REASON} characters.",
            code="reason_too_long",
            errors={"reason": [f"At most {limits.REASON} characters."]},
        )
    FEASIBILITY_DECLARATION.move(
        assessment, D.CONFLICT if conflict else D.NO_CONFLICT, declaration_reason=reason, declared_at=timezone.now()
    )
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
    if assessment.declaration == D.PENDING:
        raise NotPermitted(
            f"Declare whether you have a conflict of interest with proposal {proposal} before assessing it.",
            code="conflict_of_interest_gate",
        )
    if assessment.declaration == D.CONFLICT:
        raise NotPermitted(
            f"You declared a conflict of interest with proposal {proposal}: it is closed to you.",
            code="conflict_of_interest_gate",
        )
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
