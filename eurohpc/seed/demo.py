"""Demo data of the core app: the programme's organisations and one user per role."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from eurohpc.models import Organisation, Role, User
from eurohpc.services import organisation_create, organisation_signatory_update, user_create, user_grant_role

DATA_DIR = Path(__file__).resolve().parent.parent / "data"  # eurohpc/data
DEMO_PASSWORD = "eurohpc-demo"  # noqa: S105 - documented demo password, refused under production settings

DEMO_USERS = [
    # username, first, last, organisation short name, roles
    ("applicant", "Aino", "Virtanen", "CSC", [Role.APPLICANT]),
    ("applicant2", "Giulia", "Rossi", "CINECA", [Role.APPLICANT]),
    ("evaluator1", "Marta", "Novak", None, [Role.EVALUATOR]),
    ("evaluator2", "Jan", "de Vries", None, [Role.EVALUATOR]),
    ("evaluator3", "Elena", "Popescu", "TU Wien", [Role.EVALUATOR]),
    ("evaluator4", "Tomas", "Horvath", None, [Role.EVALUATOR]),
    ("officer", "Pierre", "Lambert", None, [Role.PROGRAMME_OFFICER]),
    ("finance", "Sofia", "Schmit", None, [Role.FINANCE_OFFICER]),
    ("operator", "Mikko", "Laine", "CSC", [Role.HOSTING_OPERATOR]),
    ("techexpert", "Lars", "Nielsen", None, [Role.TECHNICAL_EXPERT]),
    ("techexpert2", "Ines", "Carvalho", None, [Role.TECHNICAL_EXPERT]),
    ("admin", "Anna", "Weber", None, [Role.ADMIN]),
]

# Who signs grant agreements for each hosting entity in the demo: invented people (the register's data file holds
# public facts only), with the function such a signatory holds.
DEMO_REPRESENTATIVES = {
    "BSC": ("Jordi Puig Ferrer", "Director"),
    "CINECA": ("Lucia Bianchi", "Director General"),
    "CSC": ("Juha Korhonen", "Managing Director"),
    "LuxProvide": ("Claude Wagner", "Chief Executive Officer"),
    "NAISS": ("Karin Lindqvist", "Director"),
    "HLRS": ("Stefan Braun", "Director"),
    "GRNET": ("Nikos Papadakis", "Chair and Chief Executive Officer"),
    "TU Wien": ("Katharina Huber", "Rector"),
    "Sofia Tech Park": ("Ivan Dimitrov", "Executive Director"),
    "GENCI": ("Claire Martin", "Chief Executive Officer"),
    "FZJ": ("Thomas Becker", "Chair of the Board of Directors"),
    "PCSS": ("Piotr Kowalczyk", "Director"),
    "IZUM": ("Matej Kranjc", "Director"),
    "IT4I": ("Petr Dvořák", "Director"),
    "VU": ("Rūta Kazlauskienė", "Rector"),
    "AIFNL": ("Sanne Jansen", "Chair of the Board"),
    "Cyfronet": ("Agnieszka Wiśniewska", "Director"),
    "ICI": ("Andrei Ionescu", "General Director"),
    "CESGA": ("Marta Fernández Castro", "Managing Director"),
    "MACC": ("João Pereira", "President"),
}


@contextmanager
def replayed_at(moment: datetime) -> Iterator[None]:
    """Run the services as if at `moment`: the demo replays a history that happened in the past.

    A moment after the real now is refused: the demo never records what has not happened yet."""
    original = timezone.now
    if moment > original():
        raise ValueError(f"The demo replays the past only: {moment.isoformat()} is after now.")
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = original


def programme_data() -> dict:
    return json.loads((DATA_DIR / "programme.json").read_text())


def organisations_data() -> list[dict]:
    return json.loads((DATA_DIR / "organisations.json").read_text())["organisations"]


def organisation_by_alias() -> dict[str, Organisation]:
    by_short = {o.short_name: o for o in Organisation.objects.all()}
    found = {}
    for row in organisations_data():
        for alias in [row["short_name"], *row["aliases"]]:
            if row["short_name"] in by_short:
                found[alias] = by_short[row["short_name"]]
    return found


def _make_administrator(user: User) -> None:
    """Staff access to the administration of users, roles and organisations; not a superuser, so the
    programme's own permissions (who may read a proposal or a score) still apply to the administrator."""
    from django.contrib.auth.models import Permission

    User.objects.filter(pk=user.pk).update(is_staff=True)
    codenames = [
        f"{action}_{model}" for model in ("user", "userrole", "organisation") for action in ("view", "add", "change")
    ] + ["view_auditevent", "view_notification"]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="eurohpc", codename__in=codenames))


def seed(*, out) -> None:
    existing = {o.short_name: o for o in Organisation.objects.all()}
    created = 0
    for row in organisations_data():
        name, function = DEMO_REPRESENTATIVES.get(row["short_name"], ("", ""))
        signatory = {
            "address": row.get("address", ""),
            "representative_name": name,
            "representative_function": function,
        }
        if row["short_name"] in existing:
            if existing[row["short_name"]].letter_missing:  # a demo seeded before the register held signatories
                organisation_signatory_update(organisation=existing[row["short_name"]], actor=None, **signatory)
            continue
        organisation_create(
            legal_name=row["legal_name"],
            short_name=row["short_name"],
            country=row["country"],
            kind=row["kind"],
            actor=None,
            **signatory,
        )
        created += 1
    out(f"organisations: {created} created, {len(existing)} already there")

    organisations = {o.short_name: o for o in Organisation.objects.all()}
    made = 0
    for username, first, last, org, roles in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                password=DEMO_PASSWORD,
                email=f"{username}@demo.aif-grants.example",
                first_name=first,
                last_name=last,
                organisation=organisations.get(org) if org else None,
                roles=roles,
                actor=None,
            )
            made += 1
        for role in roles:
            if role not in user.roles:
                user_grant_role(user=user, role=role, actor=None)
        if Role.ADMIN in roles and not user.is_staff:
            _make_administrator(user)
    out(f"demo users: {made} created")
