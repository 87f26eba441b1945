"""Which actions on a grant are open to a user now: the grant page renders its buttons from here and the API
detail lists them, so no page offers what the service would refuse.

Each answer uses the permission the view checks and the state rule the service applies (grants/services.py);
an amount is still checked by the service when it is sent (within the grant, the envelope, what is unpaid).
"""

from grants.models import Grant, LedgerEntry
from grants.selectors import Totals, envelope_available_by_id
from grants.services import LETTER_STATUSES, OPEN_STATUSES, PAYABLE_STATUSES
from grants.transitions import GRANT

# In the order the page shows them.
GRANT_ACTIONS = ("commit", "sign", "pay", "decommit", "recover", "terminate", "issue_award_letter")


def grant_actions(*, grant: Grant, user, totals: Totals) -> list[str]:
    """The actions of GRANT_ACTIONS that `user` may take on `grant` in its present state and totals."""
    status = grant.status
    letter_blocked = bool(grant.beneficiary.letter_missing)
    open_now = {
        # commitment_create: an open grant with EU contribution left to commit, and room in its envelope chain
        "commit": status in OPEN_STATUSES
        and totals.net_committed < grant.eu_contribution
        and (grant.envelope_id is None or envelope_available_by_id(grant.envelope_id) > 0),
        # grant_sign: committed and not yet signed; the signature issues the award letter (below)
        "sign": GRANT.allows(status, Grant.Status.SIGNED) and totals.net_committed > 0 and not letter_blocked,
        # payment_record: signed or active, with something committed and not yet paid
        "pay": status in PAYABLE_STATUSES and totals.outstanding > 0,
        # decommitment_create: what is committed and unpaid can be released
        "decommit": status in OPEN_STATUSES and totals.outstanding > 0,
        # recovery_record: only what was paid is recovered
        "recover": totals.paid > 0,
        # grant_terminate
        "terminate": GRANT.allows(status, Grant.Status.TERMINATED),
        # award_letter_request: committed, to a beneficiary whose address and legal representative are recorded
        "issue_award_letter": status in LETTER_STATUSES and not letter_blocked,
    }
    permission = {"recover": "pay"}  # recoveries are recorded by those who record payments
    return [
        name
        for name in GRANT_ACTIONS
        if open_now[name] and user.has_perm(f"grants.{permission.get(name, name)}", grant)
    ]


def ledger_entry_reversible(*, entry: LedgerEntry, grant: Grant, totals: Totals) -> bool:
    """ledger_entry_reverse would accept reversing `entry` now (the permission is asked once per page). `entry`
    comes from `grant_ledger`, which counts its reversals."""
    if entry.reverses_id is not None or entry.reversal_count:
        return False
    if grant.status in (Grant.Status.CLOSED, Grant.Status.TERMINATED):
        return False
    if entry.kind == LedgerEntry.Kind.COMMITMENT:
        return entry.amount <= totals.outstanding  # a commitment already paid against cannot be taken back
    if entry.kind == LedgerEntry.Kind.DECOMMITMENT:
        return totals.net_committed + entry.amount <= grant.eu_contribution
    if entry.kind == LedgerEntry.Kind.RECOVERY:
        return totals.paid + entry.amount <= totals.net_committed  # paid again: within the net commitment
    return True  # a payment reversed lowers what was paid
