"""What hosting asks of the app above it, answered by a provider that app registers at start-up.

The apps stand in a stack, eurohpc < hosting < calls < grants, and a lower app never imports a higher one.
A hosting agreement may name the grant funding its machine: the agreement form offers the grants of the
machine's hosting entity, which only the grants app can list. The grants app registers a `GrantsProvider` in
its `AppConfig.ready()` (`register_grants`), and hosting asks through `grants_provider()`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from eurohpc.models import Organisation


class FundingGrant(Protocol):
    """What hosting reads of a grant (a `grants.Grant`): its reference and its beneficiary."""

    pk: int
    reference: str
    beneficiary_id: int
    beneficiary: Organisation


@dataclass(frozen=True)
class GrantsProvider:
    # The grants going to the organisation (none for None), by reference: a lazy queryset, for a choice field.
    grants_of_beneficiary: Callable[[Organisation | None], QuerySet]


_registry: dict[str, GrantsProvider] = {}


def register_grants(provider: GrantsProvider) -> None:
    _registry["grants"] = provider


def grants_provider() -> GrantsProvider:
    try:
        return _registry["grants"]
    except KeyError:
        raise ImproperlyConfigured(
            "No grants provider is registered: the grants app registers it in its AppConfig.ready()."
        ) from None
