"""Assignments of evaluators to proposals, their conflict-of-interest declarations, and the automatic
assignment of a cut-off."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from calls.access.checks import access_evaluation_refusal
from calls.evaluation.calendar import assignment_deadlines
from calls.evaluation.scheme import scheme_of
from calls.evaluation.selectors import OPEN_WORK, conflict_reason, evaluator_loads, evaluators
from calls.evaluation.services._common import (
    closed_refusal,
    declaration_record,
    lock_proposal,
    move_proposal,
    status_label,
)
from calls.models import Assignment, CutOff, Proposal
from calls.transitions import ASSIGNMENT
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role, User
from eurohpc.services import audit_record, notification_queue


def _check_assignable(proposal: Proposal) -> None:
    if proposal.status not in OPEN_WORK:
        raise StateConflict(
            f"Proposal {proposal} is {status_label(proposal)}: evaluators are assigned to eligible proposals "
            f"under evaluation.",
            code="not_in_evaluation",
        )
    refusal = access_evaluation_refusal(proposal, "assign")
    if refusal:
        raise StateConflict(refusal, code="access_not_reviewable")


def _deadline(deadline: datetime | None, now: datetime) -> datetime | None:
    """An officer's explicit review deadline, checked; None leaves it to the call's calendar."""
    if deadline is None:
        return None
    if timezone.is_naive(deadline):
        raise RuleViolation("The deadline must carry a time zone.", code="naive_datetime")
    if deadline <= now:
        raise RuleViolation(
            f"The review deadline must lie in the future; {local(deadline)} has passed.",
            code="deadline_past",
            errors={"deadline": ["The review deadline must lie in the future."]},
        )
    return deadline


def _unreplaced_recusal(proposal: Proposal) -> Assignment | None:
    return (
        Assignment.objects.filter(
            proposal_id=proposal.pk, declaration=Assignment.Declaration.CONFLICT, replacement__isnull=True
        )
        .order_by("declared_at", "id")
        .first()
    )


def _notify_assigned(evaluator: User, proposals: list[Proposal], deadline: datetime) -> None:
    listing = "\n".join(f"  - {p.reference} {p.acronym}: {p.title}" for p in proposals)
    notification_queue(
        recipient=evaluator,
        subject=f"Evaluation: {len(proposals)} proposal(s) assigned to you",
        body=(
            f"You were asked to evaluate:\n{listing}\n\n"
            f"Before you can read a proposal, declare whether you have a conflict of interest with it. "
            f"Individual reviews are due by {local(deadline)}.\n"
        ),
    )


def _check_evaluator(proposal: Proposal, evaluator: User) -> None:
    """The checks of any new assignment of `evaluator` to the (locked) `proposal`: the role, a detected conflict
    of interest, a second assignment."""
    if not (evaluator.is_active and Role.EVALUATOR in evaluator.roles):
        raise RuleViolation(
            f"{evaluator.display_name} is not an evaluator.",
            code="not_evaluator",
            errors={"evaluator": ["Choose a user with the evaluator role."]},
        )
    conflict = conflict_reason(evaluator=evaluator, proposal=proposal)
    if conflict:
        raise RuleViolation(
            f"Conflict of interest: {conflict}", code="conflict_of_interest", errors={"evaluator": [conflict]}
        )
    earlier = Assignment.objects.filter(proposal_id=proposal.pk, evaluator_id=evaluator.pk).first()
    if earlier is not None and earlier.close_reason == Assignment.CloseReason.RE_EVALUATION:
        raise StateConflict(
            f"{evaluator.display_name} evaluated proposal {proposal} before: a re-evaluation after an evaluation "
            f"review takes new experts.",
            code="evaluated_before",
        )
    if earlier is not None:
        raise StateConflict(
            f"{evaluator.display_name} is already assigned to proposal {proposal}.", code="already_assigned"
        )


def _insert_assignment(
    proposal: Proposal, evaluator: User, actor: User, now: datetime, review_deadline: datetime | None,
    replaces: Assignment | None,
) -> Assignment:  # fmt: skip
    """Create the checked assignment with its deadlines from the call's calendar (`review_deadline`, checked,
    overrides the review's)."""
    declaration_deadline, deadline = assignment_deadlines(
        call=proposal.call, cut_off=proposal.cut_off, now=now, review_deadline=review_deadline
    )
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                proposal=proposal, evaluator=evaluator, assigned_by=actor, assigned_at=now,
                declaration_deadline=declaration_deadline, deadline=deadline, replaces=replaces,
            )  # fmt: skip
    except IntegrityError:  # the same evaluator assigned meanwhile
        raise StateConflict(
            f"{evaluator.display_name} is already assigned to proposal {proposal}.", code="already_assigned"
        ) from None


@transaction.atomic
def assignment_create(
    *, proposal: Proposal, evaluator: User, actor: User, deadline: datetime | None = None
) -> Assignment:
    """Assign one evaluator to one proposal, refusing detected conflicts and a second assignment."""
    proposal = lock_proposal(proposal)
    _check_assignable(proposal)
    _check_evaluator(proposal, evaluator)
    now = timezone.now()
    replaces = _unreplaced_recusal(proposal)
    assignment = _insert_assignment(proposal, evaluator, actor, now, _deadline(deadline, now), replaces)
    deadline = assignment.deadline
    if proposal.status == Proposal.Status.ELIGIBLE:
        move_proposal(proposal, Proposal.Status.EVALUATION)
    audit_record(
        actor=actor,
        verb="evaluation.assign",
        target=proposal,
        changes={
            "evaluator": evaluator.username,
            "deadline": deadline,
            "replaces": replaces.evaluator.username if replaces else None,
        },
    )
    _notify_assigned(evaluator, [proposal], deadline)
    return assignment


@dataclass
class AutoAssignResult:
    created: list[Assignment] = field(default_factory=list)
    shortfall: dict[Proposal, int] = field(default_factory=dict)  # proposal -> evaluators still missing


@transaction.atomic
def assignments_auto_assign(*, cut_off: CutOff, actor: User, deadline: datetime | None = None) -> AutoAssignResult:
    """Give every eligible proposal of the cut-off the scheme's minimum number of evaluators (replacing the
    recused ones), choosing the least loaded evaluators without a detected conflict."""
    cut_off = CutOff.objects.select_for_update().select_related("call").get(pk=cut_off.pk)
    scheme = scheme_of(cut_off.call)
    now = timezone.now()
    declaration_deadline, deadline = assignment_deadlines(
        call=cut_off.call, cut_off=cut_off, now=now, review_deadline=_deadline(deadline, now)
    )
    proposals = list(
        Proposal.objects.select_for_update(of=("self",))
        .filter(cut_off_id=cut_off.pk, status__in=OPEN_WORK)
        .select_related("organisation")
        .prefetch_related(
            "consortium_members",
            Prefetch("assignments", queryset=Assignment.objects.order_by("deadline", "id")),
            "assignments__replacement",
        )
        .order_by("pk")
    )
    people = list(evaluators())
    loads = evaluator_loads()
    result = AutoAssignResult()
    by_evaluator: dict[int, list[Proposal]] = {}
    for proposal in sorted(proposals, key=lambda p: p.reference or ""):
        existing = list(proposal.assignments.all())
        active = [a for a in existing if not a.is_recused and not a.is_closed]
        need = scheme.min_evaluators - len(active)
        if need <= 0:
            continue
        taken = {a.evaluator_id for a in existing}
        members = {m.organisation_id for m in proposal.consortium_members.all()}
        candidates = [
            e
            for e in people
            if e.pk not in taken and not conflict_reason(evaluator=e, proposal=proposal, member_org_ids=members)
        ]
        candidates.sort(key=lambda e: (loads.get(e.pk, 0), e.username))
        recusals = sorted(
            (a for a in existing if a.is_recused and not hasattr(a, "replacement")), key=lambda a: a.declared_at
        )
        chosen = candidates[:need]
        for index, person in enumerate(chosen):
            assignment = Assignment.objects.create(
                proposal=proposal, evaluator=person, assigned_by=actor, assigned_at=now,
                declaration_deadline=declaration_deadline, deadline=deadline, auto_assigned=True,
                replaces=recusals[index] if index < len(recusals) else None,
            )  # fmt: skip
            result.created.append(assignment)
            loads[person.pk] = loads.get(person.pk, 0) + 1
            by_evaluator.setdefault(person.pk, []).append(proposal)
        if len(chosen) < need:
            result.shortfall[proposal] = need - len(chosen)
        if chosen and proposal.status == Proposal.Status.ELIGIBLE:
            move_proposal(proposal, Proposal.Status.EVALUATION)
        if chosen:
            audit_record(
                actor=actor,
                verb="evaluation.assign",
                target=proposal,
                changes={"evaluators": [p.username for p in chosen], "deadline": deadline, "auto": True},
            )
    people_by_id = {p.pk: p for p in people}
    for evaluator_id, assigned in by_evaluator.items():
        _notify_assigned(people_by_id[evaluator_id], assigned, deadline)
    return result


@transaction.atomic
def assignment_declare(*, assignment: Assignment, conflict: bool, reason: str = "", actor: User) -> Assignment:
    """The evaluator's conflict-of-interest declaration. "No conflict" opens the proposal to them; a conflict
    recuses the assignment and flags it for replacement. Final once made."""
    proposal = lock_proposal(assignment.proposal_id)
    assignment = Assignment.objects.select_for_update().select_related("evaluator").get(pk=assignment.pk)
    if assignment.evaluator_id != actor.pk:
        raise NotPermitted("Only the assigned evaluator declares a conflict of interest.")
    closed = closed_refusal(assignment, proposal)
    if closed:
        raise StateConflict(closed, code="assignment_closed")
    if assignment.declaration != Assignment.Declaration.PENDING:
        raise StateConflict(
            f"You already declared {assignment.get_declaration_display().lower()} for proposal {proposal} on "
            f"{local(assignment.declared_at)}: a declaration is final.",
            code="already_declared",
        )
    if proposal.status not in OPEN_WORK:
        raise StateConflict(f"Proposal {proposal} is {status_label(proposal)}: its evaluation is over.", code="decided")
    reason = declaration_record(assignment, ASSIGNMENT, conflict=conflict, reason=reason)
    audit_record(
        actor=actor,
        verb="evaluation.declare",
        target=proposal,
        changes={"evaluator": actor.username, "conflict": conflict, "reason": reason},
    )
    if conflict and assignment.assigned_by_id:
        notification_queue(
            recipient=assignment.assigned_by,
            subject=f"Conflict of interest: proposal {proposal.reference} needs another evaluator",
            body=(
                f"{actor.display_name} declared a conflict of interest with proposal {proposal.reference} "
                f"({proposal.acronym}) and is recused.\n\nReason: {reason}\n\nAssign a replacement on the "
                f"assignment board.\n"
            ),
        )
    return assignment
