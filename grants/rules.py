"""Who may do what with envelopes, grants, the ledger and award letters.

Views, the API and templates ask these predicates; `Grant.objects.visible_to(user)` applies the same rule
as a filter. Another organisation's grant is not found (404), never merely forbidden.
"""

import rules
from django.db.models import Q

from eurohpc.permissions import denial
from eurohpc.rules import is_admin, is_applicant, is_finance_officer, is_programme_officer


@rules.predicate
def is_beneficiary(user, grant) -> bool:
    """Applicant staff of the grant's beneficiary organisation."""
    return (
        grant is not None
        and is_applicant(user)
        and user.organisation_id is not None
        and grant.beneficiary_id == user.organisation_id
    )


@rules.predicate
def letter_is_ready(user, letter) -> bool:
    return letter is not None and letter.status == "ready"


@rules.predicate
def is_beneficiary_of_letter(user, letter) -> bool:
    return letter is not None and is_beneficiary(user, letter.grant)


is_budget_reader = is_finance_officer | is_programme_officer | is_admin


def grant_visibility_filter(user) -> Q:
    """The grants `user` may see, as a filter; agrees with `grants.view_grant`."""
    if not (user and user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if is_budget_reader(user):
        return Q()
    if is_applicant(user) and user.organisation_id:
        return Q(beneficiary_id=user.organisation_id)
    return Q(pk__in=[])


# Each permission with the reason a refusal gives (eurohpc.permissions): the pages answer 403 with it.
rules.add_perm("grants.view_budget", is_budget_reader)
denial("grants.view_budget", "Only officers and administrators can read the budget.")
rules.add_perm("grants.manage_envelopes", is_finance_officer)
denial("grants.manage_envelopes", "Only finance officers keep the envelopes.")
rules.add_perm("grants.export", is_budget_reader)
denial("grants.export", "Only officers and administrators export the budget.")
rules.add_perm("grants.list_grants", is_budget_reader | is_applicant)
denial("grants.list_grants", "Your role has no grants to list.")
rules.add_perm("grants.view_grant", is_budget_reader | is_beneficiary)
rules.add_perm("grants.add_grant", is_finance_officer)
denial("grants.add_grant", "Only finance officers prepare grants.")
rules.add_perm("grants.commit", is_finance_officer)
denial("grants.commit", "Only finance officers make budget commitments.")
rules.add_perm("grants.sign", is_finance_officer)
denial("grants.sign", "Only finance officers record the signature.")
rules.add_perm("grants.pay", is_finance_officer)  # payments and recoveries
denial("grants.pay", "Only finance officers record payments.")
rules.add_perm("grants.decommit", is_finance_officer)
denial("grants.decommit", "Only finance officers decommit.")
rules.add_perm("grants.correct_ledger", is_finance_officer)
denial("grants.correct_ledger", "Only finance officers correct the ledger.")
rules.add_perm("grants.terminate", is_finance_officer)
denial("grants.terminate", "Only finance officers terminate grants.")
rules.add_perm("grants.issue_award_letter", is_finance_officer)
denial("grants.issue_award_letter", "Only finance officers issue award letters.")
rules.add_perm("grants.view_award_letter", is_budget_reader | (is_beneficiary_of_letter & letter_is_ready))
