"""Who may do what in the access calls. Views, the API and templates ask these predicates.

A hosting entity's support team sees the access applications of its own machines once they are submitted (for the
technical assessment); another host's application is not found. Reviewers see an application as any proposal
they declared no conflict with (calls.evaluation.rules).
"""

import rules
from django.db.models import Q

from calls.models import Proposal
from calls.rules import VIEW_PROPOSAL_GRANTS, VISIBILITY_GRANTS, is_proposal_applicant
from eurohpc.permissions import denial
from eurohpc.rules import is_admin, is_applicant, is_hosting_operator, is_programme_officer

# An operator's view opens once the application is filed: drafts are the applicant's own.
HOST_VISIBLE = ~Q(status__in=[Proposal.Status.DRAFT])


def host_visibility(user) -> Q:
    if not (is_hosting_operator(user) and user.organisation_id):
        return Q(pk__in=[])
    return Q(type=Proposal.Type.ACCESS, machine__hosting_entity_id=user.organisation_id) & HOST_VISIBLE


def host_may_view(user, proposal) -> bool:
    return (
        is_hosting_operator(user)
        and proposal.type == Proposal.Type.ACCESS
        and proposal.status != Proposal.Status.DRAFT
        and proposal.machine is not None
        and proposal.machine.hosting_entity_id == user.organisation_id
    )


if host_visibility not in VISIBILITY_GRANTS:
    VISIBILITY_GRANTS.append(host_visibility)
if host_may_view not in VIEW_PROPOSAL_GRANTS:
    VIEW_PROPOSAL_GRANTS.append(host_may_view)


@rules.predicate
def is_application_host(user, application) -> bool:
    """Support staff of the hosting entity of the application's machine."""
    return (
        application is not None
        and is_hosting_operator(user)
        and user.organisation_id is not None
        and application.partition.machine.hosting_entity_id == user.organisation_id
    )


@rules.predicate
def is_application_applicant(user, application) -> bool:
    return application is not None and is_proposal_applicant(user, application.proposal)


@rules.predicate
def is_application_pi(user, application) -> bool:
    return application is not None and user.is_authenticated and application.pi_id == user.pk


@rules.predicate
def reviews_released(user, application) -> bool:
    """The officer sent the reviews to the applicant (the reply window opened)."""
    return application is not None and application.reply_deadline is not None


rules.add_perm("calls.apply_access", is_applicant)
denial("calls.apply_access", "Only applicants of a registered organisation apply for access.")
rules.add_perm("calls.change_access", is_application_applicant)
denial("calls.change_access", "Only applicant staff of the application's organisation can change it.")
rules.add_perm("calls.reply_access", is_application_applicant)
denial("calls.reply_access", "Only applicant staff of the application's organisation reply to its reviews.")
rules.add_perm("calls.list_access", is_programme_officer | is_admin)
denial("calls.list_access", "Only programme officers see every access application.")
rules.add_perm("calls.record_access_eligibility", is_programme_officer)
denial("calls.record_access_eligibility", "Only programme officers record eligibility.")
rules.add_perm("calls.assess_access", is_application_host)
denial("calls.assess_access", "Only the support team of the machine's hosting entity assesses its applications.")
rules.add_perm("calls.view_technical_queue", is_hosting_operator | is_programme_officer | is_admin)
denial("calls.view_technical_queue", "Only hosting entities' support teams and programme officers see this queue.")
rules.add_perm("calls.decide_access", is_programme_officer)
denial("calls.decide_access", "Only programme officers (the access committee) decide access applications.")
rules.add_perm("calls.manage_access_pools", is_programme_officer)
denial("calls.manage_access_pools", "Only programme officers set the access pools.")
rules.add_perm("calls.view_access_pools", is_programme_officer | is_admin | is_hosting_operator)
denial("calls.view_access_pools", "Only programme officers and hosting operators see the access pools.")
# The reviews without their authors: the office at any time, the applicant once they are released.
rules.add_perm(
    "calls.view_access_reviews", is_programme_officer | is_admin | (is_application_applicant & reviews_released)
)
denial("calls.view_access_reviews", "The reviews are shown to the applicant once the programme office releases them.")
rules.add_perm("calls.report_access", is_application_pi | is_application_applicant)
denial("calls.report_access", "Only the principal investigator or the organisation's applicants report on the project.")
