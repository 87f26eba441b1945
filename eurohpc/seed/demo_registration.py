"""Demo data of self-registration: two people who registered and verified their e-mail address in the past days,
whose requests wait in the programme office's queue, one for an organisation of the register (HLRS), one proposing
an organisation the register does not hold yet. Idempotent: a registrant already there is kept as it is."""

from datetime import timedelta

from django.utils import timezone

from eurohpc.identity.services.registration import (
    ProposedOrganisation,
    email_verify,
    user_register,
    verification_token,
)
from eurohpc.models import Organisation, User
from eurohpc.seed.demo import DEMO_PASSWORD, replayed_at

# username, first, last, days before the seeding, organisation of the register (short name) or a proposed one
REGISTRANTS = [
    ("registrant", "Lena", "Hoffmann", 3, "HLRS", None),
    (
        "registrant2", "Luc", "Reuter", 1, None,
        ProposedOrganisation(legal_name="Luxembourg Institute of Science and Technology", short_name="LIST",
                             country="LU", kind=Organisation.Kind.PUBLIC_BODY),
    ),
]  # fmt: skip

DEMO_LOGINS = [
    ("registrant", "Registered for HLRS, e-mail verified: awaits the programme office (no role yet)"),
    ("registrant2", "Registered proposing LIST for the register, e-mail verified: awaits the programme office"),
]


def seed(*, out) -> None:
    made = 0
    now = timezone.now()
    for username, first, last, days, short_name, proposed in REGISTRANTS:
        if User.objects.filter(username=username).exists():
            continue
        organisation = Organisation.objects.filter(short_name=short_name).first() if short_name else None
        if short_name and organisation is None:
            continue  # the register's demo organisations are seeded first; without them there is nothing to join
        if proposed is not None and Organisation.objects.filter(short_name=proposed.short_name).exists():
            continue
        registered = now.replace(microsecond=0) - timedelta(days=days, hours=2)
        with replayed_at(registered):
            request = user_register(
                username=username, email=f"{username}@demo.aif-grants.example", first_name=first, last_name=last,
                password=DEMO_PASSWORD, organisation=organisation, proposed=proposed,
            )  # fmt: skip
        with replayed_at(registered + timedelta(minutes=40)):
            email_verify(token=verification_token(user=request.user, sent_at=registered))
        made += 1
    out(f"registrations awaiting confirmation: {made} created")
