"""What calls asks of the app above it, answered by a provider that app registers at start-up.

The apps stand in a stack, eurohpc < hosting < calls < grants, and a lower app never imports a higher one.
Some reads of calls need an answer only the budget knows: the envelope funding a call and what it can still
take (the funding line), whether a selected proposal's grant is budget-committed, whether a grant was prepared
from a proposal. The grants app registers a `FundingProvider` in its `AppConfig.ready()`
(`register_funding`), and calls asks through `funding_provider()`, as the evaluation opens proposals to evaluators
through the extension lists of `calls.rules`.

The expressions are for `annotate` (they name the outer row by `ref`), so that the reads that use them keep
their number of queries.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Expression, Model


@dataclass(frozen=True)
class FundingProvider:
    # Subquery: the id of the envelope funding the call whose id is the outer `ref`, or NULL.
    call_envelope_id: Callable[[str], Expression]
    # Exists: the grant prepared from the proposal whose id is the outer `ref` has a budget commitment.
    proposal_committed: Callable[[str], Expression]
    # Exists: a grant was prepared from the proposal whose id is the outer `ref`.
    proposal_has_grant: Callable[[str], Expression]
    # What a new commitment against the envelope (and every envelope above it) can still take.
    envelope_available: Callable[[int], Decimal]
    # The grant prepared from the proposal with this id, or None.
    proposal_grant: Callable[[int], Model | None]


_registry: dict[str, FundingProvider] = {}


def register_funding(provider: FundingProvider) -> None:
    _registry["funding"] = provider


def funding_provider() -> FundingProvider:
    try:
        return _registry["funding"]
    except KeyError:
        raise ImproperlyConfigured(
            "No funding provider is registered: the grants app registers it in its AppConfig.ready()."
        ) from None
