"""Who may do what with accounts (imported by eurohpc.rules)."""

import rules

from eurohpc.permissions import denial
from eurohpc.rules import is_admin  # eurohpc.rules imports this module last, once its predicates exist

rules.add_perm("eurohpc.reset_second_factor", is_admin)
denial("eurohpc.reset_second_factor", "Only administrators can reset another user's second factor.")

# Self-registration: the programme office confirms who acts for an organisation (services/registration.py)
from eurohpc.rules import is_programme_officer  # noqa: E402

rules.add_perm("eurohpc.confirm_membership", is_programme_officer | is_admin)
denial(
    "eurohpc.confirm_membership",
    "Only programme officers and administrators can confirm who acts for an organisation.",
)
