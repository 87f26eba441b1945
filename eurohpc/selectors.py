from datetime import date, timedelta

from django.db.models import Prefetch, QuerySet

from eurohpc.audit import ChainReport, verify_chain
from eurohpc.dates import start_of_day
from eurohpc.models import AuditChainCheck, AuditEvent, User, UserRole


def audit_chain_report() -> ChainReport:
    events = AuditEvent.objects.order_by("seq").only(
        "seq", "created_at", "actor_id", "verb", "target_type", "target_id", "target_repr", "changes",
        "prev_hash", "hash",
    )  # fmt: skip
    return verify_chain(events.iterator(chunk_size=2000))


def user_list(*, role: str | None = None) -> QuerySet[User]:
    users = (
        User.objects.filter(is_active=True)
        .select_related("organisation")
        .prefetch_related(Prefetch("role_grants", queryset=UserRole.objects.order_by("role")))
    )
    if role:
        users = users.filter(role_grants__role=role)
    return users.order_by("username")


def audit_events(
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: User | None = None,
    verb: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    """The audit trail, newest first (by when it happened; the chain's sequence breaks ties), narrowed by object,
    person, action and days (Europe/Luxembourg, both included); each event with its actor in the same query."""
    events = AuditEvent.objects.select_related("actor")
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    if actor is not None:
        events = events.filter(actor=actor)
    if verb:
        events = events.filter(verb=verb)
    if since is not None:
        events = events.filter(created_at__gte=start_of_day(since))
    if until is not None:
        events = events.filter(created_at__lt=start_of_day(until + timedelta(days=1)))
    return events.order_by("-created_at", "-seq")


def audit_chain_last_check() -> AuditChainCheck | None:
    return AuditChainCheck.objects.order_by("-checked_at", "-id").first()
