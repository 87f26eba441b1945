"""Hosting rows of the scale dataset (`manage.py seed_scale`): machines and their partitions, hosting agreements,
allocation periods with their quotas, user projects, allocations, Slurm usage and its daily aggregates.

Bulk rows, no audit events. The product's rules hold: the Union share is the EU share of TCO capped at 50% (35%
mid-range), every quota is fixed as `period_create` fixes it, allocations stay within the Union quota (industry
within 20% of it; Fast Lane ≤ 50,000 GPU-hours, Large Scale above; Playground for startups and SMEs, ≤ 3 months),
usage falls inside the allocation's period and project and up to today, and the daily aggregates are the sums
of the job rows.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from hosting.models import (
    Allocation,
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
from hosting.services.machines import partition_quota_row
from hosting.services.projects import FAST_LANE_MAX_GPU_HOURS, PAY_PER_USE_CAP, add_months

PREFIX = "SCALE"
CLASSES = [Machine.MachineClass.AI_OPTIMISED, Machine.MachineClass.HIGH_END, Machine.MachineClass.EXASCALE,
           Machine.MachineClass.MID_RANGE]  # fmt: skip
EU_SHARES = [Decimal("0.5000"), Decimal("0.4500"), Decimal("0.5000"), Decimal("0.3500")]
FOUR = Decimal("0.0001")
MAX_JOB_SECONDS = 2 * 24 * 3600
JOB_SHAPES = [(1, Decimal("0.6")), (2, Decimal("0.8")), (4, Decimal("1.0")), (8, Decimal("1.4")),
              (1, Decimal("0.9")), (2, Decimal("1.2")), (4, Decimal("0.7")), (8, Decimal("1.4"))]  # fmt: skip


@dataclass
class HostingResult:
    machines: list[Machine] = field(default_factory=list)


def half_year(day: date) -> tuple[str, date, date]:
    if day.month <= 6:
        return f"{day.year}-H1", date(day.year, 1, 1), date(day.year, 6, 30)
    return f"{day.year}-H2", date(day.year, 7, 1), date(day.year, 12, 31)


def _periods_around(today: date) -> list[tuple[str, date, date]]:
    """The current half-year first, then the two before it, then the next one."""
    current = half_year(today)
    before = half_year(current[1] - timedelta(days=1))
    earlier = half_year(before[1] - timedelta(days=1))
    after = half_year(current[2] + timedelta(days=1))
    return [current, before, earlier, after]


def build(*, load, rng, now: datetime, machines: int, allocations: int, usage: int, people) -> HostingResult:
    today = now.astimezone(ZoneInfo("Europe/Luxembourg")).date()
    hosts = people.organisations[: max(1, len(people.operators))]
    built = load.bulk(
        Machine,
        [
            Machine(
                name=f"{PREFIX}-M{n + 1:02d}",
                hosting_entity=hosts[n % len(hosts)],
                site=f"Scale site {n + 1}",
                country=hosts[n % len(hosts)].country,
                machine_class=CLASSES[n % len(CLASSES)],
                ai_capable=True,
                selected_on=date(2021, 6, 1),
                operational_since=date(2022, 6, 1),
                eu_share_of_tco=EU_SHARES[n % len(EU_SHARES)],
                peak_pflops=Decimal(50 + 37 * n),
                slurm_cluster=f"scale{n + 1:02d}",
                time_zone="Europe/Luxembourg",
            )
            for n in range(machines)
        ],
    )
    partitions = load.bulk(
        Partition,
        [
            Partition(machine=m, name=name, kind=kind, nodes=nodes, gpus_per_node=gpus, cores_per_node=cores,
                      gpu_model="Scale GPU" if gpus else "", accounting_unit=unit, slurm_partitions=slurm)
            for n, m in enumerate(built)
            for name, kind, nodes, gpus, cores, unit, slurm in (
                ("GPU", Partition.Kind.GPU, 500 + 97 * n, 4, 64, Partition.Unit.GPU_HOURS, "standard-g,small-g"),
                ("CPU", Partition.Kind.CPU, 300 + 53 * n, 0, 128, Partition.Unit.NODE_HOURS, "standard,small"),
            )
        ],
    )  # fmt: skip
    agreements = load.bulk(
        HostingAgreement,
        [
            HostingAgreement(
                machine=m, hosting_entity_id=m.hosting_entity_id, reference=f"{PREFIX}-HA-{n + 1:02d}",
                signed_on=date(2022, 1, 15), effective_from=date(2022, 1, 15), eu_share_of_tco=m.eu_share_of_tco,
                access_share_cap=m.union_access_cap, union_access_share=min(m.eu_share_of_tco, m.union_access_cap),
            )
            for n, m in enumerate(built)
        ],
    )  # fmt: skip
    agreement_of = {a.machine_id: a for a in agreements}
    periods = load.bulk(
        AllocationPeriod,
        [
            AllocationPeriod(machine=m, agreement=agreement_of[m.pk], name=name, start=start, end=end)
            for m in built
            for name, start, end in _periods_around(today)
        ],
    )
    partitions_of: dict[int, list[Partition]] = {}
    for p in partitions:
        partitions_of.setdefault(p.machine_id, []).append(p)
    quotas = load.bulk(
        PartitionQuota,
        [
            partition_quota_row(
                period=period, partition=partition, share=agreement_of[period.machine_id].union_access_share
            )
            for period in periods
            for partition in partitions_of[period.machine_id]
        ],
    )
    # Current periods' quotas first, then earlier ones, the next period last.
    rank = {name: i for i, (name, _, _) in enumerate(_periods_around(today))}
    quotas.sort(key=lambda q: (rank[q.period.name], q.period.machine_id, q.partition.name))
    _allocations_and_usage(load=load, rng=rng, now=now, today=today, quotas=quotas, allocations=allocations,
                           usage=usage, people=people)  # fmt: skip
    return HostingResult(machines=built)


def _plan_allocation(i: int, quota: PartitionQuota, share_each: Decimal, industry_each: Decimal):
    """(user type, access mode, months, amount) for the i-th allocation of the dataset."""
    gpu = quota.partition.accounting_unit == Partition.Unit.GPU_HOURS
    kind = i % 10
    if kind == 0:
        return "startup" if i % 20 else "sme", "playground", 3, min(share_each, Decimal(5000 if gpu else 500))
    if kind in (1, 2):
        return "sme", "fast_lane", 6, min(share_each, FAST_LANE_MAX_GPU_HOURS if gpu else Decimal(5000))
    if kind == 3 and (not gpu or share_each > FAST_LANE_MAX_GPU_HOURS + 1000):
        return "academia", "large_scale", 6, min(share_each, Decimal(200_000 if gpu else 20_000))
    if kind == 4:
        cap = min(share_each, industry_each, FAST_LANE_MAX_GPU_HOURS if gpu else Decimal(5000))
        return "industry", "fast_lane", 6, cap
    return (
        ("public_sector" if i % 7 == 0 else "academia"),
        "ai_for_science",
        6,
        min(share_each, Decimal(150_000 if gpu else 15_000)),
    )


def _allocations_and_usage(*, load, rng, now, today, quotas, allocations, usage, people) -> None:
    if allocations == 0:
        return
    per_quota: dict[int, list[int]] = {}
    for i in range(allocations):
        per_quota.setdefault(i % len(quotas), []).append(i)
    applicants = list(people.applicants.values())
    project_ids = load.ids(UserProject, allocations)
    allocation_ids = load.ids(Allocation, allocations)
    codes: dict[str, int] = {}
    projects, rows = [], []
    for q_index, indices in per_quota.items():
        quota = quotas[q_index]
        share_each = (quota.union_quota * Decimal("0.8") / len(indices)).to_integral_value()
        industry_count = sum(1 for i in indices if i % 10 == 4)
        industry_each = (
            quota.union_quota * PAY_PER_USE_CAP * Decimal("0.9") / max(1, industry_count)
        ).to_integral_value()
        for i in indices:
            user_type, mode, months, amount = _plan_allocation(i, quota, share_each, industry_each)
            amount = max(Decimal(1), amount.to_integral_value()).quantize(Decimal("0.01"))
            starts_on = quota.period.start
            cut_off = 1
            while True:
                prefix = f"EHPC-AIF-{starts_on.year}{UserProject.MODE_CODES[mode]}{cut_off:02d}-"
                number = codes.get(prefix, 0) + 1
                if number <= 9999:
                    codes[prefix] = number
                    break
                cut_off += 1
            pi = applicants[i % len(applicants)]
            ends_on = add_months(starts_on, months) - timedelta(days=1)
            projects.append((project_ids[i], f"{prefix}{number:04d}", f"Scale project {i + 1}", pi.pk,
                             pi.organisation_id, user_type, mode, starts_on, months, ends_on, False, now))  # fmt: skip
            rows.append((allocation_ids[i], project_ids[i], quota.partition_id, quota.period_id, amount,
                         f"scale_{i + 1:05d}", now, quota, starts_on, ends_on, pi))  # fmt: skip
    load.copy(UserProject, ["id", "code", "title", "pi_id", "organisation_id", "user_type", "access_mode",
                            "starts_on", "duration_months", "ends_on", "commercial", "created_at"],
              projects)  # fmt: skip
    load.copy(Allocation, ["id", "project_id", "partition_id", "period_id", "amount", "slurm_account", "created_at"],
              [r[:7] for r in rows])  # fmt: skip
    if usage:
        _usage(load=load, rng=rng, now=now, today=today, allocations=rows, usage=usage)


def _usage(*, load, rng, now, today, allocations, usage) -> None:
    """`usage` finished jobs over the allocations whose period has begun; then the daily aggregates."""
    active = []
    for allocation_id, _project, _partition, _period, amount, account, _now, quota, starts, ends, pi in allocations:
        first = max(quota.period.start, starts)
        last = min(quota.period.end, ends, today)
        if first <= last:
            active.append((allocation_id, amount, account, quota, first, (last - first).days + 1, pi))
    if not active:
        raise ValueError("No allocation has begun: usage rows need an allocation in a current or past period.")
    base, extra = divmod(usage, len(active))
    machine_ids = sorted({a[3].period.machine_id for a in active})
    imports = load.bulk(
        UsageImport,
        [UsageImport(machine_id=m, source=UsageImport.Source.COMMAND, file_name="scale-dataset-sacct.txt",
                     status=UsageImport.Status.DONE, finished_at=now) for m in machine_ids],
    )  # fmt: skip
    import_ids = {i.machine_id: i.pk for i in imports}
    next_job = dict.fromkeys(machine_ids, 1_000_000)
    tally = {m: [0, Decimal(0)] for m in machine_ids}  # machine -> [jobs, charged]
    zone = ZoneInfo("Europe/Luxembourg")

    def rows():
        for index, (allocation_id, amount, account, quota, first, window, pi) in enumerate(active):
            count = base + (1 if index < extra else 0)
            if count == 0:
                continue
            partition = quota.partition
            machine_id = quota.period.machine_id
            unit_per_node = partition.units_per_node
            used = amount * Decimal(30 + rng.randrange(65)) / 100
            per_job = used / count
            shapes = []
            for nodes, weight in JOB_SHAPES:
                units = nodes * unit_per_node
                seconds = int(min(MAX_JOB_SECONDS, max(60, per_job * weight * 3600 / units)))
                charge = (Decimal(units * seconds) / 3600).quantize(FOUR, rounding=ROUND_HALF_UP)
                shapes.append((seconds, nodes, nodes * partition.cores_per_node, nodes * partition.gpus_per_node,
                               charge))  # fmt: skip
            times = {}
            slurm_partition = partition.slurm_names[0]
            slurm_user = f"u{pi.pk}"
            import_id = import_ids[machine_id]
            job = next_job[machine_id]
            for n in range(count):
                shape = n % len(JOB_SHAPES)
                day_index = (n * 7919) % window
                key = (day_index, shape)
                stamp = times.get(key)
                if stamp is None:
                    day = first + timedelta(days=day_index)
                    ended = datetime.combine(day, time(hour=1 + (shape * 3) % 22, minute=(shape * 7) % 60), zone)
                    stamp = times[key] = (ended - timedelta(seconds=shapes[shape][0]), ended, day)
                seconds, nodes, cpus, gpus, charge = shapes[shape]
                job_id = str(job + n)
                yield (machine_id, job_id, job_id, allocation_id, import_id, slurm_partition, account, slurm_user,
                       "COMPLETED", stamp[0], stamp[1], stamp[2], seconds, nodes, cpus, gpus, charge)  # fmt: skip
            next_job[machine_id] = job + count
            tally[machine_id][0] += count
            tally[machine_id][1] += sum(
                (shapes[n % len(JOB_SHAPES)][4] * (count // len(JOB_SHAPES) + (1 if n < count % len(JOB_SHAPES) else 0))
                 for n in range(len(JOB_SHAPES))),
                Decimal(0),
            )  # fmt: skip

    load.copy(UsageRecord, ["machine_id", "job_id_raw", "job_id", "allocation_id", "usage_import_id", "slurm_partition",
                            "account", "slurm_user", "state", "started_at", "ended_at", "day", "elapsed_seconds",
                            "nodes", "cpus", "gpus", "charge"], rows())  # fmt: skip
    ids = list(import_ids.values())
    marks = ", ".join(["%s"] * len(ids))
    load.execute(
        UsageDaily,
        ["allocation_id", "day", "amount", "jobs"],
        f"INSERT INTO {UsageDaily._meta.db_table} (allocation_id, day, amount, jobs) "  # noqa: S608 - our tables
        f"SELECT allocation_id, day, SUM(charge), COUNT(*) FROM {UsageRecord._meta.db_table} "
        f"WHERE usage_import_id IN ({marks}) GROUP BY allocation_id, day",
        ids,
    )
    # The imports' counts, as an import through the service would leave them.
    with load.timed(UsageImport._meta.db_table):
        for machine_id, (jobs, charged) in tally.items():
            UsageImport.objects.filter(pk=import_ids[machine_id]).update(
                lines=jobs, imported=jobs, charged=charged, summary={"generated": "scale dataset", "jobs": jobs}
            )
