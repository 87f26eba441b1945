"""What grants answers to the apps below it (calls' and hosting's `providers`), registered in
`GrantsConfig.ready()`: expressions to annotate their querysets with, and small reads of the grants."""

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from eurohpc.models import Organisation
from grants.models import CallFunding, Grant, LedgerEntry


def call_envelope_id_expression(ref: str) -> Subquery:
    """The id of the envelope funding the outer call (its id named by `ref`), or NULL; for `annotate`."""
    return Subquery(CallFunding.objects.filter(call_id=OuterRef(ref)).values("envelope_id")[:1])


def proposal_committed_expression(ref: str) -> Exists:
    """Whether the grant prepared from the outer proposal (its id named by `ref`) has a budget commitment.

    The grant is found by its proposal first (one row, by a unique index), then its entries by their grant: the
    database looks at the few entries of each proposal's grant instead of joining every commitment of the ledger.
    """
    grant = Grant.objects.filter(proposal_id=OuterRef(OuterRef(ref))).values("pk")[:1]
    return Exists(LedgerEntry.objects.filter(grant_id=Subquery(grant), kind=LedgerEntry.Kind.COMMITMENT))


def proposal_has_grant_expression(ref: str) -> Exists:
    """Whether a grant was prepared from the outer proposal (its id named by `ref`); for `annotate`."""
    return Exists(Grant.objects.filter(proposal_id=OuterRef(ref)))


def proposal_grant(proposal_id: int) -> Grant | None:
    """The grant prepared from a proposal, or None (one query)."""
    return Grant.objects.filter(proposal_id=proposal_id).first()


def grants_of_beneficiary(organisation: Organisation | None) -> QuerySet[Grant]:
    """The grants going to `organisation` (none for None), by reference; lazy, for a choice field."""
    grants = Grant.objects.none() if organisation is None else Grant.objects.filter(beneficiary=organisation)
    return grants.order_by("reference")
