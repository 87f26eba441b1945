"""Single sign-on: the account an identity provider's sign-in is for, and the roles a configured claim gives.

A sign-in is matched to an account by its link (issuer + subject) first; a first sign-in by the e-mail address, and
only when the provider has verified it (one account with that address, compared case-insensitively); else it opens
an account with no role and no organisation, whose holder then asks to act for an organisation. Roles come from
the provider only when a claim is configured (OIDC_ROLES_CLAIM): its values, mapped by OIDC_ROLE_MAP, grant or
remove the roles the map can give, and no other. Locks: the user's row (eurohpc/locking.py: before the audit head).
"""

import logging
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from eurohpc.errors import NotPermitted, RuleViolation, StateConflict
from eurohpc.models import ORGANISATION_ROLES, ExternalIdentity, Role, User, UserRole
from eurohpc.services import audit_record, user_grant_role

LOGGER = logging.getLogger(__name__)

USERNAME_MAX = 150
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]+")


def _refused(why: str) -> str:
    return f"Single sign-on refused: {why}."


def _verified(value) -> bool:
    """The `email_verified` claim: a JSON true (some providers send the string "true")."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _unique_username(claims: dict, email: str) -> str:
    base = _NOT_IN_USERNAME.sub("", str(claims.get("preferred_username") or "")) or _NOT_IN_USERNAME.sub("", email)
    base = (base or "user")[: USERNAME_MAX - 4]
    taken = set(User.objects.filter(username__istartswith=base).values_list("username", flat=True))
    taken = {name.lower() for name in taken}
    candidate, number = base, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _refuse_inactive(user: User) -> None:
    if not user.is_active:
        raise NotPermitted(_refused(f"the account {user.username} is deactivated"), code="sso_inactive")


def _user_create(*, claims: dict, email: str, issuer: str, now) -> User:
    user = User(
        username=_unique_username(claims, email), email=email, email_verified_at=now,
        first_name=str(claims.get("given_name") or "")[:150], last_name=str(claims.get("family_name") or "")[:150],
    )  # fmt: skip
    user.set_unusable_password()
    user.save()
    audit_record(actor=None, verb="user.create", target=user, changes={"organisation": None, "signed_in_with": issuer})
    return user


def _match(*, issuer: str, claims: dict, now) -> tuple[User, bool, str]:
    """The account a first sign-in is for: (user, created, how it was found)."""
    email = str(claims.get("email") or "").strip()
    if not email:
        raise RuleViolation(_refused("the identity provider gave no e-mail address for the account"),
                            code="sso_email_missing")  # fmt: skip
    if not _verified(claims.get("email_verified")):
        raise NotPermitted(
            _refused(f"the identity provider has not verified the e-mail address {email}; verify it there, then sign "
                     "in again"),
            code="sso_email_unverified",
        )  # fmt: skip
    matches = list(User.objects.select_for_update().filter(email__iexact=email).order_by("pk")[:2])
    if len(matches) > 1:
        raise StateConflict(
            _refused(f"several accounts here have the e-mail address {email}; the programme office must merge them "
                     "first"),
            code="sso_email_ambiguous",
        )  # fmt: skip
    if not matches:
        return _user_create(claims=claims, email=email, issuer=issuer, now=now), True, "created"
    user = matches[0]
    _refuse_inactive(user)
    if ExternalIdentity.objects.filter(user=user, issuer=issuer).exists():
        raise StateConflict(
            _refused(f"the account with the e-mail address {email} is linked to another account at the identity "
                     "provider"),
            code="sso_linked_elsewhere",
        )  # fmt: skip
    if user.email_verified_at is None:
        user.email_verified_at = now
        user.save(update_fields=["email_verified_at"])
    return user, False, "email"


@transaction.atomic
def external_identity_sign_in(
    *, issuer: str, subject: str, claims: dict, roles_claim: str = "", role_map: dict[str, str] | None = None
) -> tuple[User, bool]:
    """The account the provider's verified sign-in of `subject` is for, linked to it; (user, created).

    Refuses a deactivated account, an e-mail address the provider has not verified (on a first sign-in), and an
    address several accounts share. With `roles_claim`, the user's mappable roles follow the claim."""
    now = timezone.now()
    link = ExternalIdentity.objects.filter(issuer=issuer, subject=subject).first()
    created = False
    if link is not None:
        user = User.objects.select_for_update().get(pk=link.user_id)
        _refuse_inactive(user)
        link.last_login_at = now
        link.save(update_fields=["last_login_at"])
    else:
        user, created, found_by = _match(issuer=issuer, claims=claims, now=now)
        try:
            with transaction.atomic():
                ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject, created_at=now,
                                                last_login_at=now)  # fmt: skip
        except IntegrityError as exc:
            raise StateConflict(_refused("this account signed in twice at the same moment; sign in again"),
                                code="sso_concurrent") from exc  # fmt: skip
        audit_record(actor=user, verb="external_identity.link", target=user,
                     changes={"issuer": issuer, "subject": subject, "found_by": found_by})  # fmt: skip
    if roles_claim:
        user_roles_from_provider(user=user, values=claims.get(roles_claim), role_map=role_map or {}, issuer=issuer)
    return user, created


def _claim_values(value) -> set[str]:
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, list | tuple):
        return {str(item) for item in value}
    return set()


@transaction.atomic
def user_roles_from_provider(*, user: User, values, role_map: dict[str, str], issuer: str) -> set[str]:
    """Grant the roles the claim's values map to and remove the mappable roles they do not; roles the map cannot
    give are never touched. A role that acts for an organisation is not granted to an account without one (the
    audit trail says so). Returns the user's roles after."""
    mappable = {role for role in role_map.values() if role in Role.values}
    unknown = sorted(set(role_map.values()) - mappable)
    if unknown:
        LOGGER.warning("OIDC_ROLE_MAP names roles that do not exist: %s", ", ".join(unknown))
    wanted = {role_map[value] for value in _claim_values(values) if role_map.get(value) in mappable}
    held = set(UserRole.objects.filter(user=user, role__in=mappable).values_list("role", flat=True))
    for role in sorted(wanted - held):
        if role in ORGANISATION_ROLES and user.organisation_id is None:
            LOGGER.info("OIDC role %s not granted to %s: the account has no organisation", role, user.username)
            audit_record(actor=None, verb="external_identity.role_withheld", target=user,
                         changes={"role": role, "issuer": issuer})  # fmt: skip
            continue
        user_grant_role(user=user, role=role, actor=None)
    for role in sorted(held - wanted):
        UserRole.objects.filter(user=user, role=role).delete()
        audit_record(actor=None, verb="user.revoke_role", target=user, changes={"role": role, "issuer": issuer})
    user.__dict__.pop("roles", None)
    return set(user.roles)
