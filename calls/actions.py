"""Which actions on a proposal are open to a user now: the proposal page renders its buttons from here and the
API lists them, so no page offers what the service would refuse.

Each answer uses the permission the view checks and the state rule of the service (calls/services/proposals.py);
a submission is still checked against every rule of the call when it is sent (the page lists them).
"""

from django.utils import timezone

from calls.models import Call, Proposal
from calls.services import call_takes_submissions, eligibility_recordable
from calls.transitions import PROPOSAL

# In the order the page shows them.
PROPOSAL_ACTIONS = ("edit", "submit", "withdraw", "copy", "record_eligibility")


def proposal_actions(*, proposal: Proposal, user) -> list[str]:
    now = timezone.now()
    status, call = proposal.status, proposal.call
    open_now = {
        "edit": lambda: status == Proposal.Status.DRAFT and user.has_perm("calls.change_proposal", proposal),
        "submit": lambda: (
            PROPOSAL.allows(status, Proposal.Status.SUBMITTED)
            and user.has_perm("calls.submit_proposal", proposal)
            and call_takes_submissions(call)
        ),
        # proposal_withdraw: a submitted proposal, until its cut-off
        "withdraw": lambda: (
            status == Proposal.Status.SUBMITTED
            and proposal.cut_off.closes_at > now
            and user.has_perm("calls.withdraw_proposal", proposal)
        ),
        # proposal_copy: a withdrawn proposal of a call still open
        "copy": lambda: (
            status == Proposal.Status.WITHDRAWN
            and call.status == Call.Status.OPEN
            and user.has_perm("calls.change_proposal", proposal)
        ),
        "record_eligibility": lambda: (
            user.has_perm("calls.record_eligibility", proposal) and eligibility_recordable(proposal)
        ),
    }
    return [name for name in PROPOSAL_ACTIONS if open_now[name]()]
