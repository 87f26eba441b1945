"""Registrants built through the registration services (so their audit events and e-mails are real)."""

from eurohpc.identity.services.registration import (
    ProposedOrganisation,
    email_verify,
    user_register,
    verification_token,
)
from eurohpc.models import MembershipRequest, Organisation

PASSWORD = "a-long-registration-passphrase"

LIST = ProposedOrganisation(
    legal_name="Luxembourg Institute of Science and Technology", short_name="LIST", country="LU",
    kind=Organisation.Kind.PUBLIC_BODY, pic="999999999",
)  # fmt: skip


def register(
    username: str = "lena",
    *,
    organisation: Organisation | None = None,
    proposed: ProposedOrganisation | None = None,
    verified: bool = True,
) -> MembershipRequest:
    """A registrant asking for `organisation` (else the proposed LIST), verified unless told otherwise."""
    request = user_register(
        username=username, email=f"{username}@example.eu", first_name=username.capitalize(), last_name="Hoffmann",
        password=PASSWORD, organisation=organisation, proposed=None if organisation else (proposed or LIST),
    )  # fmt: skip
    if verified:
        email_verify(token=verification_token(user=request.user))
        request.user.refresh_from_db()
    return request


def form_data(**overrides) -> dict:
    """The registration form as a person fills it, choosing CSC-like organisation `organisation` by pk."""
    data = {
        "username": "lena", "first_name": "Lena", "last_name": "Hoffmann", "email": "lena@example.eu",
        "password": PASSWORD, "password_again": PASSWORD, "source": "register", "organisation": "",
        "proposed_legal_name": "", "proposed_short_name": "", "proposed_country": "", "proposed_kind": "",
        "proposed_pic": "",
    }  # fmt: skip
    data.update(overrides)
    return data


def proposed_data(**overrides) -> dict:
    proposed = {
        "source": "proposed", "proposed_legal_name": LIST.legal_name, "proposed_short_name": LIST.short_name,
        "proposed_country": LIST.country, "proposed_kind": LIST.kind, "proposed_pic": LIST.pic,
    }  # fmt: skip
    return form_data(**{**proposed, **overrides})
