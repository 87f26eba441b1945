"""Access pools (a quota's Union hours split per access mode) and the award of access time to a project."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum

from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from eurohpc.models import Organisation, User
from eurohpc.services import audit_record
from hosting.formatting import hours as in_unit
from hosting.models import AccessPool, Allocation, AllocationPeriod, Partition, PartitionQuota, UserProject
from hosting.services.projects import allocation_audit, allocation_insert, project_audit, project_insert

ZERO = Decimal("0")


@transaction.atomic
def access_pool_set(*, quota: PartitionQuota, access_mode: str, hours: Decimal, actor: User) -> AccessPool:
    """Set the hours of one access mode's pool in a quota. The pools of a quota add up to at most its Union
    quota, and a pool never shrinks below what its mode has been awarded."""
    if access_mode not in UserProject.AccessMode.values:
        raise RuleViolation(
            f"Unknown access mode {access_mode!r}; access modes are {', '.join(UserProject.AccessMode.values)}.",
            code="access_mode",
        )
    try:
        amount = Decimal(str(hours))
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:
        raise RuleViolation(
            f"A pool is a number of hours, 0 or more, with at most 2 decimals; got {hours}.",
            code="pool_hours",
            errors={"hours": ["Enter 0 or more hours, with at most 2 decimals."]},
        )
    # the period, the partition and the quota, in the lock order of eurohpc/locking.py
    period = AllocationPeriod.objects.select_for_update().get(pk=quota.period_id)
    quota = PartitionQuota.objects.select_for_update().select_related("partition").get(pk=quota.pk)
    unit = quota.partition.accounting_unit
    label = f"{quota.partition} in {period.name}"
    mode = UserProject.AccessMode(access_mode).label
    other_pools = AccessPool.objects.filter(quota=quota).exclude(access_mode=access_mode)
    others = other_pools.aggregate(t=Sum("hours"))["t"] or ZERO
    # hours allocated before the pools, or to a mode without a pool, are no longer there to set aside
    pooled_modes = [*other_pools.values_list("access_mode", flat=True), access_mode]
    outside = (
        Allocation.objects.filter(partition=quota.partition, period=period)
        .exclude(project__access_mode__in=pooled_modes)
        .aggregate(t=Sum("amount"))["t"]
        or ZERO
    )
    if others + amount + outside > quota.union_quota:
        room = quota.union_quota - others - outside
        held = f"the other pools hold {in_unit(others, unit)}"
        if outside:
            held += f", allocations outside the pools {in_unit(outside, unit)}"
        raise LimitExceeded(
            f"The access pools of {label} would exceed its Union quota of {in_unit(quota.union_quota, unit)} by "
            f"{in_unit(others + amount + outside - quota.union_quota, unit)}: {held}, asked {in_unit(amount, unit)} "
            f"for {mode}.",
            code="pools_over_quota",
            errors={"hours": [f"At most {in_unit(max(room, ZERO), unit)} are left for this pool."]},
        )
    awarded = (
        Allocation.objects.filter(partition=quota.partition, period=period, project__access_mode=access_mode).aggregate(
            t=Sum("amount")
        )["t"]
        or ZERO
    )
    if amount < awarded:
        raise StateConflict(
            f"The {mode} pool of {label} has already awarded {in_unit(awarded, unit)}: it cannot shrink to "
            f"{in_unit(amount, unit)}.",
            code="pool_below_awarded",
            errors={"hours": [f"At least {in_unit(awarded, unit)}, already awarded."]},
        )
    pool = AccessPool.objects.filter(quota=quota, access_mode=access_mode).first()
    before = pool.hours if pool else None
    if pool is None:
        pool = AccessPool.objects.create(quota=quota, access_mode=access_mode, hours=amount)
    else:
        pool.hours = amount
        pool.save(update_fields=["hours", "updated_at"])
    audit_record(
        actor=actor,
        verb="pool.set",
        target=pool,
        changes={"quota": label, "access_mode": access_mode, "hours": amount, "before": before, "unit": unit},
    )
    return pool


def period_covering(*, partition: Partition, day: date) -> AllocationPeriod | None:
    return (
        AllocationPeriod.objects.filter(machine_id=partition.machine_id, start__lte=day, end__gte=day)
        .order_by("start")
        .first()
    )


@transaction.atomic
def project_award(
    *,
    title: str,
    pi: User,
    organisation: Organisation,
    user_type: str,
    access_mode: str,
    commercial: bool,
    partition: Partition,
    starts_on: date,
    duration_months: int,
    amount: Decimal,
    cut_off: int,
    actor: User,
) -> Allocation:
    """Give an access award its project and its allocation on the partition, in the period its access starts,
    from its mode's pool: all of it or nothing. The Slurm account is the project's code in lower case.

    Locks in the machine chain's order (eurohpc/locking.py): the allocation period (so that the awards of one
    period, and the project codes they draw, follow one another), the new project, the partition's quota; the
    audit events (project, then allocation) come last, after every lock.
    """
    period = period_covering(partition=partition, day=starts_on)
    if period is None:
        raise StateConflict(
            f"{partition.machine.name} has no allocation period covering {starts_on:%B %Y}: the officer of the "
            f"machine opens it first.",
            code="no_period",
        )
    period = AllocationPeriod.objects.select_for_update().get(pk=period.pk)
    project = project_insert(
        title=title,
        pi=pi,
        organisation=organisation,
        user_type=user_type,
        access_mode=access_mode,
        starts_on=starts_on,
        duration_months=duration_months,
        cut_off=cut_off,
        commercial=commercial,
    )
    allocation, changes = allocation_insert(
        project=project, partition=partition, period=period, amount=amount, slurm_account=project.code.lower()
    )
    project_audit(project=project, actor=actor)
    allocation_audit(allocation=allocation, changes=changes, actor=actor)
    return allocation
