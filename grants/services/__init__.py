"""Writes of the budget: envelopes, grants, the commitment ledger, payments and award letters.

Lock order, the same in every service: the envelopes of a chain (by primary key), then the grant, then
the audit chain head (inside `audit_record`). Two finance officers therefore queue rather than deadlock,
and none can take the last euro of an envelope, or of any envelope above it, that another took.

`envelopes` holds the envelopes and the funding of calls, `ledger` the grants and their ledger entries
(commitments, payments, decommitments, recoveries, reversals, signature, termination), `letters` the award
letters.
"""

from grants.services._common import CENT, ZERO, money
from grants.services.envelopes import call_funding_set, envelope_create, envelope_set_amount
from grants.services.ledger import (
    OPEN_STATUSES,
    PAYABLE_STATUSES,
    PAYMENT_KIND_CHOICES,
    commitment_create,
    decommitment_create,
    grant_create_from_proposal,
    grant_sign,
    grant_terminate,
    ledger_entry_reverse,
    payment_record,
    recovery_record,
)
from grants.services.letters import (
    LETTER_STATUSES,
    RenderError,
    award_letter_fail,
    award_letter_render,
    award_letter_request,
)

__all__ = [
    "CENT",
    "LETTER_STATUSES",
    "OPEN_STATUSES",
    "PAYABLE_STATUSES",
    "PAYMENT_KIND_CHOICES",
    "ZERO",
    "RenderError",
    "award_letter_fail",
    "award_letter_render",
    "award_letter_request",
    "call_funding_set",
    "commitment_create",
    "decommitment_create",
    "envelope_create",
    "envelope_set_amount",
    "grant_create_from_proposal",
    "grant_sign",
    "grant_terminate",
    "ledger_entry_reverse",
    "money",
    "payment_record",
    "recovery_record",
]
