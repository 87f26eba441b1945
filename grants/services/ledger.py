"""Grants and their ledger: creation from a selected proposal, budget commitments, signature, payments,
decommitments, recoveries, reversals and termination."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from calls.models import Proposal
from calls.services import proposal_lock
from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from eurohpc.formatting import eur, percent
from eurohpc.models import User
from eurohpc.services import audit_record, notification_queue
from grants.models import CallFunding, Envelope, Grant, GrantBudgetLine, LedgerEntry
from grants.schedule import INTERIM_CAP, default_mutual_insurance_rate
from grants.selectors import Totals, envelope_subtree_totals, grant_totals
from grants.services._common import CENT, ZERO, lock_chain, lock_grant, money, status_label
from grants.services.letters import award_letter_request
from grants.transitions import GRANT

PAYMENT_KIND_CHOICES = (LedgerEntry.Kind.PREFINANCING, LedgerEntry.Kind.INTERIM, LedgerEntry.Kind.FINAL)
OPEN_STATUSES = (Grant.Status.PREPARED, Grant.Status.BUDGET_COMMITTED, Grant.Status.SIGNED, Grant.Status.ACTIVE)
PAYABLE_STATUSES = (Grant.Status.SIGNED, Grant.Status.ACTIVE)


def _check_chain_fits(chain: list[Envelope], amount: Decimal) -> None:
    """Refuse, naming the nearest envelope that `amount` more of net commitment would overflow."""
    _parents, totals = envelope_subtree_totals(root_id=chain[-1].pk)
    for envelope in chain:
        excess = totals[envelope.pk].net_committed + amount - envelope.amount
        if excess > 0:
            raise LimitExceeded(f"{envelope.code} would be exceeded by {eur(excess)}", code="envelope_exceeded")


def _default_dates(today: date) -> tuple[date, date]:
    start = (today.replace(day=1) + timedelta(days=32)).replace(day=1)  # the first day of next month
    try:
        end = start.replace(year=start.year + 4) - timedelta(days=1)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + 4, day=28) - timedelta(days=1)
    return start, end


@transaction.atomic
def grant_create_from_proposal(
    *,
    proposal: Proposal,
    actor: User | None,
    start_date: date | None = None,
    end_date: date | None = None,
    mutual_insurance_rate: Decimal | None = None,
) -> Grant:
    """A selected proposal becomes a prepared grant, with its budget as the EU and national contributions."""
    proposal = proposal_lock(proposal=proposal)
    existing = Grant.objects.filter(proposal_id=proposal.pk).first()
    if existing is not None:
        raise StateConflict(f"Proposal {proposal} already became grant {existing.reference}.", code="grant_exists")
    if proposal.status != Proposal.Status.SELECTED:
        raise StateConflict(
            f"Proposal {proposal} is {proposal.get_status_display().lower()}: only a selected proposal becomes "
            f"a grant.",
            code="not_selected",
        )
    lines = list(proposal.budget_lines.all())
    eu = sum((line.eu_contribution for line in lines), ZERO)
    national = sum((line.national_contribution for line in lines), ZERO)
    if eu <= 0:
        raise RuleViolation(f"Proposal {proposal} asks for no EU contribution: there is nothing to grant.",
                            code="no_eu_contribution")  # fmt: skip
    default_start, default_end = _default_dates(timezone.localdate())
    start_date = start_date or default_start
    end_date = end_date or (
        default_end if start_date == default_start else _default_dates(start_date - timedelta(days=1))[1]
    )
    if end_date <= start_date:
        raise RuleViolation(f"The grant must end after it starts ({start_date:%d %b %Y}).", code="grant_dates")
    rate = default_mutual_insurance_rate() if mutual_insurance_rate is None else Decimal(mutual_insurance_rate)
    if not (ZERO <= rate < Decimal("0.2")):
        raise RuleViolation(f"The mutual insurance rate must lie between 0% and 20%, got {percent(rate)}.",
                            code="mutual_insurance_rate")  # fmt: skip
    funding = CallFunding.objects.filter(call_id=proposal.call_id).first()
    total = eu + national
    grant = Grant.objects.create(
        reference=f"GA-{proposal.reference}",
        proposal=proposal,
        beneficiary=proposal.organisation,
        eu_contribution=eu,
        national_contribution=national,
        total_cost=total,
        co_funding_rate=(eu / total).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
        mutual_insurance_rate=rate,
        envelope_id=funding.envelope_id if funding else None,
        start_date=start_date,
        end_date=end_date,
        created_by=actor,
    )
    GrantBudgetLine.objects.bulk_create(
        [
            GrantBudgetLine(
                grant=grant,
                category=line.category,
                label=line.get_category_display(),
                total_cost=line.total_cost,
                eu_contribution=line.eu_contribution,
                national_contribution=line.national_contribution,
            )
            for line in lines
        ]
    )
    audit_record(
        actor=actor,
        verb="grant.create",
        target=grant,
        changes={"proposal": proposal.reference, "eu_contribution": eu, "national_contribution": national},
    )
    return grant


def _entry(*, grant: Grant, envelope_id: int, kind: str, amount: Decimal, actor, memo: str = "", **extra):
    return LedgerEntry.objects.create(
        grant=grant,
        envelope_id=envelope_id,
        kind=kind,
        amount=amount,
        actor=actor,
        memo=memo.strip(),
        created_at=timezone.now(),
        **extra,
    )


@transaction.atomic
def commitment_create(
    *, grant: Grant, envelope: Envelope, amount: Decimal, actor: User | None, memo: str = ""
) -> LedgerEntry:
    """Reserve `amount` of `envelope` (and of every envelope above it) for `grant`: the budget commitment.

    The envelope chain is locked first (by primary key), then the grant, so that two finance officers
    cannot both take the last euro.
    """
    amount = money(amount)
    chain = lock_chain(envelope.pk)
    grant = lock_grant(grant)
    if grant.status not in OPEN_STATUSES:
        raise StateConflict(f"{grant.reference} is {status_label(grant)}: no further commitment can be made.",
                            code="grant_not_open")  # fmt: skip
    if grant.envelope_id is not None and grant.envelope_id != envelope.pk:
        raise StateConflict(
            f"{grant.reference} is committed against {grant.envelope.code}: further commitments use the same "
            f"envelope, not {envelope.code}.",
            code="other_envelope",
        )
    totals = grant_totals(grant=grant)
    excess = totals.net_committed + amount - grant.eu_contribution
    if excess > 0:
        raise LimitExceeded(
            f"{grant.reference}'s EU contribution of {eur(grant.eu_contribution)} would be exceeded by {eur(excess)}",
            code="grant_exceeded",
        )
    _check_chain_fits(chain, amount)
    entry = _entry(grant=grant, envelope_id=envelope.pk, kind=LedgerEntry.Kind.COMMITMENT, amount=amount,
                   actor=actor, memo=memo)  # fmt: skip
    fields = {"envelope": envelope} if grant.envelope_id is None else {}
    if grant.status == Grant.Status.PREPARED:
        GRANT.move(grant, Grant.Status.BUDGET_COMMITTED, **fields)
    elif fields:
        grant.envelope = envelope
        grant.save(update_fields=["envelope", "updated_at"])
    audit_record(actor=actor, verb="commitment.create", target=grant,
                 changes={"envelope": envelope.code, "amount": amount, "entry": entry.pk})  # fmt: skip
    return entry


@transaction.atomic
def grant_sign(*, grant: Grant, actor: User | None) -> Grant:
    """Record the signature (the legal commitment), only after the budget commitment; issue the award letter."""
    grant = lock_grant(grant)
    if grant.status == Grant.Status.PREPARED:
        raise StateConflict(
            f"{grant.reference} has no budget commitment yet: the grant is signed only after the budget commitment.",
            code="not_committed",
        )
    if grant.status != Grant.Status.BUDGET_COMMITTED:
        raise StateConflict(f"{grant.reference} is {status_label(grant)}: it cannot be signed again.",
                            code="not_signable")  # fmt: skip
    if grant_totals(grant=grant).net_committed <= 0:
        raise StateConflict(
            f"{grant.reference} has no budget commitment left: the grant is signed only after the budget commitment.",
            code="not_committed",
        )
    GRANT.move(grant, Grant.Status.SIGNED, signed_at=timezone.now(), signed_by=actor)
    audit_record(actor=actor, verb="grant.sign", target=grant, changes={"status": grant.status})
    award_letter_request(grant=grant, actor=actor)
    recipient = grant.proposal.created_by
    notification_queue(
        recipient=recipient,
        subject=f"Grant {grant.reference} signed",
        body=(
            f"The grant agreement {grant.reference} ({grant.proposal.acronym}) was signed on "
            f"{timezone.localdate(grant.signed_at):%d %B %Y}.\n\nEU contribution: {eur(grant.eu_contribution)}\n"
            f"Your award letter is being prepared; it will be available on the grant's page.\n"
        ),
    )
    return grant


def _check_payable(grant: Grant, totals: Totals, amount: Decimal) -> None:
    excess = totals.paid + amount - totals.net_committed
    if excess > 0:
        raise LimitExceeded(
            f"Payments on {grant.reference} would exceed its net commitment of {eur(totals.net_committed)} "
            f"by {eur(excess)}",
            code="payments_exceed_commitment",
        )


@transaction.atomic
def payment_record(*, grant: Grant, kind: str, amount: Decimal, actor: User | None, memo: str = "") -> LedgerEntry:
    """Record a payment: pre-financing (less the mutual insurance contribution), interim or final.

    Payments never exceed the net commitment; pre-financing and interim payments together stay at or below
    90% of the grant; the final payment settles the balance: what remains committed is decommitted and the
    grant closes.
    """
    if kind not in PAYMENT_KIND_CHOICES:
        raise RuleViolation(
            f"Unknown payment kind {kind!r}; kinds are {', '.join(PAYMENT_KIND_CHOICES)}.", code="payment_kind"
        )
    amount = money(amount)
    grant = lock_grant(grant)
    if grant.status not in PAYABLE_STATUSES:
        raise StateConflict(
            f"{grant.reference} is {status_label(grant)}: payments are made on a signed grant only.",
            code="not_payable",
        )
    totals = grant_totals(grant=grant)
    _check_payable(grant, totals, amount)
    withheld = ZERO
    if kind in (LedgerEntry.Kind.PREFINANCING, LedgerEntry.Kind.INTERIM):
        cap = (grant.eu_contribution * INTERIM_CAP).quantize(CENT, rounding=ROUND_HALF_UP)
        excess = totals.prefinancing_interim + amount - cap
        if excess > 0:
            raise LimitExceeded(
                f"Pre-financing and interim payments on {grant.reference} would exceed 90% of the grant "
                f"({eur(cap)}) by {eur(excess)}",
                code="interim_cap",
            )
    if kind == LedgerEntry.Kind.PREFINANCING:
        withheld = (amount * grant.mutual_insurance_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        if withheld >= amount:
            withheld = ZERO
    entry = _entry(grant=grant, envelope_id=grant.envelope_id, kind=kind, amount=amount, withheld=withheld,
                   actor=actor, memo=memo)  # fmt: skip
    changes = {"kind": kind, "amount": amount, "withheld": withheld, "entry": entry.pk}
    if kind == LedgerEntry.Kind.FINAL:
        balance = totals.outstanding - amount
        if balance > 0:
            rest = _entry(
                grant=grant,
                envelope_id=grant.envelope_id,
                kind=LedgerEntry.Kind.DECOMMITMENT,
                amount=balance,
                actor=actor,
                memo="Unused balance decommitted at the final payment.",
            )
            changes["decommitted"] = balance
            changes["decommitment_entry"] = rest.pk
        GRANT.move(grant, Grant.Status.CLOSED, closed_at=timezone.now())
    elif grant.status == Grant.Status.SIGNED:
        GRANT.move(grant, Grant.Status.ACTIVE)
    audit_record(actor=actor, verb="payment.record", target=grant, changes=changes)
    return entry


@transaction.atomic
def decommitment_create(*, grant: Grant, amount: Decimal, actor: User | None, memo: str = "") -> LedgerEntry:
    """Release part of what is committed and not yet paid (the RAL) back to the envelope."""
    amount = money(amount)
    grant = lock_grant(grant)
    totals = grant_totals(grant=grant)
    ral = totals.outstanding
    if amount > ral:
        raise LimitExceeded(
            f"{grant.reference} has {eur(ral)} committed and unpaid: a decommitment of {eur(amount)} exceeds it "
            f"by {eur(amount - ral)}",
            code="decommitment_exceeds_ral",
        )
    entry = _entry(grant=grant, envelope_id=grant.envelope_id, kind=LedgerEntry.Kind.DECOMMITMENT, amount=amount,
                   actor=actor, memo=memo)  # fmt: skip
    audit_record(actor=actor, verb="decommitment.create", target=grant, changes={"amount": amount, "entry": entry.pk})
    return entry


@transaction.atomic
def recovery_record(*, grant: Grant, amount: Decimal, actor: User | None, memo: str = "") -> LedgerEntry:
    """Record money recovered from the beneficiary (an overpayment): it reduces what was paid."""
    amount = money(amount)
    grant = lock_grant(grant)
    totals = grant_totals(grant=grant)
    if amount > totals.paid:
        raise LimitExceeded(
            f"{grant.reference} was paid {eur(totals.paid)}: a recovery of {eur(amount)} exceeds it by "
            f"{eur(amount - totals.paid)}",
            code="recovery_exceeds_paid",
        )
    entry = _entry(grant=grant, envelope_id=grant.envelope_id, kind=LedgerEntry.Kind.RECOVERY, amount=amount,
                   actor=actor, memo=memo)  # fmt: skip
    audit_record(actor=actor, verb="recovery.record", target=grant, changes={"amount": amount, "entry": entry.pk})
    return entry


@transaction.atomic
def ledger_entry_reverse(*, entry: LedgerEntry, reason: str, actor: User | None) -> LedgerEntry:
    """Correct a mistaken entry with a reversing entry (same kind and amount, opposite effect).

    The ledger itself is never changed. The reversal must leave every invariant true.
    """
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("Give the reason for the correction.", code="reason_required",
                            errors={"reason": ["This field may not be blank."]})  # fmt: skip
    original = LedgerEntry.objects.get(pk=entry.pk)
    chain = lock_chain(original.envelope_id)
    grant = lock_grant(original.grant)
    if original.reverses_id is not None:
        raise StateConflict("A reversing entry cannot itself be reversed: record a new entry instead.",
                            code="reversal_of_reversal")  # fmt: skip
    if LedgerEntry.objects.filter(reverses_id=original.pk).exists():
        raise StateConflict(f"Entry #{original.pk} is already reversed.", code="already_reversed")
    if grant.status in (Grant.Status.CLOSED, Grant.Status.TERMINATED):
        raise StateConflict(
            f"{grant.reference} is {status_label(grant)}: its ledger is settled; record a recovery instead.",
            code="grant_settled",
        )
    totals = grant_totals(grant=grant)
    amount = original.amount
    kind = original.kind
    if kind == LedgerEntry.Kind.COMMITMENT and amount > totals.outstanding:
        raise LimitExceeded(
            f"{grant.reference} has {eur(totals.outstanding)} committed and unpaid: reversing a commitment of "
            f"{eur(amount)} exceeds it by {eur(amount - totals.outstanding)}",
            code="reversal_exceeds_ral",
        )
    if kind == LedgerEntry.Kind.DECOMMITMENT:
        excess = totals.net_committed + amount - grant.eu_contribution
        if excess > 0:
            raise LimitExceeded(
                f"{grant.reference}'s EU contribution of {eur(grant.eu_contribution)} would be exceeded by "
                f"{eur(excess)}",
                code="grant_exceeded",
            )
        _check_chain_fits(chain, amount)
    if kind == LedgerEntry.Kind.RECOVERY:
        _check_payable(grant, totals, amount)
    reversal = _entry(grant=grant, envelope_id=original.envelope_id, kind=kind, amount=amount,
                      withheld=original.withheld, reverses=original, actor=actor, memo=reason)  # fmt: skip
    audit_record(actor=actor, verb="ledger.reverse", target=grant,
                 changes={"entry": original.pk, "kind": kind, "amount": amount, "reason": reason})  # fmt: skip
    return reversal


@transaction.atomic
def grant_terminate(*, grant: Grant, reason: str, actor: User | None) -> Grant:
    """End a grant early: what is committed and unpaid is decommitted."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("Give the reason for the termination.", code="reason_required",
                            errors={"reason": ["This field may not be blank."]})  # fmt: skip
    grant = lock_grant(grant)
    if grant.status not in OPEN_STATUSES:
        raise StateConflict(f"{grant.reference} is {status_label(grant)}: it cannot be terminated.",
                            code="not_terminable")  # fmt: skip
    ral = grant_totals(grant=grant).outstanding
    if ral > 0:
        _entry(grant=grant, envelope_id=grant.envelope_id, kind=LedgerEntry.Kind.DECOMMITMENT, amount=ral,
               actor=actor, memo=f"Decommitted at termination: {reason}")  # fmt: skip
    GRANT.move(grant, Grant.Status.TERMINATED, termination_reason=reason, closed_at=timezone.now())
    audit_record(actor=actor, verb="grant.terminate", target=grant, changes={"reason": reason, "decommitted": ral})
    return grant
