"""Writes of user projects and allocations, with the access-mode rules (Art. 16(2a), 17, 18)."""

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from eurohpc.models import Organisation, User
from eurohpc.services import audit_record
from hosting.formatting import hours, qty
from hosting.models import (
    PAY_PER_USE_ALLOCATIONS,
    AccessPool,
    Allocation,
    AllocationPeriod,
    Partition,
    PartitionQuota,
    UserProject,
)

FAST_LANE_MAX_GPU_HOURS = Decimal("50000")
LARGE_SCALE_MONTHS = (3, 6, 12)
PLAYGROUND_MONTHS = (1, 3)  # from, to
PLAYGROUND_USER_TYPES = (UserProject.UserType.STARTUP, UserProject.UserType.SME)
PAY_PER_USE_CAP = Decimal("0.20")  # of the Union share
MAX_DURATION_MONTHS = 36
SLURM_ACCOUNT = re.compile(r"[A-Za-z0-9_.-]{1,64}")

ZERO = Decimal("0")


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _next_code(*, year: int, access_mode: str, cut_off: int) -> str:
    prefix = f"EHPC-AIF-{year}{UserProject.MODE_CODES[access_mode]}{cut_off:02d}-"
    last = UserProject.objects.filter(code__startswith=prefix).order_by("-code").values_list("code", flat=True).first()
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    if number > 9999:
        raise LimitExceeded(f"The project codes {prefix}0001 to {prefix}9999 are all taken.")
    return f"{prefix}{number:04d}"


@transaction.atomic
def project_create(
    *,
    title: str,
    pi: User,
    organisation: Organisation,
    user_type: str,
    access_mode: str,
    starts_on: date,
    duration_months: int,
    cut_off: int = 1,
    commercial: bool = False,
    actor: User | None,
) -> UserProject:
    """Record a user project; its code is EHPC-AIF-<year><mode><cut-off>-<number>, e.g. EHPC-AIF-2026PG01-0001."""
    project = project_insert(
        title=title, pi=pi, organisation=organisation, user_type=user_type, access_mode=access_mode,
        starts_on=starts_on, duration_months=duration_months, cut_off=cut_off, commercial=commercial,
    )  # fmt: skip
    project_audit(project=project, actor=actor)
    return project


def project_audit(*, project: UserProject, actor: User | None) -> None:
    audit_record(
        actor=actor,
        verb="project.create",
        target=project,
        changes={
            "title": project.title,
            "pi": project.pi.username,
            "organisation": project.organisation.short_name,
            "user_type": project.user_type,
            "access_mode": project.access_mode,
            "starts_on": project.starts_on,
            "ends_on": project.ends_on,
            "commercial": project.commercial,
        },
    )


def project_insert(
    *,
    title: str,
    pi: User,
    organisation: Organisation,
    user_type: str,
    access_mode: str,
    starts_on: date,
    duration_months: int,
    cut_off: int = 1,
    commercial: bool = False,
) -> UserProject:
    """The project row of `project_create`, checked, without its audit event: a caller that locks more rows after
    it (an access award: the project, then the quota) writes the event with `project_audit` after its locks."""
    title = title.strip()
    if not title:
        raise RuleViolation("A project needs a title.")
    if user_type not in UserProject.UserType.values:
        raise RuleViolation(
            f"Unknown user type {user_type!r}; user types are {', '.join(UserProject.UserType.values)}."
        )
    if access_mode not in UserProject.AccessMode.values:
        raise RuleViolation(
            f"Unknown access mode {access_mode!r}; access modes are {', '.join(UserProject.AccessMode.values)}."
        )
    if not 1 <= cut_off <= 99:
        raise RuleViolation(f"The cut-off number lies between 1 and 99, got {cut_off}.")
    if not 1 <= duration_months <= MAX_DURATION_MONTHS:
        raise RuleViolation(f"A project lasts 1 to {MAX_DURATION_MONTHS} months, got {duration_months}.")
    if access_mode == UserProject.AccessMode.PLAYGROUND:
        if user_type not in PLAYGROUND_USER_TYPES:
            raise RuleViolation(
                f"Playground access is only for startups and SMEs; this project's user type is "
                f"{UserProject.UserType(user_type).label.lower()}."
            )
        low, high = PLAYGROUND_MONTHS
        if not low <= duration_months <= high:
            raise RuleViolation(f"Playground access lasts 1 to 3 months, got {duration_months}.")
    if access_mode == UserProject.AccessMode.LARGE_SCALE and duration_months not in LARGE_SCALE_MONTHS:
        raise RuleViolation(f"Large Scale access lasts 3, 6 or 12 months, got {duration_months}.")
    ends_on = add_months(starts_on, duration_months) - timedelta(days=1)
    for _attempt in range(5):
        code = _next_code(year=starts_on.year, access_mode=access_mode, cut_off=cut_off)
        try:
            with transaction.atomic():  # a concurrent creation may take the same number: try the next one
                project = UserProject.objects.create(
                    code=code,
                    title=title,
                    pi=pi,
                    organisation=organisation,
                    user_type=user_type,
                    access_mode=access_mode,
                    starts_on=starts_on,
                    duration_months=duration_months,
                    ends_on=ends_on,
                    commercial=commercial,
                )
            break
        except IntegrityError:
            continue
    else:
        raise StateConflict("Another project took the same code five times in a row: try again.")
    return project


def _sum(queryset) -> Decimal:
    return queryset.aggregate(total=Sum("amount"))["total"] or ZERO


def _check_pool(*, quota: PartitionQuota, project: UserProject, amount: Decimal, allocated: Decimal, label: str):
    """Where the quota is split into access pools, a project takes its hours from its mode's pool only. The
    caller holds the quota's lock, so the pool's figures cannot move meanwhile."""
    pools = {pool.access_mode: pool.hours for pool in AccessPool.objects.filter(quota=quota).order_by("id")}
    if not pools:
        return
    unit = quota.partition.accounting_unit
    mode = UserProject.AccessMode(project.access_mode).label
    union_remaining = quota.union_quota - allocated
    if project.access_mode not in pools:
        raise LimitExceeded(
            f"{label} has no {mode} pool: its Union quota is split into the pools "
            f"{', '.join(UserProject.AccessMode(m).label for m in pools)}.",
            code="pool_missing",
        )
    pool = pools[project.access_mode]
    awarded = _sum(Allocation.objects.filter(partition=quota.partition, period=quota.period,
                                             project__access_mode=project.access_mode))  # fmt: skip
    left = pool - awarded
    if amount > left:
        raise LimitExceeded(
            f"The {mode} pool of {label} would be exceeded by {hours(amount - left, unit)}: pool "
            f"{hours(pool, unit)}, awarded {hours(awarded, unit)}, remaining {hours(left, unit)}, asked "
            f"{hours(amount, unit)}; the Union quota has {hours(union_remaining, unit)} of "
            f"{hours(quota.union_quota, unit)} remaining.",
            code="pool_exhausted",
        )


@transaction.atomic
def allocation_create(
    *,
    project: UserProject,
    partition: Partition,
    period: AllocationPeriod,
    amount: Decimal,
    slurm_account: str,
    actor: User | None,
) -> Allocation:
    """Allocate `amount` (in the partition's unit) of a partition in a period to a project.

    The project row and then the partition's quota row are locked (always in this order), so two officers
    can never both take the last hours of a quota, nor push one project past its access-mode limit.
    """
    allocation, changes = allocation_insert(
        project=project, partition=partition, period=period, amount=amount, slurm_account=slurm_account
    )
    allocation_audit(allocation=allocation, changes=changes, actor=actor)
    return allocation


def allocation_audit(*, allocation: Allocation, changes: dict, actor: User | None) -> None:
    audit_record(actor=actor, verb="allocation.create", target=allocation, changes=changes)


def allocation_insert(
    *, project: UserProject, partition: Partition, period: AllocationPeriod, amount: Decimal, slurm_account: str
) -> tuple[Allocation, dict]:
    """The locks, the checks and the row of `allocation_create`, without its audit event (returned as the changes
    to record): the caller must be in a transaction and write the event with `allocation_audit`."""
    amount = Decimal(amount)
    slurm_account = slurm_account.strip()
    if amount <= 0:
        raise RuleViolation(f"An allocation is a positive amount, got {qty(amount)}.")
    if amount.as_tuple().exponent < -2:
        raise RuleViolation(f"An allocation has at most 2 decimals, got {amount}.")
    if not SLURM_ACCOUNT.fullmatch(slurm_account):
        raise RuleViolation(f"{slurm_account!r} is not a Slurm account name: 1 to 64 letters, digits, '_', '.' or '-'.")
    if partition.machine_id != period.machine_id:
        raise RuleViolation(f"The partition {partition} and the period {period} belong to different machines.")
    if project.ends_on < period.start or project.starts_on > period.end:
        raise RuleViolation(
            f"{project.code} has access from {project.starts_on:%Y-%m-%d} to {project.ends_on:%Y-%m-%d}, outside "
            f"the period {period.name} ({period.start:%Y-%m-%d} to {period.end:%Y-%m-%d})."
        )
    unit = partition.accounting_unit

    project = UserProject.objects.select_for_update().get(pk=project.pk)
    quota = PartitionQuota.objects.select_for_update().filter(period=period, partition=partition).first()
    if quota is None:
        raise StateConflict(f"{partition} has no quota in the period {period.name}.")
    label = f"{partition} in {period.name}"
    same_quota = Allocation.objects.filter(partition=partition, period=period)
    if same_quota.filter(slurm_account=slurm_account).exists():
        raise StateConflict(f"The Slurm account {slurm_account!r} already holds an allocation of {label}.")
    if same_quota.filter(project=project).exists():
        raise StateConflict(f"{project.code} already holds an allocation of {label}.")

    allocated = _sum(same_quota)
    remaining = quota.union_quota - allocated
    if amount > remaining:
        raise LimitExceeded(
            f"The Union quota of {label} would be exceeded by {hours(amount - remaining, unit)}: quota "
            f"{hours(quota.union_quota, unit)}, allocated {hours(allocated, unit)}, remaining "
            f"{hours(remaining, unit)}, asked {hours(amount, unit)}.",
            code="quota_exceeded",
        )
    if project.is_pay_per_use:
        cap = (quota.union_quota * PAY_PER_USE_CAP).quantize(Decimal("0.01"))
        industry = _sum(same_quota.filter(PAY_PER_USE_ALLOCATIONS))
        if industry + amount > cap:
            raise LimitExceeded(
                f"Industry and commercial access is capped at 20% of the Union quota of {label} "
                f"({hours(cap, unit)}) and would be exceeded by {hours(industry + amount - cap, unit)}: "
                f"industry and commercial projects hold {hours(industry, unit)}, asked {hours(amount, unit)}.",
                code="pay_per_use_cap",
            )
    _check_pool(quota=quota, project=project, amount=amount, allocated=allocated, label=label)
    if unit == Partition.Unit.GPU_HOURS:
        held = _sum(Allocation.objects.filter(project=project, partition__accounting_unit=Partition.Unit.GPU_HOURS))
        total = held + amount
        if project.access_mode == UserProject.AccessMode.FAST_LANE and total > FAST_LANE_MAX_GPU_HOURS:
            raise LimitExceeded(
                f"Fast Lane projects get at most 50,000 GPU-hours: {project.code} holds {qty(held)}, this "
                f"allocation of {qty(amount)} would bring it to {qty(total)}, "
                f"{qty(total - FAST_LANE_MAX_GPU_HOURS)} over.",
                code="fast_lane_cap",
            )
        if project.access_mode == UserProject.AccessMode.LARGE_SCALE and total <= FAST_LANE_MAX_GPU_HOURS:
            raise RuleViolation(
                f"Large Scale projects get more than 50,000 GPU-hours: {project.code} holds {qty(held)}, this "
                f"allocation of {qty(amount)} would bring it to {qty(total)}.",
                code="large_scale_minimum",
            )

    allocation = Allocation.objects.create(
        project=project, partition=partition, period=period, amount=amount, slurm_account=slurm_account
    )
    changes = {
        "project": project.code,
        "partition": str(partition),
        "period": period.name,
        "amount": amount,
        "unit": unit,
        "slurm_account": slurm_account,
        "union_quota": quota.union_quota,
        "allocated_before": allocated,
    }
    return allocation, changes
