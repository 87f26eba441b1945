"""Who may do what in the core app. Views, the API and templates all ask these predicates."""

import rules

from eurohpc.models import Role
from eurohpc.permissions import denial


def _has_role(role: str):
    @rules.predicate(name=f"is_{role}")
    def predicate(user) -> bool:
        return bool(user and user.is_authenticated and user.is_active and role in user.roles)

    return predicate


is_applicant = _has_role(Role.APPLICANT)
is_evaluator = _has_role(Role.EVALUATOR)
is_programme_officer = _has_role(Role.PROGRAMME_OFFICER)
is_finance_officer = _has_role(Role.FINANCE_OFFICER)
is_hosting_operator = _has_role(Role.HOSTING_OPERATOR)
is_technical_expert = _has_role(Role.TECHNICAL_EXPERT)
is_admin = _has_role(Role.ADMIN)

is_officer = is_programme_officer | is_finance_officer


@rules.predicate
def is_member_of(user, organisation) -> bool:
    return organisation is not None and user.is_authenticated and user.organisation_id == organisation.pk


rules.add_perm("eurohpc.list_users", is_officer | is_admin)
rules.add_perm("eurohpc.view_audit", is_programme_officer | is_finance_officer | is_admin)
denial("eurohpc.view_audit", "Only officers and administrators can read the audit trail.")
rules.add_perm("eurohpc.view_organisation", is_member_of | is_officer | is_admin)

from eurohpc.identity import rules as _identity_rules  # noqa: E402, F401  (accounts: registration, second factor)
