"""What the calls app shows on the dashboards of applicants and programme officers."""

from django.utils import timezone

from calls.models import Call, Proposal
from calls.selectors import call_list, proposal_list_for_organisation, submission_counts


def _open_calls():
    now = timezone.now()
    return [c for c in call_list() if c.status == Call.Status.OPEN and c.next_cut_off and c.next_cut_off > now]


def applicant_panel(request) -> dict:
    if request.user.organisation_id is None:
        return {}
    recent = list(proposal_list_for_organisation(organisation_id=request.user.organisation_id)[:5])
    return {"open_calls": _open_calls(), "recent_proposals": recent}


def officer_panel(request) -> dict:
    counts = submission_counts()
    return {
        "open_calls": _open_calls(),
        "submission_counts": counts,
        "awaiting_eligibility": counts.get(Proposal.Status.SCREENING, 0),
    }
