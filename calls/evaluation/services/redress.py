"""The evaluation review (redress) procedure: an applicant contests the procedure of a notified reserve-list or
rejection outcome within the call's window; the programme office records admissibility and appoints a review
committee of officers who took no part in that evaluation; each member declares any conflict of interest; a
member's opinion confirms the evaluation or sends the proposal back to evaluation by new experts; the officer then
concludes the review from the new consensus, with the cut-off's ranking and funding line recomputed.

Who may sit on the committee: an active programme officer who, for that proposal, assigned or reassigned no expert
(evaluator or technical), recorded no consensus, took no decision, did not publish its cut-off's decisions, was not
one of its experts, and did not record the admissibility of the request (the committee reviews the office's
handling too) — `officer_involvements`. A committee needs at least two members who have not declared a conflict,
when appointed and when it gives its opinion; any one of them who declared no conflict records that opinion.

The programme office hears of a new request (to record its admissibility) and of a committee's call for a
re-evaluation (to assign new experts): every active programme officer but the one who acted is notified, since
the office shares that work and the officer who published the cut-off may be away or kept off the case.

A re-evaluation closes the former experts' assignments and takes the contested consensus out of force (its
scores stay in the audit trail), so that the new experts review blind and the ordinary consensus is recorded anew.

Locks: call, cut-off, proposal, redress request, committee seats, assignments, consensus — then the audit chain's
head.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.evaluation.scheme import number
from calls.evaluation.selectors import latest_decision
from calls.evaluation.selectors.redress import (
    MIN_COMMITTEE,
    committee_available,
    officer_involvements,
    opinion_refusal,
    programme_office,
    re_evaluation_consensus,  # noqa: F401 -- the pages read it from here
    redress_conclusion,
    redress_window,
)
from calls.evaluation.services._common import (
    applicant_recipients,
    close_assignments,
    declaration_record,
    lock_call,
    lock_proposal,
    move_proposal,
    request_summary_report,
)
from calls.evaluation.services.decisions import STATUS_BY_OUTCOME
from calls.models import (
    Assignment,
    Consensus,
    CutOff,
    Decision,
    Proposal,
    RedressCommitteeMember,
    RedressRequest,
)
from calls.rules import is_proposal_applicant
from calls.transitions import COMMITTEE_DECLARATION, REDRESS, proposal_transition
from eurohpc import errors, limits
from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.formatting import local
from eurohpc.models import Role, User
from eurohpc.services import audit_record, notification_queue

R = RedressRequest.Status


def _lock_request(request: RedressRequest | int) -> RedressRequest:
    pk = request.pk if isinstance(request, RedressRequest) else request
    return RedressRequest.objects.select_for_update(of=("self",)).select_related("proposal", "decision").get(pk=pk)


def _reason(text: str, *, field: str, message: str, limit: int = limits.REASON) -> str:
    text = (text or "").strip()
    if not text:
        raise RuleViolation(message, code=f"{field}_required", errors={field: [message]})
    if len(text) > limit:
        raise RuleViolation(
            f"Keep it within {limit:,} characters.", code=f"{field}_too_long", errors={field: ["Too long."]}
        )
    return text


def _notify(request: RedressRequest, subject: str, body: str) -> None:
    """The applicant who made the request and the proposal's applicants hear of each step."""
    recipients = applicant_recipients(request.proposal)
    if request.submitted_by.is_active:
        recipients.add(request.submitted_by)
    for recipient in sorted(recipients, key=lambda u: u.username):
        notification_queue(recipient=recipient, subject=subject, body=body)


def _notify_office(subject: str, body: str, *, actor: User) -> None:
    """The programme office (`programme_office`), but the officer who acted, hears of work to do."""
    for officer in programme_office():
        if officer.pk != actor.pk:
            notification_queue(recipient=officer, subject=subject, body=body)


def _next_reference(proposal: Proposal) -> str:
    n = RedressRequest.objects.filter(proposal_id=proposal.pk).count() + 1
    return f"RED-{proposal.reference}-{n}"


@transaction.atomic
def redress_request_submit(*, proposal: Proposal, grounds: str, actor: User) -> RedressRequest:
    """An applicant of the proposal asks for an evaluation review of its latest notified outcome, within the call's
    window; the request gets its reference and the applicant a receipt."""
    proposal = lock_proposal(proposal)
    if not is_proposal_applicant(actor, proposal):
        raise NotPermitted(
            f"Only the applicants of proposal {proposal} may request an evaluation review of it.", code="not_applicant"
        )
    grounds = _reason(
        grounds,
        field="grounds",
        message="State the shortcomings of the evaluation procedure you contest.",
        limit=limits.REDRESS_GROUNDS,
    )
    now = timezone.now()
    window = redress_window(proposal=proposal, now=now)
    if window.refusal is not None:
        kind, code, message = window.refusal
        raise getattr(errors, kind)(message, code=code)
    try:
        with transaction.atomic():
            request = RedressRequest.objects.create(
                reference=_next_reference(proposal), proposal=proposal, decision=window.decision, grounds=grounds,
                submitted_by=actor, submitted_at=now, deadline=window.deadline,
            )  # fmt: skip
    except IntegrityError:  # another request for the same outcome meanwhile
        first = RedressRequest.objects.filter(proposal_id=proposal.pk, decision_id=window.decision.pk).first()
        raise StateConflict(
            f"An evaluation review of this outcome of proposal {proposal} was already requested "
            f"({first.reference if first else 'meanwhile'}): one request per proposal and outcome.",
            code="redress_exists",
        ) from None
    audit_record(
        actor=actor,
        verb="redress.submit",
        target=request,
        changes={"proposal": proposal.reference, "outcome": window.decision.outcome, "deadline": window.deadline},
    )
    _notify(
        request,
        f"Evaluation review requested: {request.reference}",
        f"Your request for an evaluation review of proposal {proposal.reference} ({proposal.acronym}) is "
        f"received.\n\nReference: {request.reference}\nReceived: {local(now)}\nDeadline of the request: "
        f"{local(window.deadline)}\n\nThe programme office will first check that the request concerns the "
        f"evaluation procedure (not the experts' judgement).\n",
    )
    _notify_office(
        f"Evaluation review to admit: {request.reference}",
        f"The applicants of proposal {proposal.reference} requested an evaluation review of it "
        f"({proposal.acronym}, {window.decision.get_outcome_display().lower()}): {request.reference}, received "
        f"{local(now)}.\n\nRecord its admissibility on the request's page (Evaluation reviews): admissible when it "
        f"states shortcomings of the evaluation procedure.\n",
        actor=actor,
    )
    return request


@transaction.atomic
def redress_admissibility_record(*, request: RedressRequest, admissible: bool, reason: str, actor: User):
    """The programme office finds the request admissible (it goes to a review committee) or not (closed, with the
    reason, e.g. it contests the experts' judgement rather than the procedure)."""
    request = _lock_request(request)
    if request.status != R.SUBMITTED:
        raise StateConflict(
            f"The admissibility of {request.reference} was already recorded: it is "
            f"{request.get_status_display().lower()}.",
            code="admissibility_recorded",
        )
    reason = (reason or "").strip()
    if not admissible:
        reason = _reason(reason, field="reason", message="Give the reason why the request is not admissible.")
    now = timezone.now()
    to = R.IN_REVIEW if admissible else R.INADMISSIBLE
    REDRESS.move(
        request, to, admissibility_by=actor, admissibility_at=now, admissibility_reason=reason,
        **({} if admissible else {"closed_at": now}),
    )  # fmt: skip
    audit_record(
        actor=actor, verb="redress.admissibility", target=request, changes={"admissible": admissible, "reason": reason}
    )
    if admissible:
        body = (
            f"Your request {request.reference} is admissible: a review committee of officers who took no part in "
            f"the evaluation of proposal {request.proposal.reference} will examine it.\n"
        )
    else:
        body = f"Your request {request.reference} is not admissible.\n\nReason: {reason}\n"
    _notify(request, f"Evaluation review {request.reference}: admissibility", body)
    return request


@transaction.atomic
def redress_committee_appoint(*, request: RedressRequest, members: list[User], actor: User) -> list:
    """Appoint programme officers who took no part in the evaluation to the request's review committee (more can
    be added later, say to replace one who declared a conflict). At least two members without a declared conflict
    must sit once the appointment is made."""
    request = _lock_request(request)
    if request.status != R.IN_REVIEW:
        raise StateConflict(
            f"{request.reference} is {request.get_status_display().lower()}: a committee is appointed to an "
            f"admissible request before its opinion.",
            code="redress_not_in_review",
        )
    members = list(dict.fromkeys(members))
    if not members:
        raise RuleViolation("Choose the committee's members.", code="members_required",
                            errors={"members": ["Choose at least one officer."]})  # fmt: skip
    seats = list(RedressCommitteeMember.objects.select_for_update().filter(request_id=request.pk).order_by("pk"))
    sitting = {s.member_id for s in seats}
    involvements = officer_involvements(request=request)  # the rule, with what each one did
    for member in members:
        if not (member.is_active and Role.PROGRAMME_OFFICER in member.roles):
            raise RuleViolation(
                f"{member.display_name} is not a programme officer: the committee is made of programme officers.",
                code="not_officer",
                errors={"members": [f"{member.display_name} is not a programme officer."]},
            )
        if member.pk in sitting:
            raise StateConflict(
                f"{member.display_name} already sits on the committee of {request.reference}.", code="already_member"
            )
        did = involvements.get(member.pk)
        if did:
            involved = f"{member.display_name} {did}"
            raise RuleViolation(
                f"{involved} The committee is made of officers not involved in that evaluation.",
                code="committee_involved",
                errors={"members": [involved]},
            )
    available = committee_available(seats) + len(members)
    if available < MIN_COMMITTEE:
        raise RuleViolation(
            f"A review committee has at least {MIN_COMMITTEE} members without a conflict of interest; "
            f"{request.reference} would have {available}.",
            code="committee_too_small",
            errors={"members": [f"Choose at least {MIN_COMMITTEE - available + len(members)} officers."]},
        )
    now = timezone.now()
    created = RedressCommitteeMember.objects.bulk_create(
        [RedressCommitteeMember(request=request, member=m, appointed_by=actor, appointed_at=now) for m in members]
    )
    audit_record(
        actor=actor, verb="redress.appoint", target=request, changes={"members": [m.username for m in members]}
    )
    for member in members:
        notification_queue(
            recipient=member,
            subject=f"Review committee: {request.reference}",
            body=f"You are appointed to the review committee of the evaluation review {request.reference} "
            f"(proposal {request.proposal.reference}). Declare whether you have a conflict of interest before "
            f"reading it.\n",
        )
    return created


@transaction.atomic
def redress_committee_declare(*, seat: RedressCommitteeMember, conflict: bool, reason: str, actor: User):
    """A committee member declares, once, whether they have a conflict of interest with the request."""
    request = _lock_request(seat.request_id)
    seat = RedressCommitteeMember.objects.select_for_update().get(pk=seat.pk)
    if seat.member_id != actor.pk:
        raise NotPermitted("Only the committee member declares their own conflict of interest.", code="not_member")
    if seat.declaration != Assignment.Declaration.PENDING:
        raise StateConflict(
            f"You already declared on {request.reference}: a declaration is final.", code="already_declared"
        )
    if request.status != R.IN_REVIEW:
        raise StateConflict(
            f"{request.reference} is {request.get_status_display().lower()}: the committee's work is over.",
            code="redress_not_in_review",
        )
    reason = declaration_record(seat, COMMITTEE_DECLARATION, conflict=conflict, reason=reason)
    audit_record(actor=actor, verb="redress.declare", target=request, changes={"conflict": conflict, "reason": reason})
    return seat


@transaction.atomic
def redress_opinion_record(*, request: RedressRequest, opinion: str, reason: str, actor: User) -> RedressRequest:
    """A committee member who declared no conflict records the committee's opinion. Confirm: the request closes.
    Re-evaluate: the proposal's experts' work is closed and the proposal goes back under evaluation, for new
    experts and a new consensus (then `redress_conclude`)."""
    if opinion not in RedressRequest.Opinion.values:
        raise RuleViolation(
            f"Unknown opinion {opinion!r}; the committee confirms the evaluation or asks for a re-evaluation.",
            code="opinion",
            errors={"opinion": ["Choose confirm or re-evaluate."]},
        )
    proposal = lock_proposal(RedressRequest.objects.filter(pk=request.pk).values_list("proposal_id", flat=True).get())
    request = _lock_request(request)
    # The seats locked: an appointment or a declaration meanwhile cannot change the committee's size.
    seats = list(RedressCommitteeMember.objects.select_for_update().filter(request_id=request.pk).order_by("pk"))
    seat = next((s for s in seats if s.member_id == actor.pk), None)
    if seat is None or seat.declaration == Assignment.Declaration.CONFLICT:
        raise NotPermitted(
            f"Only a member of the review committee of {request.reference} without a conflict of interest records "
            f"its opinion.",
            code="not_committee",
        )
    if seat.declaration == Assignment.Declaration.PENDING:
        raise StateConflict(
            f"Declare whether you have a conflict of interest with {request.reference} before giving the opinion.",
            code="declaration_pending",
        )
    if request.status != R.IN_REVIEW:
        raise StateConflict(
            f"{request.reference} is {request.get_status_display().lower()}: its opinion was already given or it "
            f"is not with the committee.",
            code="redress_not_in_review",
        )
    too_small = opinion_refusal(request=request, seats=seats)
    if too_small is not None:
        raise StateConflict(too_small.message, code=too_small.code)
    reason = _reason(reason, field="reason", message="Give the committee's reasons.")
    now = timezone.now()
    fields = {"opinion": opinion, "opinion_reason": reason, "opinion_by": actor, "opinion_at": now}
    closed, withdrawn = [], None
    if opinion == RedressRequest.Opinion.CONFIRM:
        REDRESS.move(request, R.CONFIRMED, closed_at=now, **fields)
        body = (
            f"The review committee examined your request {request.reference} and confirms the evaluation of "
            f"proposal {proposal.reference}: its outcome stands.\n\nThe committee's reasons: {reason}\n"
        )
    else:
        decision = request.decision
        if proposal.status != decision.outcome:
            raise StateConflict(
                f"Proposal {proposal} is {proposal.get_status_display().lower()} since the request: the outcome "
                f"contested by {request.reference} no longer stands, so there is nothing to re-evaluate.",
                code="outcome_changed",
            )
        REDRESS.move(
            request, R.RE_EVALUATION, original_total=decision.total, original_outcome=decision.outcome, **fields
        )
        assignments = list(
            Assignment.objects.select_for_update()
            .filter(proposal_id=proposal.pk, closed_at__isnull=True)
            .order_by("pk")
        )
        closed = close_assignments(assignments, reason=Assignment.CloseReason.RE_EVALUATION, now=now)
        withdrawn = _withdraw_consensus(proposal)
        proposal_transition(proposal=proposal, to=Proposal.Status.EVALUATION)
        body = (
            f"The review committee examined your request {request.reference} and found a shortcoming in the "
            f"evaluation procedure: proposal {proposal.reference} will be evaluated again by new experts. You "
            f"will be told the outcome.\n\nThe committee's reasons: {reason}\n"
        )
    audit_record(
        actor=actor,
        verb="redress.opinion",
        target=request,
        changes={"opinion": opinion, "reason": reason, "assignments_closed": len(closed), "consensus": withdrawn},
    )
    _notify(request, f"Evaluation review {request.reference}: the committee's opinion", body)
    if opinion == RedressRequest.Opinion.RE_EVALUATE:
        _notify_office(
            f"Re-evaluation to organise: {request.reference}",
            f"The review committee of {request.reference} asks for proposal {proposal.reference} "
            f"({proposal.acronym}) to be evaluated again: its experts' work is closed ({len(closed)} "
            f"assignment{'' if len(closed) == 1 else 's'}) and its consensus withdrawn.\n\nAssign new experts on "
            f"the cut-off's assignment board; once their reviews are in, record the new consensus and conclude the "
            f"evaluation review.\n",
            actor=actor,
        )
    return request


def _withdraw_consensus(proposal: Proposal) -> dict | None:
    """Take the contested consensus out of force: the new experts review blind and the cut-off's ranking shows the
    proposal as waiting for its new consensus. Its content stays in the audit trail (its own event, and this
    one's changes) and on the request (`original_total`). Returns what it held."""
    consensus = Consensus.objects.select_for_update().filter(proposal_id=proposal.pk).first()
    if consensus is None:
        return None
    held = {
        "total": consensus.total,
        "passed_thresholds": consensus.passed_thresholds,
        "scores": {s.criterion: number(s.score) for s in consensus.scores.all()},
        "recorded_at": consensus.updated_at,
    }
    consensus.scores.all().delete()
    consensus.delete()
    return held


@transaction.atomic
def redress_conclude(*, request: RedressRequest, actor: User) -> Decision:
    """End a re-evaluation: rank the cut-off again with the new consensus, record the proposal's outcome (a
    decision of kind "redress"), renew its evaluation summary report and tell the applicant."""
    call_id, cut_off_id, proposal_id = (
        RedressRequest.objects.filter(pk=request.pk)
        .values_list("proposal__call_id", "proposal__cut_off_id", "proposal_id")
        .get()
    )
    call = lock_call(call_id)
    cut_off = CutOff.objects.select_for_update().get(pk=cut_off_id)
    proposal = lock_proposal(proposal_id)
    request = _lock_request(request)
    conclusion = redress_conclusion(request=request, call=call, cut_off=cut_off, proposal=proposal)
    if conclusion.refusal is not None:
        raise StateConflict(conclusion.refusal.message, code=conclusion.refusal.code)
    consensus, row, outcome = conclusion.consensus, conclusion.row, conclusion.outcome
    now = timezone.now()
    previous = latest_decision(proposal=proposal)
    decision = Decision.objects.create(
        proposal=proposal, outcome=outcome, kind=Decision.Kind.REDRESS, rank=row.rank, total=consensus.total,
        passed_thresholds=consensus.passed_thresholds, eu_contribution=row.eu_contribution,
        reason=f"Outcome of the evaluation review {request.reference}.", decided_by=actor, decided_at=now,
    )  # fmt: skip
    move_proposal(proposal, STATUS_BY_OUTCOME[outcome])
    changed = outcome != request.original_outcome
    REDRESS.move(request, R.RE_EVALUATED, outcome_decision=decision, outcome_changed=changed, closed_at=now)
    request_summary_report(proposal, decision)
    audit_record(
        actor=actor,
        verb="redress.conclude",
        target=request,
        changes={
            "proposal": proposal.reference,
            "before": {"total": request.original_total, "outcome": request.original_outcome,
                       "rank": previous.rank if previous else None},
            "after": {"total": consensus.total, "outcome": outcome, "rank": row.rank},
            "outcome_changed": changed,
        },
    )  # fmt: skip
    label = Decision.Outcome(outcome).label.lower()
    before = Decision.Outcome(request.original_outcome).label.lower()
    _notify(
        request,
        f"Evaluation review {request.reference}: the outcome of the re-evaluation",
        f"Proposal {proposal.reference} ({proposal.acronym}) was evaluated again by new experts.\n\n"
        f"Outcome before: {before}\nOutcome now: {label}"
        + (" (changed)" if changed else " (unchanged)")
        + f"\nRank in the cut-off: {row.rank}\n\nThe evaluation summary report is renewed on your proposal's page.\n",
    )
    return decision
