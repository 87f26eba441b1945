"""Who the loopback provider knows: its clients and its accounts (the tests read the same constants)."""

from dataclasses import dataclass

CLIENT_ID = "aif-grants"
CLIENT_SECRET = "loopback-client-secret"
# A client whose token answers have the ID token's payload altered after signing (middleware.py).
TAMPERED_CLIENT_ID = "aif-grants-tampered"
PASSWORD = "loopback-password"
ROLES_CLAIM = "roles"
# Groups of the provider's accounts: "role:<value>" puts the value in the roles claim; this one makes the e-mail
# address unverified.
UNVERIFIED_GROUP = "email-unverified"


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    email: str
    verified: bool = True
    roles: tuple[str, ...] = ()


PEOPLE = {
    person.username: person
    for person in (
        Person("aino", "Aino", "Virtanen", "aino.virtanen@csc.fi", roles=("aif-programme-officers",)),
        Person("jonas", "Jonas", "Keller", "jonas.keller@example.eu", roles=("aif-evaluators", "aif-applicants")),
        Person("luca", "Luca", "Bianchi", "luca.bianchi@example.eu", verified=False),
    )
}
