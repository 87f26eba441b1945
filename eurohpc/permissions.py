"""Why a permission is refused: the reason is declared once, next to the permission's predicate in the app's rules.py.

    rules.add_perm("calls.change_proposal", is_proposal_applicant)
    denial("calls.change_proposal", "Only applicant staff of the proposal's organisation can change it.")

The pages' `require_perm` answers 403 with `denial_message(perm)`; a permission without a declared reason gets the
generic one.
"""

from django.core.exceptions import ImproperlyConfigured

GENERIC_DENIAL = "You do not have permission to do this."

_DENIALS: dict[str, str] = {}


def denial(perm: str, message: str) -> None:
    """Declare the reason a refusal of `perm` gives. Declaring another reason for the same permission is an error."""
    declared = _DENIALS.setdefault(perm, message)
    if declared != message:
        raise ImproperlyConfigured(f"{perm} already has its denial message: {declared!r}")


def denial_message(perm: str) -> str:
    """The reason declared for `perm`, else the generic one."""
    return _DENIALS.get(perm, GENERIC_DENIAL)


def denials() -> dict[str, str]:
    """Every declared reason, by permission."""
    return dict(_DENIALS)
