"""Which actions on a proposal are open to a user now: the proposal page renders its buttons from here and the
API lists them, so no page offers what the service would refuse.

Each answer uses the permission the view checks and the state rule of the service (calls/services/proposals.py);
a submission is still checked against every rule of the call when it is sent (the page lists them).
"""

from django.utils import timezone

from calls.models import Call, CutOff, Proposal
from calls.services import eligibility_recordable

# In the order the page shows them.
PROPOSAL_ACTIONS = ("edit", "submit", "withdraw", "copy", "record_eligibility")


def _takes_submissions(call: Call, now) -> bool:
    """proposal_submit: the call is open and a cut-off lies ahead."""
    return (
        call.status == Call.Status.OPEN
        and call.opens_at <= now
        and CutOff.objects.filter(call_id=call.pk, closes_at__gt=now).exists()
    )


def proposal_actions(*, proposal: Proposal, user) -> list[str]:
    now = timezone.now()
    status, call = proposal.status, proposal.call
    open_now = {
        "edit": lambda: status == Proposal.Status.DRAFT and user.has_perm("calls.change_proposal", proposal),
        "submit": lambda: (
            status == Proposal.Status.DRAFT
            and user.has_perm("calls.submit_proposal", proposal)
            and _takes_submissions(call, now)
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
