"""Reads of the hosting app: quota positions, allocations with usage and forecast, dashboards.

Usage is read from the per-allocation daily aggregates, never from the job rows, so the pages cost the same
number of queries with a hundred jobs or millions.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from hosting.models import (
    PAY_PER_USE_ALLOCATIONS,
    AccessPool,
    Allocation,
    AllocationAlert,
    AllocationPeriod,
    HostingAgreement,
    Machine,
    Partition,
    PartitionQuota,
    UsageDaily,
    UsageImport,
    UsageRecord,
    UserProject,
)

RECENT_DAYS = 14
ZERO = Decimal("0")
_QUANTITY = DecimalField(max_digits=20, decimal_places=4)


def _sum(queryset: QuerySet, field: str) -> Coalesce:
    """SUM(field) of `queryset` as a scalar subquery (0 when empty)."""
    total = queryset.order_by().annotate(_total=Func(F(field), function="SUM", output_field=_QUANTITY))
    return Coalesce(Subquery(total.values("_total")[:1]), Value(ZERO), output_field=_QUANTITY)


@dataclass(frozen=True)
class Forecast:
    """When an allocation runs out at its recent burn rate."""

    exhausted: bool
    runs_out_on: date | None
    daily_rate: Decimal
    window_days: int = RECENT_DAYS

    @property
    def idle(self) -> bool:
        return not self.exhausted and self.runs_out_on is None


def burn_forecast(*, amount: Decimal, used: Decimal, recent: Decimal, as_of: date, days: int = RECENT_DAYS) -> Forecast:
    """Linear forecast: the remaining amount divided by the average daily use of the last `days` days.

    `recent` is the use in the `days` days ending on `as_of` (both included).
    """
    rate = (Decimal(recent) / days).quantize(Decimal("0.0001"))
    if used >= amount:
        return Forecast(True, None, rate, days)
    if rate <= 0:
        return Forecast(False, None, rate, days)
    days_left = math.ceil((amount - used) / (Decimal(recent) / days))
    if days_left > 36500:
        return Forecast(False, None, rate, days)
    return Forecast(False, as_of + timedelta(days=days_left), rate, days)


def allocations_with_usage(allocations: QuerySet[Allocation], *, as_of: date | None = None) -> QuerySet[Allocation]:
    """Annotate `used`, `recent` (the last 14 days up to `as_of`) and `last_usage_day`."""
    as_of = as_of or timezone.localdate()
    daily = UsageDaily.objects.filter(allocation=OuterRef("pk"))
    recent = daily.filter(day__gt=as_of - timedelta(days=RECENT_DAYS), day__lte=as_of)
    return allocations.annotate(
        used=_sum(daily, "amount"),
        recent=_sum(recent, "amount"),
        # the newest day: one step back along the (allocation, day) index, not a scan of the allocation's days
        last_usage_day=Subquery(daily.order_by("-day").values("day")[:1]),
    )


def allocation_queryset(
    *,
    user,
    machine: Machine | None = None,
    period: AllocationPeriod | None = None,
    project: UserProject | None = None,
    current_on: date | None = None,
    as_of: date | None = None,
) -> QuerySet[Allocation]:
    """The allocations `user` may see, annotated with usage; one query for any number of rows.

    `current_on` keeps the allocations of the periods containing that day.
    """
    allocations = Allocation.objects.visible_to(user)
    if current_on is not None:
        allocations = allocations.filter(period__start__lte=current_on, period__end__gte=current_on)
    if machine is not None:
        allocations = allocations.filter(partition__machine=machine)
    if period is not None:
        allocations = allocations.filter(period=period)
    if project is not None:
        allocations = allocations.filter(project=project)
    return (
        allocations_with_usage(allocations, as_of=as_of)
        .select_related("project", "partition__machine", "period")
        .order_by("partition__machine__name", "-period__start", "partition__name", "project__code", "pk")
    )


def allocation_list(*, user, as_of: date | None = None, **filters) -> list[Allocation]:
    """`allocation_queryset` with share used and forecast on each row."""
    as_of = as_of or timezone.localdate()
    return [decorate_allocation(a, as_of=as_of) for a in allocation_queryset(user=user, as_of=as_of, **filters)]


def decorate_allocation(allocation: Allocation, *, as_of: date) -> Allocation:
    allocation.remaining = allocation.amount - allocation.used
    allocation.used_percent = (allocation.used * 100 / allocation.amount).quantize(Decimal("0.1"))
    allocation.forecast = burn_forecast(
        amount=allocation.amount, used=allocation.used, recent=allocation.recent, as_of=as_of
    )
    allocation.runs_out_before_period_end = bool(
        allocation.forecast.runs_out_on and allocation.forecast.runs_out_on <= allocation.period.end
    )
    return allocation


def quota_positions(*, periods: QuerySet[AllocationPeriod] | list[AllocationPeriod]) -> list[PartitionQuota]:
    """Per partition and period: capacity, Union quota, allocated, used, remaining; one query."""
    same = {"partition": OuterRef("partition_id"), "period": OuterRef("period_id")}
    allocated = _sum(Allocation.objects.filter(**same), "amount")
    industry = _sum(Allocation.objects.filter(PAY_PER_USE_ALLOCATIONS, **same), "amount")
    used = _sum(
        UsageDaily.objects.filter(
            allocation__partition=OuterRef("partition_id"), allocation__period=OuterRef("period_id")
        ),
        "amount",
    )
    rows = list(
        PartitionQuota.objects.filter(period__in=periods)
        .select_related("partition", "period")
        .annotate(allocated=allocated, industry_allocated=industry, used=used)
        .annotate(remaining=ExpressionWrapper(F("union_quota") - F("allocated"), output_field=_QUANTITY))
        .order_by("-period__start", "partition__name")
    )
    for row in rows:
        row.allocated_percent = _percent(row.allocated, row.union_quota)
        row.used_percent = _percent(row.used, row.union_quota)
        row.unit_label = row.partition.get_accounting_unit_display()
    return rows


def pool_positions(*, quotas: QuerySet[PartitionQuota] | list[PartitionQuota]) -> list[AccessPool]:
    """Per access pool of the quotas: its hours, awarded (the allocations of its mode), used, remaining; one
    query for any number of pools."""
    same = {
        "partition": OuterRef("quota__partition_id"),
        "period": OuterRef("quota__period_id"),
        "project__access_mode": OuterRef("access_mode"),
    }
    used = UsageDaily.objects.filter(
        allocation__partition=OuterRef("quota__partition_id"),
        allocation__period=OuterRef("quota__period_id"),
        allocation__project__access_mode=OuterRef("access_mode"),
    )
    rows = list(
        AccessPool.objects.filter(quota__in=quotas)
        .select_related("quota__partition__machine", "quota__period")
        .annotate(awarded=_sum(Allocation.objects.filter(**same), "amount"), used=_sum(used, "amount"))
        .order_by("quota__partition__machine__name", "-quota__period__start", "quota__partition__name", "id")
    )
    for row in rows:
        row.remaining = row.hours - row.awarded
        row.awarded_percent = _percent(row.awarded, row.hours)
        row.used_percent = _percent(row.used, row.hours)
    return rows


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else ZERO


def period_current(*, machine: Machine, on: date | None = None) -> AllocationPeriod | None:
    on = on or timezone.localdate()
    return (
        AllocationPeriod.objects.filter(machine=machine, start__lte=on, end__gte=on)
        .order_by("machine__name", "-start")
        .first()
    )


def _agreement_share(on: date) -> Subquery:
    return Subquery(
        HostingAgreement.objects.filter(machine=OuterRef("pk"), effective_from__lte=on)
        .order_by("-effective_from")
        .values("union_access_share")[:1]
    )


def machine_choices() -> QuerySet[Machine]:
    """Every machine of the register, by name: what a proposal may name as the machine it upgrades or serves."""
    return Machine.objects.select_related("hosting_entity").order_by("name")


def machine_list(*, user, on: date | None = None) -> QuerySet[Machine]:
    """Machines `user` may see, with partitions and the Union access share in force; two queries."""
    on = on or timezone.localdate()
    return (
        Machine.objects.visible_to(user)
        .select_related("hosting_entity")
        .prefetch_related(Prefetch("partitions", queryset=Partition.objects.order_by("name")))
        .annotate(union_access_share=_agreement_share(on))
        .order_by("name")
    )


@dataclass
class PeriodBlock:
    period: AllocationPeriod
    positions: list  # the partitions' positions: read for the selected period only
    is_current: bool
    has_quota: bool  # a partition has its quota in this period


@dataclass
class MachineQuota:
    blocks: list[PeriodBlock]  # every period of the machine, newest first
    selected: PeriodBlock | None  # the period asked for, else the current one, else the newest


def machine_quota_overview(*, machine: Machine, on: date | None = None, period_id: int | None = None) -> MachineQuota:
    """Every period of the machine, newest first, and the partitions' positions in one of them: `period_id` when it
    is one of the machine's, else the period current `on`, else the newest. Two queries: the positions are summed
    for the period shown only."""
    on = on or timezone.localdate()
    periods = list(
        AllocationPeriod.objects.filter(machine=machine)
        .select_related("agreement")
        .annotate(has_quota=Exists(PartitionQuota.objects.filter(period=OuterRef("pk"))))
        .order_by("-start")
    )
    blocks = [PeriodBlock(p, [], p.start <= on <= p.end, p.has_quota) for p in periods]
    selected = next((b for b in blocks if b.period.pk == period_id), None) if period_id is not None else None
    if selected is None:
        selected = next((b for b in blocks if b.is_current), blocks[0] if blocks else None)
    if selected is not None:
        selected.positions = quota_positions(periods=[selected.period])
    return MachineQuota(blocks=blocks, selected=selected)


def project_list(*, user) -> QuerySet[UserProject]:
    return UserProject.objects.visible_to(user).select_related("pi", "organisation").order_by("-created_at", "code")


def usage_import_list(*, machine: Machine, limit: int = 20) -> list[UsageImport]:
    return list(
        UsageImport.objects.filter(machine=machine).select_related("uploaded_by").order_by("-created_at", "-pk")[:limit]
    )


def alert_list(*, user, limit: int = 10) -> list[AllocationAlert]:
    visible = Allocation.objects.visible_to(user).values("pk")
    return list(
        AllocationAlert.objects.filter(allocation__in=Subquery(visible))
        .select_related("allocation__project", "allocation__partition__machine", "allocation__period")
        .order_by("-created_at", "-threshold")[:limit]
    )


def operator_overview(*, user, on: date | None = None) -> list[dict]:
    """For a hosting operator: each own machine with its current period's positions; three queries."""
    on = on or timezone.localdate()
    machines = list(Machine.objects.visible_to(user).order_by("name"))
    periods = list(
        AllocationPeriod.objects.filter(machine__in=machines, start__lte=on, end__gte=on)
        .select_related("agreement")
        .order_by("machine__name", "-start")
    )
    positions = quota_positions(periods=periods) if periods else []
    by_machine = {m.pk: {"machine": m, "period": None, "positions": []} for m in machines}
    for period in periods:
        by_machine[period.machine_id]["period"] = period
    for row in positions:
        by_machine[row.period.machine_id]["positions"].append(row)
    return list(by_machine.values())


def allocations_at_risk(*, user, on: date | None = None) -> list[Allocation]:
    """Current allocations `user` may see that run out before their period ends at the last 14 days' rate.

    Three small queries, no subquery per allocation: one narrow GROUP BY over the daily aggregates of the
    current allocations (use, use in the last 14 days, last day used), their amounts and period ends to pick
    those at risk with `burn_forecast`, then only those with their project, partition and period.
    """
    on = on or timezone.localdate()
    current = Allocation.objects.visible_to(user).filter(period__start__lte=on, period__end__gte=on)
    recent_days = Q(day__gt=on - timedelta(days=RECENT_DAYS), day__lte=on)
    totals = (
        UsageDaily.objects.filter(allocation__in=Subquery(current.order_by().values("pk")))
        .order_by()
        .values("allocation_id")
        .annotate(used=Sum("amount"), recent=Sum("amount", filter=recent_days), last_usage_day=Max("day"))
        .filter(recent__gt=0)  # idle allocations cannot run out
    )
    used = {row["allocation_id"]: row for row in totals}
    at_risk = {}
    for pk, amount, period_end in current.filter(pk__in=list(used)).values_list("pk", "amount", "period__end"):
        row = used[pk]
        forecast = burn_forecast(amount=amount, used=row["used"], recent=row["recent"], as_of=on)
        if not forecast.exhausted and forecast.runs_out_on and forecast.runs_out_on <= period_end:
            at_risk[pk] = row
    if not at_risk:
        return []
    allocations = list(
        current.filter(pk__in=list(at_risk))
        .select_related("project", "partition__machine", "period")
        .order_by("partition__machine__name", "-period__start", "partition__name", "project__code", "pk")
    )
    for allocation in allocations:
        row = at_risk[allocation.pk]
        allocation.used, allocation.recent = row["used"], row["recent"]
        allocation.last_usage_day = row["last_usage_day"]
        decorate_allocation(allocation, as_of=on)
    return allocations


# --- usage consistency -------------------------------------------------------------------------------


@dataclass
class UsageReport:
    """What `usage_consistency_report` checked and the first problems it found (at most `limit` of each kind)."""

    jobs: int
    daily: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _tables() -> dict[str, str]:
    models = {"usage": UsageRecord, "daily": UsageDaily, "allocation": Allocation, "partition": Partition,
              "period": AllocationPeriod, "machine": Machine, "import": UsageImport}  # fmt: skip
    return {key: connection.ops.quote_name(model._meta.db_table) for key, model in models.items()}


def usage_consistency_report(*, machine: Machine | None = None, limit: int = 20) -> UsageReport:
    """Check the job rows and daily aggregates of `machine` (or of every machine), in four queries.

    - each job's machine, allocation and import exist; the allocation and the import are of the job's machine;
      the job's day lies in the allocation's period;
    - each job's charge is the rule's: units x ElapsedRaw / 3600 hours, rounded half up to 4 places, where the
      units are the GPUs, cores or nodes the partition counts;
    - each daily aggregate equals the sum and count of its job rows, and every (allocation, day) with jobs has one.

    The import writes all of this in one transaction; the check is for audits and for after a restore.
    """
    t = _tables()
    on_machine = "" if machine is None else "WHERE u.machine_id = %s"
    params = [] if machine is None else [machine.pk]
    units = (
        f"(CASE p.accounting_unit WHEN '{Partition.Unit.GPU_HOURS.value}' THEN u.gpus "
        f"WHEN '{Partition.Unit.CORE_HOURS.value}' THEN u.cpus ELSE u.nodes END)"
    )
    rule = f"((CAST({units} AS bigint) * u.elapsed_seconds * 50 + 9) / 18)"
    end_column = connection.ops.quote_name("end")
    jobs_sql = (
        f"SELECT u.job_id_raw, u.machine_id, m.id, u.allocation_id, a.id, p.machine_id, u.usage_import_id, i.id, "  # noqa: S608
        f"i.machine_id, u.day, ap.name, ap.start, ap.{end_column}, u.charge, {rule} FROM {t['usage']} u "
        f"LEFT JOIN {t['machine']} m ON m.id = u.machine_id LEFT JOIN {t['allocation']} a ON a.id = u.allocation_id "
        f"LEFT JOIN {t['partition']} p ON p.id = a.partition_id LEFT JOIN {t['period']} ap ON ap.id = a.period_id "
        f"LEFT JOIN {t['import']} i ON i.id = u.usage_import_id "
        f"{on_machine} {'AND' if on_machine else 'WHERE'} (m.id IS NULL OR a.id IS NULL OR i.id IS NULL "
        f"OR p.machine_id <> u.machine_id OR i.machine_id <> u.machine_id OR u.day < ap.start "
        f"OR u.day > ap.{end_column} OR ROUND(u.charge * 10000) <> {rule}) "
        f"ORDER BY u.machine_id, u.job_id_raw LIMIT {int(limit)}"
    )
    per_day = (
        f"(SELECT u.allocation_id, u.day, SUM(u.charge) AS amount, COUNT(*) AS jobs FROM {t['usage']} u "  # noqa: S608
        f"{on_machine} GROUP BY u.allocation_id, u.day) j"
    )
    daily_scope = "" if machine is None else "AND p.machine_id = %s"
    daily_sql = (
        f"SELECT d.allocation_id, d.day, d.amount, d.jobs, j.amount, j.jobs FROM {t['daily']} d "  # noqa: S608
        f"JOIN {t['allocation']} a ON a.id = d.allocation_id JOIN {t['partition']} p ON p.id = a.partition_id "
        f"LEFT JOIN {per_day} ON j.allocation_id = d.allocation_id AND j.day = d.day "
        f"WHERE (j.jobs IS NULL OR j.jobs <> d.jobs OR ROUND(j.amount, 4) <> ROUND(d.amount, 4)) {daily_scope} "
        f"UNION ALL SELECT j.allocation_id, j.day, NULL, NULL, j.amount, j.jobs FROM {per_day} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {t['daily']} d WHERE d.allocation_id = j.allocation_id AND d.day = j.day) "
        f"ORDER BY 1, 2 LIMIT {int(limit)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {t['usage']} u {on_machine}", params)  # noqa: S608
        jobs = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT COUNT(*) FROM {t['daily']} d JOIN {t['allocation']} a ON a.id = d.allocation_id "  # noqa: S608
            f"JOIN {t['partition']} p ON p.id = a.partition_id {'WHERE p.machine_id = %s' if machine else ''}",
            params,
        )
        daily = cursor.fetchone()[0]
        cursor.execute(jobs_sql, params)
        job_rows = cursor.fetchall()
        cursor.execute(daily_sql, params + params + params)
        daily_rows = cursor.fetchall()
    problems = [_job_problem(row) for row in job_rows]
    problems += [_daily_problem(row) for row in daily_rows]
    return UsageReport(jobs=jobs, daily=daily, problems=problems)


def _job_problem(row) -> str:
    (job, machine_id, machine_found, allocation_id, allocation_found, allocation_machine, import_id, import_found,
     import_machine, day, period, start, end, charge, rule_units) = row  # fmt: skip
    where = f"job {job} on machine {machine_id}"
    if machine_found is None:
        return f"{where}: the machine does not exist."
    if allocation_found is None:
        return f"{where}: allocation {allocation_id} does not exist."
    if import_found is None:
        return f"{where}: usage import {import_id} does not exist."
    if allocation_machine != machine_id:
        return f"{where}: allocation {allocation_id} is on machine {allocation_machine}."
    if import_machine != machine_id:
        return f"{where}: usage import {import_id} is of machine {import_machine}."
    if not start <= _as_date(day) <= end:
        return f"{where}: day {day} lies outside period {period} ({start} to {end}) of allocation {allocation_id}."
    expected = Decimal(rule_units).scaleb(-4)
    return f"{where}: charge {Decimal(str(charge)).quantize(expected)}, the rule gives {expected}."


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _daily_problem(row) -> str:
    allocation_id, day, amount, jobs, job_amount, job_count = row
    found = "none" if job_count is None else f"{_four(job_amount)} ({job_count} jobs)"
    if amount is None:
        return f"allocation {allocation_id}, day {day}: no daily aggregate, job rows {found}."
    return f"allocation {allocation_id}, day {day}: daily aggregate {_four(amount)} ({jobs} jobs), job rows {found}."


def _four(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.0001"))
