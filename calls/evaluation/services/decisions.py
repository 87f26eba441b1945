"""The selection: decisions before publication, their confirmation for a whole cut-off,
publication, promotion from the reserve list and withdrawal after selection."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from calls.access.checks import access_evaluation_refusal
from calls.evaluation.scheme import number, scheme_from_data
from calls.evaluation.selectors import (
    DECIDED,
    OPEN_WORK,
    OUTCOME_BY_FUNDING,
    Funding,
    call_available_amount,
    cut_off_ranking,
    proposal_eu_contribution,
    proposal_grant,
)
from calls.evaluation.selectors.technical import missing_message, technical_refusal
from calls.evaluation.services._common import (
    applicant_recipients,
    lock_call,
    lock_proposal,
    move_proposal,
    request_summary_report,
    status_label,
)
from calls.models import (
    Call,
    CutOff,
    Decision,
    DecisionPublication,
    Proposal,
    RedressRequest,
)
from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from eurohpc.formatting import eur, local
from eurohpc.models import User
from eurohpc.services import audit_record, notification_queue

STATUS_BY_OUTCOME = {
    Decision.Outcome.SELECTED: Proposal.Status.SELECTED,
    Decision.Outcome.RESERVE: Proposal.Status.RESERVE,
    Decision.Outcome.REJECTED: Proposal.Status.REJECTED,
    Decision.Outcome.WITHDRAWN: Proposal.Status.WITHDRAWN,
}


# --- decisions -------------------------------------------------------------------------------------------


def _check_not_access(call: Call) -> None:
    if call.prong == Call.Prong.ACCESS:
        raise StateConflict(
            f"{call.identifier} is an access call: the access committee decides its applications one by one or "
            f"awards a cut-off's ranking; there is nothing to confirm or publish here.",
            code="access_committee",
        )


def _check_not_published(cut_off_id: int) -> None:
    publication = DecisionPublication.objects.filter(cut_off_id=cut_off_id).first()
    if publication is not None:
        raise StateConflict(
            f"The decisions of this cut-off were published on {local(publication.published_at)}: they change "
            f"only by promotion from the reserve list or withdrawal after selection.",
            code="published",
        )


def _check_not_re_evaluation(proposal: Proposal) -> None:
    """After publication a proposal is under evaluation again only for an evaluation review's re-evaluation,
    whose outcome the review's conclusion records (`redress_conclude`), with the ranking recomputed."""
    request = RedressRequest.objects.filter(proposal_id=proposal.pk, status=RedressRequest.Status.RE_EVALUATION).first()
    if request is not None:
        raise StateConflict(
            f"Proposal {proposal} is being re-evaluated after the evaluation review {request.reference}: its outcome "
            f"is recorded by concluding the evaluation review.",
            code="redress_re_evaluation",
        )


def _check_fits(proposal: Proposal, amount: Decimal, available: Decimal, call: Call) -> None:
    if amount > available:
        raise LimitExceeded(
            f"Selecting proposal {proposal} needs {eur(amount)}; {eur(max(available, Decimal('0')))} is available "
            f"in {call.identifier}: short by {eur(amount - max(available, Decimal('0')))}.",
            code="funding_exceeded",
        )


def _check_technical(proposal: Proposal, outcome: str = Decision.Outcome.SELECTED) -> None:
    """A hosting proposal is selected only with a submitted, passed technical assessment, and put on the reserve
    list only if its assessment in force did not fail (`technical_refusal`)."""
    refusal = technical_refusal(proposal, outcome)
    if refusal is not None:
        raise StateConflict(refusal.message, code=refusal.code)


def _record(*, proposal: Proposal, outcome: str, kind: str, rank, actor: User, reason: str, eu: Decimal) -> Decision:
    consensus = proposal.consensus
    decision = Decision.objects.create(
        proposal=proposal, outcome=outcome, kind=kind, rank=rank, total=consensus.total,
        passed_thresholds=consensus.passed_thresholds, eu_contribution=eu, reason=reason, decided_by=actor,
        decided_at=timezone.now(),
    )  # fmt: skip
    fields = {"withdrawn_at": decision.decided_at} if outcome == Decision.Outcome.WITHDRAWN else {}
    move_proposal(proposal, STATUS_BY_OUTCOME[outcome], **fields)
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
    call = lock_call(proposal.call_id)
    proposal = lock_proposal(proposal)
    refusal = access_evaluation_refusal(proposal, "decision")
    if refusal:
        raise StateConflict(refusal, code="access_committee")
    if proposal.status not in (Proposal.Status.EVALUATION, *DECIDED):
        raise StateConflict(
            f"Proposal {proposal} is {status_label(proposal)}: decisions are taken on evaluated proposals.",
            code="not_in_evaluation",
        )
    _check_not_re_evaluation(proposal)
    _check_not_published(proposal.cut_off_id)
    consensus = getattr(proposal, "consensus", None)
    if consensus is None:
        raise StateConflict(f"Record the consensus on proposal {proposal} before deciding.", code="no_consensus")
    if outcome != Decision.Outcome.REJECTED and not consensus.passed_thresholds:
        raise RuleViolation(
            f"Proposal {proposal} did not pass the thresholds: it can only be rejected.", code="below_threshold"
        )
    # Before "already so": a reserve proposal whose assessment failed since is not confirmed on the reserve list.
    _check_technical(proposal, outcome)
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
    selected, reserve list → reserve, below threshold or a failed technical assessment → rejected. Needs a
    consensus on every proposal and a submitted technical assessment on every hosting proposal it selects."""
    call = lock_call(cut_off.call_id)
    _check_not_access(call)
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
    if ranking.technical_missing:
        raise StateConflict(
            " ".join(missing_message(r.proposal) for r in ranking.technical_missing),
            code="technical_assessment_missing",
        )
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


def _notify_outcome(proposal: Proposal, decision: Decision, subject: str) -> None:
    scheme_max = number(scheme_from_data(proposal.consensus.scheme).max_total)
    body = _outcome_text(decision, proposal, scheme_max)
    for recipient in applicant_recipients(proposal):
        notification_queue(recipient=recipient, subject=subject, body=body)


@transaction.atomic
def decisions_publish(*, cut_off: CutOff, actor: User) -> DecisionPublication:
    """Make the decisions of a cut-off known: the applicants are told, the summary reports are rendered."""
    _check_not_access(lock_call(cut_off.call_id))
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
        request_summary_report(proposal, decision)
        _notify_outcome(proposal, decision, f"Evaluation outcome: proposal {proposal.reference}")
    counts = {s: sum(1 for p in proposals if p.status == s) for s in DECIDED}
    audit_record(actor=actor, verb="evaluation.publish", target=cut_off.call, changes={
        "cut_off": cut_off.closes_at, **{str(k): v for k, v in counts.items()}})  # fmt: skip
    return publication


@transaction.atomic
def reserve_promote(*, proposal: Proposal, actor: User, reason: str = "") -> Decision:
    """Promote the first reserve proposal that fits the money now available (after a withdrawal, or when
    money frees up). A recorded decision; the applicant is told and the summary report renewed."""
    call = lock_call(proposal.call_id)
    proposal = lock_proposal(proposal)
    if proposal.status != Proposal.Status.RESERVE:
        raise StateConflict(
            f"Proposal {proposal} is {status_label(proposal)}: only a proposal on the reserve list is promoted.",
            code="not_reserve",
        )
    if not DecisionPublication.objects.filter(cut_off_id=proposal.cut_off_id).exists():
        raise StateConflict(
            "The decisions of this cut-off are not published yet: record the decision instead.", code="not_published"
        )
    _check_technical(proposal)
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
    request_summary_report(proposal, decision)
    _notify_outcome(proposal, decision, f"Evaluation outcome: proposal {proposal.reference} selected from reserve")
    return decision


@transaction.atomic
def selection_withdraw(*, proposal: Proposal, reason: str, actor: User) -> Decision:
    """A selected proposal withdraws (the applicant declines, or the officer records it): its money returns to
    the call and the first fitting reserve proposal becomes the candidate for promotion."""
    lock_call(proposal.call_id)
    proposal = lock_proposal(proposal)
    if proposal.status != Proposal.Status.SELECTED:
        raise StateConflict(
            f"Proposal {proposal} is {status_label(proposal)}: only a selected proposal withdraws from the selection.",
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
    for recipient in applicant_recipients(proposal):
        notification_queue(
            recipient=recipient,
            subject=f"Withdrawal recorded: proposal {proposal.reference}",
            body=f"The withdrawal of proposal {proposal.reference} ({proposal.acronym}) from the selection is "
            f"recorded.\n\nReason: {reason}\n",
        )
    return decision
