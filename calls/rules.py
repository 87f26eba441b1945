"""Who may do what with calls and proposals. Views, the API and templates ask these predicates."""

import rules
from django.db.models import Q

from eurohpc.permissions import denial
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

# Each permission with the reason a refusal gives (eurohpc.permissions): the pages answer 403 with it.
rules.add_perm("calls.view_call", rules.always_allow)
rules.add_perm("calls.manage_calls", is_programme_officer | is_admin)
denial("calls.manage_calls", "Only programme officers open calls.")
rules.add_perm("calls.add_proposal", is_applicant)
denial("calls.add_proposal", "Only applicants (staff of a hosting entity) file proposals.")
rules.add_perm("calls.view_proposal", can_view_proposal)
denial("calls.view_proposal", "You may not read this proposal.")
rules.add_perm("calls.change_proposal", is_proposal_applicant)
denial("calls.change_proposal", "Only applicant staff of the proposal's organisation can change it.")
rules.add_perm("calls.submit_proposal", is_proposal_applicant)
denial("calls.submit_proposal", "Only applicant staff of the proposal's organisation can submit it.")
rules.add_perm("calls.withdraw_proposal", is_proposal_applicant)
denial("calls.withdraw_proposal", "Only applicant staff of the proposal's organisation can withdraw it.")
rules.add_perm("calls.view_evaluation_history", is_programme_officer | is_admin)
denial("calls.view_evaluation_history", "Only the programme office reads who took each step of an evaluation.")
rules.add_perm("calls.view_document", can_view_proposal)
denial("calls.view_document", "You may not read this proposal's documents.")
rules.add_perm("calls.list_submissions", is_programme_officer | is_admin)
denial("calls.list_submissions", "Only programme officers see the submissions.")
rules.add_perm("calls.record_eligibility", is_programme_officer)
denial("calls.record_eligibility", "Only programme officers record eligibility.")
