"""Writes of the core app: the audit trail, organisations, users and roles, notifications."""

from datetime import UTC

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone

from eurohpc.audit import GENESIS_HASH, event_hash, normalise
from eurohpc.countries import COUNTRIES
from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.models import (
    ORGANISATION_ROLES,
    AuditChainCheck,
    AuditChainHead,
    AuditEvent,
    Notification,
    Organisation,
    Role,
    User,
    UserRole,
)


def _target_fields(target) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk), str(target)[:255]
    return type(target).__name__.lower(), "", str(target)[:255]


@transaction.atomic
def audit_record(*, actor: User | None, verb: str, target=None, changes: dict | None = None) -> AuditEvent:
    """Append one event to the audit trail, in the caller's transaction.

    The chain head row is locked so that concurrent writers append one after the other; it is taken
    last in a service, after the service's own locks, so the lock order is always the same.
    """
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # an emptied database (tests flush tables): the chain starts again from genesis
        head, _ = AuditChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})
    target_type, target_id, target_repr = _target_fields(target)
    changes = normalise(changes)
    created_at = timezone.now().astimezone(UTC)
    seq = head.seq + 1
    actor_id = actor.pk if actor is not None and actor.pk else None
    digest = event_hash(
        prev_hash=head.hash, seq=seq, created_at=created_at, actor_id=actor_id, verb=verb,
        target_type=target_type, target_id=target_id, target_repr=target_repr, changes=changes,
    )  # fmt: skip
    event = AuditEvent.objects.create(
        seq=seq, created_at=created_at, actor_id=actor_id, actor_repr=actor.username if actor_id else "system",
        verb=verb, target_type=target_type, target_id=target_id, target_repr=target_repr,
        changes=changes, prev_hash=head.hash, hash=digest,
    )  # fmt: skip
    AuditChainHead.objects.filter(pk=1).update(seq=seq, hash=digest)
    return event


def audit_chain_verify() -> AuditChainCheck:
    """Walk the audit trail's hash chain and record the result, for the audit page to show when it last held.

    The walk reads outside a transaction (it may take minutes on a large trail); only the result is written."""
    from eurohpc.selectors import audit_chain_report

    report = audit_chain_report()
    with transaction.atomic():
        return AuditChainCheck.objects.create(
            checked_at=timezone.now(), ok=report.ok, events=report.checked,
            first_bad_seq=report.first_bad_seq, reason=report.reason[:255],
        )  # fmt: skip


def audit_chain_verify_queue() -> None:
    """Ask for a walk of the chain now (the audit page's button); the task runs after the request."""
    from eurohpc.tasks import verify_audit_chain

    transaction.on_commit(lambda: verify_audit_chain.delay())


@transaction.atomic
def organisation_create(
    *,
    legal_name: str,
    short_name: str,
    country: str,
    kind: str,
    pic: str = "",
    address: str = "",
    representative_name: str = "",
    representative_function: str = "",
    actor: User | None,
) -> Organisation:
    country = country.upper()
    if country not in COUNTRIES:
        raise RuleViolation(f"Country must be an ISO 3166-1 alpha-2 code, got {country!r}.", code="country")
    if Organisation.objects.filter(short_name=short_name).exists():
        raise StateConflict(f"An organisation with the short name {short_name!r} already exists.")
    organisation = Organisation(legal_name=legal_name, short_name=short_name, country=country, kind=kind, pic=pic,
                                address=address.strip(), representative_name=representative_name.strip(),
                                representative_function=representative_function.strip())  # fmt: skip
    organisation.full_clean()
    organisation.save()
    audit_record(actor=actor, verb="organisation.create", target=organisation,
                 changes={"legal_name": legal_name, "country": country, "kind": kind})  # fmt: skip
    return organisation


@transaction.atomic
def organisation_signatory_update(
    *,
    organisation: Organisation,
    address: str,
    representative_name: str,
    representative_function: str,
    actor: User | None,
) -> Organisation:
    """Record where an award letter is addressed and who signs for the organisation (audited)."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    values = {"address": address.strip(), "representative_name": representative_name.strip(),
              "representative_function": representative_function.strip()}  # fmt: skip
    changes = {name: value for name, value in values.items() if getattr(organisation, name) != value}
    if not changes:
        return organisation
    for name, value in changes.items():
        setattr(organisation, name, value)
    organisation.full_clean()
    organisation.save(update_fields=list(changes))
    audit_record(actor=actor, verb="organisation.update_signatory", target=organisation, changes=changes)
    return organisation


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    organisation: Organisation | None = None,
    roles: list[str] | tuple[str, ...] = (),
    actor: User | None,
) -> User:
    if User.objects.filter(username=username).exists():
        raise StateConflict(f"A user named {username!r} already exists.")
    user = User(username=username, email=email, first_name=first_name, last_name=last_name,
                organisation=organisation)  # fmt: skip
    user.set_password(password)
    user.save()
    audit_record(actor=actor, verb="user.create", target=user,
                 changes={"organisation": organisation.short_name if organisation else None})  # fmt: skip
    for role in roles:
        user_grant_role(user=user, role=role, actor=actor)
    return user


@transaction.atomic
def user_grant_role(*, user: User, role: str, actor: User | None) -> UserRole:
    if role not in Role.values:
        raise RuleViolation(f"Unknown role {role!r}; roles are {', '.join(Role.values)}.")
    if role in ORGANISATION_ROLES and user.organisation_id is None:
        raise RuleViolation(f"The role {Role(role).label} acts for an organisation: set the user's organisation first.")
    grant, created = UserRole.objects.get_or_create(user=user, role=role)
    if created:
        audit_record(actor=actor, verb="user.grant_role", target=user, changes={"role": role})
        user.__dict__.pop("roles", None)
    return grant


@transaction.atomic
def notification_queue(*, recipient: User, subject: str, body: str) -> Notification:
    """Write the notification now; send it once the surrounding transaction has committed."""
    from eurohpc.tasks import send_notification

    notification = Notification.objects.create(recipient=recipient, subject=subject[:200], body=body)
    transaction.on_commit(lambda: send_notification.delay(notification_id=notification.pk))
    return notification


@transaction.atomic
def notification_send(*, notification_id: int) -> bool:
    """Send once: a second call for a sent notification does nothing. Returns whether it sent."""
    notification = (
        Notification.objects.select_for_update().select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None or notification.sent_at is not None or not notification.recipient.email:
        return False
    send_mail(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL, [notification.recipient.email])
    notification.sent_at = timezone.now()
    notification.save(update_fields=["sent_at"])
    return True
