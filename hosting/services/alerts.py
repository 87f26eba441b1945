"""Alerts: an allocation crossing 75%, 90% and 100% of its amount tells its PI and the programme officers, once."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from eurohpc.models import Role, User
from eurohpc.services import audit_record, notification_queue
from hosting.formatting import hours
from hosting.models import Allocation, AllocationAlert
from hosting.selectors import allocations_with_usage, burn_forecast

ALERT_THRESHOLDS = (75, 90, 100)


def _body(allocation: Allocation, threshold: int, forecast) -> str:
    unit = allocation.partition.accounting_unit
    lines = [
        f"The allocation of {allocation.project.code} ({allocation.project.title}) on {allocation.partition} in "
        f"{allocation.period.name} has used {hours(allocation.used, unit)} of {hours(allocation.amount, unit)}, "
        f"passing {threshold}%.",
        f"Slurm account: {allocation.slurm_account}.",
    ]
    if forecast.exhausted:
        lines.append("The allocation is used up.")
    elif forecast.runs_out_on is not None:
        lines.append(
            f"At the last {forecast.window_days} days' rate ({hours(forecast.daily_rate, unit)} a day) it runs out "
            f"on {forecast.runs_out_on:%d %B %Y}; the period ends on {allocation.period.end:%d %B %Y}."
        )
    return "\n\n".join(lines)


@transaction.atomic
def allocation_alerts_check(*, allocation_ids: list[int], as_of: date | None = None) -> list[AllocationAlert]:
    """Record the thresholds the allocations have newly crossed and notify; a threshold never fires twice.

    When one import crosses several thresholds at once, all are recorded and one notification names the highest.
    """
    as_of = as_of or timezone.localdate()
    allocations = list(
        allocations_with_usage(Allocation.objects.filter(pk__in=allocation_ids), as_of=as_of)
        .select_related("project__pi", "partition__machine", "period")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    fired = set(
        AllocationAlert.objects.filter(allocation_id__in=allocation_ids).values_list("allocation_id", "threshold")
    )
    officers = None
    created = []
    for allocation in allocations:
        share = allocation.used * 100 / allocation.amount
        crossed = [t for t in ALERT_THRESHOLDS if share >= t and (allocation.pk, t) not in fired]
        if not crossed:
            continue
        alerts = AllocationAlert.objects.bulk_create(
            [AllocationAlert(allocation=allocation, threshold=t, used=allocation.used) for t in crossed]
        )
        created.extend(alerts)
        highest = max(crossed)
        forecast = burn_forecast(amount=allocation.amount, used=allocation.used, recent=allocation.recent, as_of=as_of)
        if officers is None:
            officers = list(
                User.objects.filter(is_active=True, role_grants__role=Role.PROGRAMME_OFFICER)
                .distinct()
                .order_by("username")
            )
        recipients = {allocation.project.pi.pk: allocation.project.pi, **{o.pk: o for o in officers}}
        subject = f"{allocation.project.code}: {highest}% of the {allocation.partition} allocation used"
        body = _body(allocation, highest, forecast)
        for recipient in recipients.values():
            if recipient.is_active:
                notification_queue(recipient=recipient, subject=subject, body=body)
        audit_record(
            actor=None,
            verb="allocation.alert",
            target=allocation,
            changes={
                "thresholds": crossed,
                "used": allocation.used,
                "amount": allocation.amount,
                "notified": sorted(r.username for r in recipients.values() if r.is_active),
            },
        )
    return created
