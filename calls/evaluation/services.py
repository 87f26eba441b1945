"""Writes of the evaluation and selection. A proposal moves from eligible to evaluation, and on to selected,
reserve list, rejected (or withdrawn after selection) only here.

Locks are always taken in this order: call, cut-off, proposals (by primary key), assignments, reviews — and
the audit chain head last (inside `audit_record`).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.evaluation.scheme import number, scheme_from_data, scheme_of
from calls.evaluation.selectors import (
    DECIDED,
    OPEN_WORK,
    Funding,
    call_available_amount,
    conflict_reason,
    cut_off_ranking,
    evaluator_loads,
    evaluators,
    proposal_eu_contribution,
    proposal_grant,
)
from calls.models import (
    Assignment,
    Call,
    Consensus,
    ConsensusScore,
    CutOff,
    Decision,
    DecisionPublication,
    Proposal,
    Review,
    ReviewScore,
    SummaryReport,
)
from calls.transitions import ASSIGNMENT, REVIEW, proposal_transition
from eurohpc.errors import LimitExceeded, NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import eur, local
from eurohpc.models import Role, User
from eurohpc.pdf import render_failure_reason
from eurohpc.services import audit_record, notification_queue

DEFAULT_REVIEW_DAYS = 21
OUTCOME_BY_FUNDING = {
    Funding.ABOVE_LINE: Decision.Outcome.SELECTED,
    Funding.RESERVE: Decision.Outcome.RESERVE,
    Funding.BELOW_THRESHOLD: Decision.Outcome.REJECTED,
}
STATUS_BY_OUTCOME = {
    Decision.Outcome.SELECTED: Proposal.Status.SELECTED,
    Decision.Outcome.RESERVE: Proposal.Status.RESERVE,
    Decision.Outcome.REJECTED: Proposal.Status.REJECTED,
    Decision.Outcome.WITHDRAWN: Proposal.Status.WITHDRAWN,
}


def _status(proposal: Proposal) -> str:
    return proposal.get_status_display().lower()


def _lock_proposal(proposal: Proposal | int) -> Proposal:
    pk = proposal.pk if isinstance(proposal, Proposal) else proposal
    return Proposal.objects.select_for_update(of=("self",)).select_related("call", "cut_off", "organisation").get(pk=pk)


def _lock_call(call_id: int) -> Call:
    return Call.objects.select_for_update().get(pk=call_id)


def _applicant_recipients(proposal: Proposal) -> set[User]:
    ids = {i for i in (proposal.created_by_id, proposal.submitted_by_id) if i}
    return set(User.objects.filter(pk__in=ids, is_active=True))


def _move(proposal: Proposal, status: str, **fields) -> None:
    proposal_transition(proposal=proposal, to=status, **fields)


# --- assignments ------------------------------------------------------------------------------------


def _check_assignable(proposal: Proposal) -> None:
    if proposal.status not in OPEN_WORK:
        raise StateConflict(
            f"Proposal {proposal} is {_status(proposal)}: evaluators are assigned to eligible proposals "
            f"under evaluation.",
            code="not_in_evaluation",
        )


def _deadline(deadline: datetime | None, now: datetime) -> datetime:
    if deadline is None:
        return now + timedelta(days=DEFAULT_REVIEW_DAYS)
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


@transaction.atomic
def assignment_create(
    *, proposal: Proposal, evaluator: User, actor: User, deadline: datetime | None = None
) -> Assignment:
    """Assign one evaluator to one proposal, refusing detected conflicts and a second assignment."""
    proposal = _lock_proposal(proposal)
    _check_assignable(proposal)
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
    if Assignment.objects.filter(proposal_id=proposal.pk, evaluator_id=evaluator.pk).exists():
        raise StateConflict(
            f"{evaluator.display_name} is already assigned to proposal {proposal}.", code="already_assigned"
        )
    now = timezone.now()
    deadline = _deadline(deadline, now)
    replaces = _unreplaced_recusal(proposal)
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                proposal=proposal, evaluator=evaluator, assigned_by=actor, assigned_at=now, deadline=deadline,
                replaces=replaces,
            )  # fmt: skip
    except IntegrityError:  # the same evaluator assigned meanwhile
        raise StateConflict(
            f"{evaluator.display_name} is already assigned to proposal {proposal}.", code="already_assigned"
        ) from None
    if proposal.status == Proposal.Status.ELIGIBLE:
        _move(proposal, Proposal.Status.EVALUATION)
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
    deadline = _deadline(deadline, now)
    proposals = list(
        Proposal.objects.select_for_update(of=("self",))
        .filter(cut_off_id=cut_off.pk, status__in=OPEN_WORK)
        .select_related("organisation")
        .prefetch_related("consortium_members", "assignments__replacement")
        .order_by("pk")
    )
    people = list(evaluators())
    loads = evaluator_loads()
    result = AutoAssignResult()
    by_evaluator: dict[int, list[Proposal]] = {}
    for proposal in sorted(proposals, key=lambda p: p.reference or ""):
        existing = list(proposal.assignments.all())
        active = [a for a in existing if not a.is_recused]
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
                proposal=proposal, evaluator=person, assigned_by=actor, assigned_at=now, deadline=deadline,
                auto_assigned=True, replaces=recusals[index] if index < len(recusals) else None,
            )  # fmt: skip
            result.created.append(assignment)
            loads[person.pk] = loads.get(person.pk, 0) + 1
            by_evaluator.setdefault(person.pk, []).append(proposal)
        if len(chosen) < need:
            result.shortfall[proposal] = need - len(chosen)
        if chosen and proposal.status == Proposal.Status.ELIGIBLE:
            _move(proposal, Proposal.Status.EVALUATION)
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
    proposal = _lock_proposal(assignment.proposal_id)
    assignment = Assignment.objects.select_for_update().select_related("evaluator").get(pk=assignment.pk)
    if assignment.evaluator_id != actor.pk:
        raise NotPermitted("Only the assigned evaluator declares a conflict of interest.")
    if assignment.declaration != Assignment.Declaration.PENDING:
        raise StateConflict(
            f"You already declared {assignment.get_declaration_display().lower()} for proposal {proposal} on "
            f"{local(assignment.declared_at)}: a declaration is final.",
            code="already_declared",
        )
    if proposal.status not in OPEN_WORK:
        raise StateConflict(f"Proposal {proposal} is {_status(proposal)}: its evaluation is over.", code="decided")
    reason = (reason or "").strip()
    if conflict and not reason:
        raise RuleViolation(
            "Describe the conflict of interest.",
            code="reason_required",
            errors={"reason": ["Describe the conflict of interest."]},
        )
    ASSIGNMENT.move(
        assignment,
        Assignment.Declaration.CONFLICT if conflict else Assignment.Declaration.NO_CONFLICT,
        declaration_reason=reason,
        declared_at=timezone.now(),
    )
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


# --- individual reviews ------------------------------------------------------------------------------


def coi_refusal(assignment: Assignment, proposal: Proposal, what: str = "reading it") -> str | None:
    if assignment.declaration == Assignment.Declaration.PENDING:
        return f"Declare whether you have a conflict of interest with proposal {proposal} before {what}."
    if assignment.declaration == Assignment.Declaration.CONFLICT:
        return f"You declared a conflict of interest with proposal {proposal}: it is closed to you."
    return None


@transaction.atomic
def review_save(
    *,
    assignment: Assignment,
    scores: dict | None,
    comments: dict | None,
    actor: User,
    submit: bool = False,
) -> Review:
    """Save the evaluator's scores and comments (a draft may be partial); `submit` checks that every criterion
    has a score on its scale and a comment, and locks the review."""
    proposal = _lock_proposal(assignment.proposal_id)
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.evaluator_id != actor.pk:
        raise NotPermitted("Only the assigned evaluator writes this review.")
    refusal = coi_refusal(assignment, proposal, "scoring it")
    if refusal:
        raise NotPermitted(refusal, code="conflict_of_interest_gate")
    review = Review.objects.select_for_update().filter(assignment_id=assignment.pk).first()
    if review is not None and review.status == Review.Status.SUBMITTED:
        raise StateConflict(
            f"Your review of proposal {proposal} was submitted on {local(review.submitted_at)}: a submitted "
            f"review is locked.",
            code="review_locked",
        )
    if proposal.status != Proposal.Status.EVALUATION:
        raise StateConflict(f"Proposal {proposal} is {_status(proposal)}: its evaluation is over.", code="decided")
    if submit and hasattr(proposal, "consensus"):
        raise StateConflict(f"The consensus on proposal {proposal} is already recorded.", code="consensus_recorded")
    scheme = scheme_of(proposal.call)
    parsed, texts = scheme.parse(scores=scores, comments=comments, complete=submit)
    if review is None:
        review = Review(assignment=assignment)
    review.draft = {"scores": {code: number(value) for code, value in parsed.items()}, "comments": texts}
    review.save()
    if submit:
        REVIEW.move(review, Review.Status.SUBMITTED, submitted_at=timezone.now())
    if submit:
        ReviewScore.objects.bulk_create(
            [
                ReviewScore(review=review, criterion=c.code, score=parsed[c.code], max_score=c.max,
                            comment=texts[c.code])
                for c in scheme.criteria
            ]
        )  # fmt: skip
    audit_record(
        actor=actor,
        verb="evaluation.review_submit" if submit else "evaluation.review_save",
        target=proposal,
        changes={"evaluator": actor.username, "scores": review.draft["scores"]},
    )
    return review


def review_submit(*, assignment: Assignment, actor: User) -> Review:
    """Submit the draft saved before."""
    review = Review.objects.filter(assignment_id=assignment.pk).first()
    draft = review.draft if review is not None else {}
    return review_save(
        assignment=assignment,
        scores=draft.get("scores"),
        comments=draft.get("comments"),
        actor=actor,
        submit=True,
    )


# --- consensus -----------------------------------------------------------------------------------------


@transaction.atomic
def consensus_record(*, proposal: Proposal, scores: dict, comments: dict, actor: User) -> Consensus:
    """Record (or correct, until a decision is taken) the consensus scores and comments of a proposal."""
    proposal = _lock_proposal(proposal)
    if proposal.status != Proposal.Status.EVALUATION:
        raise StateConflict(
            f"Proposal {proposal} is {_status(proposal)}: the consensus is recorded while it is under evaluation.",
            code="not_in_evaluation",
        )
    scheme = scheme_of(proposal.call)
    submitted = Review.objects.filter(
        assignment__proposal_id=proposal.pk,
        assignment__declaration=Assignment.Declaration.NO_CONFLICT,
        status=Review.Status.SUBMITTED,
    ).count()
    if submitted < scheme.min_evaluators:
        raise StateConflict(
            f"The consensus needs at least {scheme.min_evaluators} submitted individual reviews; proposal "
            f"{proposal} has {submitted}.",
            code="reviews_missing",
        )
    parsed, texts = scheme.parse(scores=scores, comments=comments, complete=True)
    total = scheme.total(parsed)
    passed = scheme.passes(parsed)
    now = timezone.now()
    consensus = Consensus.objects.select_for_update().filter(proposal_id=proposal.pk).first()
    if consensus is None:
        consensus = Consensus(proposal=proposal, recorded_by=actor, recorded_at=now)
    consensus.scheme = scheme.as_data()
    consensus.total, consensus.passed_thresholds, consensus.reviews_count = total, passed, submitted
    consensus.recorded_by, consensus.updated_at = actor, now
    consensus.save()
    consensus.scores.all().delete()
    ConsensusScore.objects.bulk_create(
        [
            ConsensusScore(consensus=consensus, criterion=c.code, score=parsed[c.code], max_score=c.max,
                           comment=texts[c.code])
            for c in scheme.criteria
        ]
    )  # fmt: skip
    audit_record(
        actor=actor,
        verb="evaluation.consensus",
        target=proposal,
        changes={
            "scores": {code: number(value) for code, value in parsed.items()},
            "total": total,
            "passed_thresholds": passed,
            "reviews": submitted,
        },
    )
    return consensus


# --- decisions -------------------------------------------------------------------------------------------


def _check_not_published(cut_off_id: int) -> None:
    publication = DecisionPublication.objects.filter(cut_off_id=cut_off_id).first()
    if publication is not None:
        raise StateConflict(
            f"The decisions of this cut-off were published on {local(publication.published_at)}: they change "
            f"only by promotion from the reserve list or withdrawal after selection.",
            code="published",
        )


def _check_fits(proposal: Proposal, amount: Decimal, available: Decimal, call: Call) -> None:
    if amount > available:
        raise LimitExceeded(
            f"Selecting proposal {proposal} needs {eur(amount)}; {eur(max(available, Decimal('0')))} is available "
            f"in {call.identifier}: short by {eur(amount - max(available, Decimal('0')))}.",
            code="funding_exceeded",
        )


def _record(*, proposal: Proposal, outcome: str, kind: str, rank, actor: User, reason: str, eu: Decimal) -> Decision:
    consensus = proposal.consensus
    decision = Decision.objects.create(
        proposal=proposal, outcome=outcome, kind=kind, rank=rank, total=consensus.total,
        passed_thresholds=consensus.passed_thresholds, eu_contribution=eu, reason=reason, decided_by=actor,
        decided_at=timezone.now(),
    )  # fmt: skip
    fields = {"withdrawn_at": decision.decided_at} if outcome == Decision.Outcome.WITHDRAWN else {}
    _move(proposal, STATUS_BY_OUTCOME[outcome], **fields)
    audit_record(
        actor=actor,
        verb=f"evaluation.{kind}",
        target=proposal,
        changes={"outcome": outcome, "rank": rank, "total": consensus.total, "eu_contribution": eu, "reason": reason},
    )
    return decision


@transaction.atomic
def decision_record(*, proposal: Proposal, outcome: str, actor: User, reason: str = "") -> Decision:
    """The officer's decision on one proposal before publication: selected, reserve list or rejected.

    A selection must fit the money still available in the call (`call_available_amount`); the call row is
    locked so that two officers cannot both take the last euro.
    """
    if outcome not in (Decision.Outcome.SELECTED, Decision.Outcome.RESERVE, Decision.Outcome.REJECTED):
        raise RuleViolation(
            f"Unknown outcome {outcome!r}; outcomes are selected, reserve, rejected.",
            code="outcome",
            errors={"outcome": ["Choose selected, reserve or rejected."]},
        )
    call = _lock_call(proposal.call_id)
    proposal = _lock_proposal(proposal)
    if proposal.status not in (Proposal.Status.EVALUATION, *DECIDED):
        raise StateConflict(
            f"Proposal {proposal} is {_status(proposal)}: decisions are taken on evaluated proposals.",
            code="not_in_evaluation",
        )
    _check_not_published(proposal.cut_off_id)
    consensus = getattr(proposal, "consensus", None)
    if consensus is None:
        raise StateConflict(f"Record the consensus on proposal {proposal} before deciding.", code="no_consensus")
    if outcome != Decision.Outcome.REJECTED and not consensus.passed_thresholds:
        raise RuleViolation(
            f"Proposal {proposal} did not pass the thresholds: it can only be rejected.", code="below_threshold"
        )
    if proposal.status == STATUS_BY_OUTCOME[outcome]:
        return Decision.objects.filter(proposal_id=proposal.pk).order_by("-id").first()  # already so
    eu = proposal_eu_contribution(proposal=proposal)
    if outcome == Decision.Outcome.SELECTED:
        _check_fits(proposal, eu, call_available_amount(call), call)
    ranking = cut_off_ranking(cut_off=proposal.cut_off, call=call)
    row = ranking.row_for(proposal.pk)
    return _record(
        proposal=proposal,
        outcome=outcome,
        kind=Decision.Kind.DECISION,
        rank=row.rank if row else None,
        actor=actor,
        reason=(reason or "").strip(),
        eu=eu,
    )


@transaction.atomic
def decisions_confirm(*, cut_off: CutOff, actor: User) -> list[Decision]:
    """Record the proposed outcome of every ranked proposal of the cut-off: above the funding line →
    selected, reserve list → reserve, below threshold → rejected. Needs a consensus on every proposal."""
    call = _lock_call(cut_off.call_id)
    cut_off = CutOff.objects.select_for_update().get(pk=cut_off.pk)
    _check_not_published(cut_off.pk)
    list(
        Proposal.objects.select_for_update(of=("self",))
        .filter(cut_off_id=cut_off.pk, status__in=(*OPEN_WORK, *DECIDED))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ranking = cut_off_ranking(cut_off=cut_off, call=call)
    if ranking.pending:
        names = ", ".join(str(r.proposal) for r in ranking.pending)
        raise StateConflict(f"The consensus is missing for: {names}.", code="no_consensus")
    if not ranking.rows:
        raise StateConflict("This cut-off has no evaluated proposal to decide on.", code="nothing_to_decide")
    decisions = []
    # Releases first, so that money a proposal gives back is there for the ones selected after it.
    rows = sorted(ranking.rows, key=lambda r: (r.funding == Funding.ABOVE_LINE, r.rank))
    for row in rows:
        outcome = OUTCOME_BY_FUNDING[row.funding]
        if row.proposal.status == STATUS_BY_OUTCOME[outcome]:
            continue
        decisions.append(
            _record(
                proposal=row.proposal,
                outcome=outcome,
                kind=Decision.Kind.DECISION,
                rank=row.rank,
                actor=actor,
                reason="",
                eu=row.eu_contribution,
            )
        )
    if call.indicative_budget is not None and call_available_amount(call) < 0:
        raise LimitExceeded(f"The selections would exceed the budget of {call.identifier}.", code="funding_exceeded")
    return decisions


def _outcome_text(decision: Decision, proposal: Proposal, scheme_max: str) -> str:
    if decision.outcome == Decision.Outcome.SELECTED:
        head = "Your proposal is selected for funding."
    elif decision.outcome == Decision.Outcome.RESERVE:
        head = "Your proposal passed the thresholds and is on the reserve list."
    else:
        head = "Your proposal is not selected for funding."
    return (
        f"{head}\n\nProposal: {proposal.reference} ({proposal.acronym})\n"
        f"Weighted total: {number(decision.total)} of {scheme_max}\n"
        + (f"Rank: {decision.rank}\n" if decision.rank else "")
        + "\nThe evaluation summary report will be available on your proposal's page shortly.\n"
    )


def _request_summary_report(proposal: Proposal, decision: Decision) -> SummaryReport:
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


def _notify_outcome(proposal: Proposal, decision: Decision, subject: str) -> None:
    scheme_max = number(scheme_from_data(proposal.consensus.scheme).max_total)
    body = _outcome_text(decision, proposal, scheme_max)
    for recipient in _applicant_recipients(proposal):
        notification_queue(recipient=recipient, subject=subject, body=body)


@transaction.atomic
def decisions_publish(*, cut_off: CutOff, actor: User) -> DecisionPublication:
    """Make the decisions of a cut-off known: the applicants are told, the summary reports are rendered."""
    _lock_call(cut_off.call_id)
    cut_off = CutOff.objects.select_for_update().select_related("call").get(pk=cut_off.pk)
    _check_not_published(cut_off.pk)
    proposals = list(
        Proposal.objects.select_for_update(of=("self",))
        .filter(cut_off_id=cut_off.pk, status__in=(*OPEN_WORK, *DECIDED))
        .select_related("consensus")
        .order_by("pk")
    )
    undecided = [p for p in proposals if p.status in OPEN_WORK]
    if undecided:
        raise StateConflict(
            f"Decide on every proposal first; undecided: {', '.join(str(p) for p in undecided)}.", code="undecided"
        )
    if not proposals:
        raise StateConflict("This cut-off has no decision to publish.", code="nothing_to_publish")
    publication = DecisionPublication.objects.create(cut_off=cut_off, published_by=actor, published_at=timezone.now())
    latest = {}
    for decision in Decision.objects.filter(proposal__in=proposals).order_by("id"):
        latest[decision.proposal_id] = decision
    for proposal in proposals:
        decision = latest[proposal.pk]
        _request_summary_report(proposal, decision)
        _notify_outcome(proposal, decision, f"Evaluation outcome: proposal {proposal.reference}")
    counts = {s: sum(1 for p in proposals if p.status == s) for s in DECIDED}
    audit_record(actor=actor, verb="evaluation.publish", target=cut_off.call, changes={
        "cut_off": cut_off.closes_at, **{str(k): v for k, v in counts.items()}})  # fmt: skip
    return publication


@transaction.atomic
def reserve_promote(*, proposal: Proposal, actor: User, reason: str = "") -> Decision:
    """Promote the first reserve proposal that fits the money now available (after a withdrawal, or when
    money frees up). A recorded decision; the applicant is told and the summary report renewed."""
    call = _lock_call(proposal.call_id)
    proposal = _lock_proposal(proposal)
    if proposal.status != Proposal.Status.RESERVE:
        raise StateConflict(
            f"Proposal {proposal} is {_status(proposal)}: only a proposal on the reserve list is promoted.",
            code="not_reserve",
        )
    if not DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).exists():
        raise StateConflict(
            "The decisions of this cut-off are not published yet: record the decision instead.", code="not_published"
        )
    ranking = cut_off_ranking(cut_off=proposal.cut_off, call=call)
    row = ranking.row_for(proposal.pk)
    _check_fits(proposal, row.eu_contribution, ranking.available, call)
    candidate = ranking.promotion_candidate
    if candidate is not None and candidate.proposal.pk != proposal.pk:
        raise StateConflict(
            f"Promote proposal {candidate.proposal} first: it ranks higher on the reserve list "
            f"(rank {candidate.rank}) and fits the available amount.",
            code="not_first_reserve",
        )
    decision = _record(
        proposal=proposal,
        outcome=Decision.Outcome.SELECTED,
        kind=Decision.Kind.PROMOTION,
        rank=row.rank,
        actor=actor,
        reason=(reason or "").strip(),
        eu=row.eu_contribution,
    )
    _request_summary_report(proposal, decision)
    _notify_outcome(proposal, decision, f"Evaluation outcome: proposal {proposal.reference} selected from reserve")
    return decision


@transaction.atomic
def selection_withdraw(*, proposal: Proposal, reason: str, actor: User) -> Decision:
    """A selected proposal withdraws (the applicant declines, or the officer records it): its money returns to
    the call and the first fitting reserve proposal becomes the candidate for promotion."""
    _lock_call(proposal.call_id)
    proposal = _lock_proposal(proposal)
    if proposal.status != Proposal.Status.SELECTED:
        raise StateConflict(
            f"Proposal {proposal} is {_status(proposal)}: only a selected proposal withdraws from the selection.",
            code="not_selected",
        )
    if not DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).exists():
        raise StateConflict(
            "The decisions of this cut-off are not published yet: record another decision instead.",
            code="not_published",
        )
    grant = proposal_grant(proposal=proposal)
    if grant is not None:
        raise StateConflict(
            f"Proposal {proposal} has its grant {grant.reference} ({grant.get_status_display().lower()}): "
            "a selection with a grant is not withdrawn; the grant is terminated instead.",
            code="grant_exists",
        )
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(
            "Give the reason for the withdrawal.", code="reason_required", errors={"reason": ["Give the reason."]}
        )
    previous = Decision.objects.filter(proposal_id=proposal.pk).order_by("-id").first()
    decision = _record(
        proposal=proposal,
        outcome=Decision.Outcome.WITHDRAWN,
        kind=Decision.Kind.WITHDRAWAL,
        rank=previous.rank if previous else None,
        actor=actor,
        reason=reason,
        eu=proposal_eu_contribution(proposal=proposal),
    )
    for recipient in _applicant_recipients(proposal):
        notification_queue(
            recipient=recipient,
            subject=f"Withdrawal recorded: proposal {proposal.reference}",
            body=f"The withdrawal of proposal {proposal.reference} ({proposal.acronym}) from the selection is "
            f"recorded.\n\nReason: {reason}\n",
        )
    return decision


# --- evaluation summary reports ---------------------------------------------------------------------------


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
    report.status = SummaryReport.Status.PENDING
    report.error = ""
    report.save(update_fields=["status", "error"])
    audit_record(actor=actor, verb="evaluation.summary_report_retry", target=proposal, changes={})
    transaction.on_commit(lambda: render_summary_report.delay(report_id=report.pk))
    return report


# --- history ------------------------------------------------------------------------------------------------


@transaction.atomic
def evaluation_record_history(
    *,
    proposal: Proposal,
    reviews: list[tuple[User, dict, dict]],
    consensus_scores: dict,
    consensus_comments: dict,
    rank: int | None,
    assigned_at: datetime,
    decided_at: datetime,
    actor: User,
) -> Decision:
    """Record the evaluation of a proposal decided before this system ran (the programme's published selections):
    the assignments with their declarations, the submitted reviews (evaluator, scores, comments), the consensus
    and the decision matching the proposal's recorded status. Conflicts of interest are still refused."""
    proposal = _lock_proposal(proposal)
    if proposal.status not in DECIDED:
        raise RuleViolation("Only decided proposals have their evaluation recorded as history.", code="not_decided")
    if Consensus.objects.filter(proposal_id=proposal.pk).exists():
        raise StateConflict(f"The evaluation of proposal {proposal} is already recorded.", code="already_recorded")
    if not assigned_at < decided_at:
        raise RuleViolation("The experts were assigned before the decision.", code="history_order")
    scheme = scheme_of(proposal.call)
    if len(reviews) < scheme.min_evaluators:
        raise RuleViolation(f"A consensus rests on at least {scheme.min_evaluators} reviews.", code="reviews_missing")
    step = (decided_at - assigned_at) / 4

    def working_hour(moment: datetime, hour: int) -> datetime:
        # History reads like office work: a step of days lands on that day at a working hour, not at 02:30.
        if step < timedelta(days=1):
            return moment
        day = timezone.localtime(moment).date()
        return timezone.make_aware(datetime.combine(day, time(hour)))

    declared_at, submitted_at = working_hour(assigned_at + step / 4, 10), working_hour(assigned_at + step, 16)
    deadline, recorded_at = working_hour(assigned_at + 2 * step, 17), working_hour(assigned_at + 3 * step, 15)
    for evaluator, scores, comments in reviews:
        conflict = conflict_reason(evaluator=evaluator, proposal=proposal)
        if conflict:
            raise RuleViolation(f"Conflict of interest: {conflict}", code="conflict_of_interest")
        parsed, texts = scheme.parse(scores=scores, comments=comments, complete=True)
        assignment = Assignment.objects.create(
            proposal=proposal, evaluator=evaluator, assigned_by=actor, assigned_at=assigned_at,
            deadline=deadline, declaration=Assignment.Declaration.NO_CONFLICT, declared_at=declared_at,
        )  # fmt: skip
        review = Review.objects.create(
            assignment=assignment,
            status=Review.Status.SUBMITTED,
            submitted_at=submitted_at,
            draft={"scores": {c: number(v) for c, v in parsed.items()}, "comments": texts},
        )
        # created_at and updated_at are set on save; history keeps the times it records.
        Review.objects.filter(pk=review.pk).update(created_at=submitted_at, updated_at=submitted_at)
        ReviewScore.objects.bulk_create(
            [
                ReviewScore(review=review, criterion=c.code, score=parsed[c.code], max_score=c.max,
                            comment=texts[c.code])
                for c in scheme.criteria
            ]
        )  # fmt: skip
    parsed, texts = scheme.parse(scores=consensus_scores, comments=consensus_comments, complete=True)
    if proposal.status != Proposal.Status.REJECTED and not scheme.passes(parsed):
        raise RuleViolation(f"Proposal {proposal} is {_status(proposal)}: its consensus must pass the thresholds.")
    consensus = Consensus.objects.create(
        proposal=proposal, scheme=scheme.as_data(), total=scheme.total(parsed), passed_thresholds=scheme.passes(parsed),
        reviews_count=len(reviews), recorded_by=actor, recorded_at=recorded_at, updated_at=recorded_at,
    )  # fmt: skip
    ConsensusScore.objects.bulk_create(
        [
            ConsensusScore(consensus=consensus, criterion=c.code, score=parsed[c.code], max_score=c.max,
                           comment=texts[c.code])
            for c in scheme.criteria
        ]
    )  # fmt: skip
    decision = Decision.objects.create(
        proposal=proposal, outcome=proposal.status, kind=Decision.Kind.DECISION, rank=rank, total=consensus.total,
        passed_thresholds=consensus.passed_thresholds, eu_contribution=proposal_eu_contribution(proposal=proposal),
        reason="Recorded from the programme's published selection.", decided_by=actor, decided_at=decided_at,
    )  # fmt: skip
    audit_record(
        actor=actor,
        verb="evaluation.record_history",
        target=proposal,
        changes={
            "evaluators": [e.username for e, _, _ in reviews],
            "total": consensus.total,
            "outcome": proposal.status,
            "decided_at": decided_at,
        },
    )
    return decision


@transaction.atomic
def publication_record_history(*, cut_off: CutOff, published_at: datetime, actor: User) -> DecisionPublication:
    """Record that the decisions of a past cut-off were published, and prepare their summary reports."""
    cut_off = CutOff.objects.select_for_update().select_related("call").get(pk=cut_off.pk)
    existing = DecisionPublication.objects.filter(cut_off_id=cut_off.pk).first()
    if existing is not None:
        return existing
    publication = DecisionPublication.objects.create(cut_off=cut_off, published_by=actor, published_at=published_at)
    latest = {}
    for decision in Decision.objects.filter(proposal__cut_off_id=cut_off.pk).order_by("id"):
        latest[decision.proposal_id] = decision
    for proposal in Proposal.objects.filter(pk__in=latest):
        _request_summary_report(proposal, latest[proposal.pk])
    audit_record(actor=actor, verb="evaluation.record_history_publication", target=cut_off.call,
                 changes={"cut_off": cut_off.closes_at, "published_at": published_at})  # fmt: skip
    return publication
