"""Who may do what with envelopes, grants, the ledger and award letters.

Views, the API and templates ask these predicates; `Grant.objects.visible_to(user)` applies the same rule
as a filter. Another organisation's grant is not found (404), never merely forbidden.
"""

import rules
from django.db.models import Q

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


rules.add_perm("grants.view_budget", is_budget_reader)
rules.add_perm("grants.manage_envelopes", is_finance_officer)
rules.add_perm("grants.export", is_budget_reader)
rules.add_perm("grants.list_grants", is_budget_reader | is_applicant)
rules.add_perm("grants.view_grant", is_budget_reader | is_beneficiary)
rules.add_perm("grants.add_grant", is_finance_officer)
rules.add_perm("grants.commit", is_finance_officer)
rules.add_perm("grants.sign", is_finance_officer)
rules.add_perm("grants.pay", is_finance_officer)
rules.add_perm("grants.decommit", is_finance_officer)
rules.add_perm("grants.correct_ledger", is_finance_officer)
rules.add_perm("grants.terminate", is_finance_officer)
rules.add_perm("grants.issue_award_letter", is_finance_officer)
rules.add_perm("grants.view_award_letter", is_budget_reader | (is_beneficiary_of_letter & letter_is_ready))
