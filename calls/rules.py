"""Who may do what with calls and proposals. Views, the API and templates ask these predicates."""

import rules
from django.db.models import Q

from eurohpc.rules import is_admin, is_applicant, is_programme_officer


@rules.predicate
def is_proposal_applicant(user, proposal) -> bool:
    """Applicant staff of the proposal's organisation."""
    return (
        proposal is not None
        and is_applicant(user)
        and user.organisation_id is not None
        and proposal.organisation_id == user.organisation_id
    )


# Other modules (evaluation) add the proposals they open to a user: callables user -> Q.
VISIBILITY_GRANTS: list = []
VIEW_PROPOSAL_GRANTS: list = []


def proposal_visibility_filter(user) -> Q:
    """The proposals `user` may see, as a filter; agrees with `calls.view_proposal`."""
    if not (user and user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if is_programme_officer(user) or is_admin(user):
        return Q()
    visible = Q(pk__in=[])
    if is_applicant(user) and user.organisation_id:
        visible |= Q(organisation_id=user.organisation_id)
    for grant in VISIBILITY_GRANTS:
        visible |= grant(user)
    return visible


@rules.predicate
def is_opened_by_another_module(user, proposal) -> bool:
    return proposal is not None and any(grant(user, proposal) for grant in VIEW_PROPOSAL_GRANTS)


can_view_proposal = is_proposal_applicant | is_programme_officer | is_admin | is_opened_by_another_module

rules.add_perm("calls.view_call", rules.always_allow)
rules.add_perm("calls.manage_calls", is_programme_officer | is_admin)
rules.add_perm("calls.add_proposal", is_applicant)
rules.add_perm("calls.view_proposal", can_view_proposal)
rules.add_perm("calls.change_proposal", is_proposal_applicant)
rules.add_perm("calls.submit_proposal", is_proposal_applicant)
rules.add_perm("calls.withdraw_proposal", is_proposal_applicant)
rules.add_perm("calls.view_document", can_view_proposal)
rules.add_perm("calls.list_submissions", is_programme_officer | is_admin)
rules.add_perm("calls.record_eligibility", is_programme_officer)
