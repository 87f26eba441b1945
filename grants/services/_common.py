"""Helpers shared by the budget services: amounts in EUR, and the locks of the envelope chain and of a grant.
The locks run inside a service's transaction."""

from decimal import Decimal, InvalidOperation

from eurohpc.errors import RuleViolation
from eurohpc.formatting import eur
from grants.models import Envelope, Grant
from grants.selectors import envelope_chain_ids

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value, *, field: str = "amount") -> Decimal:
    """A positive amount in EUR with at most two decimals."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise RuleViolation(f"The {field} must be an amount in EUR, got {value!r}.", code="amount") from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise RuleViolation(f"The {field} must be in EUR with at most two decimals, got {value}.", code="amount")
    if amount <= 0:
        raise RuleViolation(f"The {field} must be positive, got {eur(amount)}.", code="amount")
    return amount.quantize(CENT)


def status_label(grant: Grant) -> str:
    """The grant's status as it reads in a sentence ("budget committed")."""
    return Grant.Status(grant.status).label.lower()


def lock_chain(envelope_id: int) -> list[Envelope]:
    """Lock the envelope and all its ancestors, by primary key; return them nearest first."""
    chain_ids = envelope_chain_ids(Envelope(pk=envelope_id))
    locked = {e.pk: e for e in Envelope.objects.select_for_update().filter(pk__in=chain_ids).order_by("pk")}
    return [locked[pk] for pk in chain_ids]


def lock_grant(grant: Grant) -> Grant:
    """Lock the grant's row (after its envelope chain, if the service needs that too) and return it fresh."""
    return Grant.objects.select_for_update(of=("self",)).select_related("envelope").get(pk=grant.pk)
