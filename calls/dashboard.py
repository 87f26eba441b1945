"""What the calls app shows on the dashboards of applicants and programme officers."""

from django.utils import timezone

from calls.models import Call, Proposal
from calls.selectors import call_list, proposal_list_for_organisation, submission_counts


def _open_calls():
    now = timezone.now()
    return [c for c in call_list() if c.status == Call.Status.OPEN and c.next_cut_off and c.next_cut_off > now]


DRAFTS_SHOWN = 10


def applicant_panel(request) -> dict:
    """The applicant's drafts first, each with the deadline it must meet (its call's next cut-off), then the
    organisation's other recent proposals and the open calls: three queries whatever the number of rows."""
    if request.user.organisation_id is None:
        return {}
    open_calls = _open_calls()
    next_cut_off = {call.pk: call.next_cut_off for call in open_calls}
    proposals = proposal_list_for_organisation(organisation_id=request.user.organisation_id)
    drafts = list(proposals.filter(status=Proposal.Status.DRAFT)[:DRAFTS_SHOWN])
    for draft in drafts:
        draft.deadline = next_cut_off.get(draft.call_id)  # None: the call takes no more submissions
    drafts.sort(key=lambda d: (d.deadline is None, d.deadline or timezone.now()))
    recent = list(proposals.exclude(status=Proposal.Status.DRAFT)[:5])
    return {"open_calls": open_calls, "drafts": drafts, "recent_proposals": recent}


def officer_panel(request) -> dict:
    counts = submission_counts()
    return {
        "open_calls": _open_calls(),
        "submission_counts": counts,
        "awaiting_eligibility": counts.get(Proposal.Status.SCREENING, 0),
    }
