"""Envelopes of the budget (and their amendments), and the envelope that funds a call."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from calls.models import Call
from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from eurohpc.formatting import eur
from eurohpc.models import User
from eurohpc.services import audit_record
from grants.models import CallFunding, Envelope, EnvelopeAmount, Programme
from grants.selectors import envelope_subtree_totals
from grants.services._common import lock_chain, money


@transaction.atomic
def envelope_create(
    *,
    code: str,
    name: str,
    programme: str,
    period_start: int,
    period_end: int,
    amount: Decimal,
    parent: Envelope | None = None,
    is_illustrative: bool = False,
    actor: User | None,
) -> Envelope:
    code = (code or "").strip().upper()
    if not code or not (name or "").strip():
        raise RuleViolation("An envelope needs a code and a name.", code="envelope_incomplete")
    if programme not in Programme.values:
        raise RuleViolation(
            f"Unknown programme {programme!r}; programmes are {', '.join(Programme.values)}.", code="programme"
        )
    if period_end < period_start:
        raise RuleViolation(
            f"The period ends ({period_end}) before it starts ({period_start}).", code="envelope_period"
        )
    amount = money(amount)
    if parent is not None:
        parent = lock_chain(parent.pk)[0]
        if period_start < parent.period_start or period_end > parent.period_end:
            raise RuleViolation(
                f"The period {period_start}–{period_end} lies outside {parent.code}'s period {parent.period}.",
                code="envelope_period",
            )
        if amount > parent.amount:
            raise RuleViolation(
                f"{code} ({eur(amount)}) cannot be larger than {parent.code} ({eur(parent.amount)}).",
                code="envelope_amount",
            )
    if Envelope.objects.filter(code=code).exists():
        raise StateConflict(f"An envelope with the code {code} already exists.", code="envelope_exists")
    envelope = Envelope.objects.create(
        code=code,
        name=name.strip(),
        programme=programme,
        period_start=period_start,
        period_end=period_end,
        amount=amount,
        parent=parent,
        is_illustrative=is_illustrative,
    )
    EnvelopeAmount.objects.create(envelope=envelope, amount=amount, effective_at=envelope.created_at)
    audit_record(
        actor=actor,
        verb="envelope.create",
        target=envelope,
        changes={"amount": amount, "parent": parent.code if parent else None, "programme": programme},
    )
    return envelope


@transaction.atomic
def envelope_set_amount(*, envelope: Envelope, amount: Decimal, actor: User | None) -> Envelope:
    """Change an envelope's amount (a budget amendment); never below what its subtree has committed."""
    amount = money(amount)
    envelope = lock_chain(envelope.pk)[0]
    _parents, totals = envelope_subtree_totals(root_id=envelope.pk)
    net = totals[envelope.pk].net_committed
    if amount < net:
        raise LimitExceeded(
            f"{envelope.code} has {eur(net)} committed: its amount cannot fall to {eur(amount)} "
            f"(short by {eur(net - amount)}).",
            code="envelope_below_commitments",
        )
    if envelope.parent is not None and amount > envelope.parent.amount:
        raise RuleViolation(
            f"{envelope.code} ({eur(amount)}) cannot be larger than {envelope.parent.code} "
            f"({eur(envelope.parent.amount)}).",
            code="envelope_amount",
        )
    before = envelope.amount
    envelope.amount = amount
    envelope.save(update_fields=["amount"])
    EnvelopeAmount.objects.create(envelope=envelope, amount=amount, effective_at=timezone.now())
    audit_record(actor=actor, verb="envelope.set_amount", target=envelope, changes={"from": before, "to": amount})
    return envelope


@transaction.atomic
def call_funding_set(*, call: Call, envelope: Envelope, actor: User | None) -> CallFunding:
    """Name the envelope that funds `call` (its ranking's funding line is drawn against it)."""
    funding = CallFunding.objects.select_for_update().filter(call=call).first()
    if funding is not None and funding.envelope_id == envelope.pk:
        return funding
    before = funding.envelope.code if funding else None
    if funding is None:
        funding = CallFunding.objects.create(call=call, envelope=envelope)
    else:
        funding.envelope = envelope
        funding.save(update_fields=["envelope", "updated_at"])
    audit_record(actor=actor, verb="call.set_funding", target=call, changes={"from": before, "envelope": envelope.code})
    return funding
