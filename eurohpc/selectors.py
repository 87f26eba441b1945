from django.db.models import Prefetch, QuerySet

from eurohpc.audit import ChainReport, verify_chain
from eurohpc.models import AuditEvent, User, UserRole


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


def audit_events(*, target_type: str | None = None, target_id: str | None = None) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    return events.order_by("-seq")
