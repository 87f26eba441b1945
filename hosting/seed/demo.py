"""Demo data of the hosting app: machines and partitions, hosting agreements, the current allocation period,
user projects in every access mode with allocations, and a few weeks of Slurm usage imported through the same
service as an operator's upload (LUMI's from the sample file shipped in hosting/data, dates moved to the last
weeks). Idempotent: a second run adds nothing.
"""

import io
import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from eurohpc.models import Organisation, User
from eurohpc.seed.demo import DATA_DIR, DEMO_PASSWORD, organisation_by_alias, programme_data
from eurohpc.services import organisation_create, user_create
from hosting.models import Allocation, AllocationPeriod, HostingAgreement, Machine, Partition, UsageImport, UserProject
from hosting.services import (
    allocation_create,
    hosting_agreement_create,
    machine_accounting_update,
    machine_create,
    partition_accounting_update,
    partition_create,
    period_create,
    project_create,
    usage_import_create,
)

HOSTING_DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE_SACCT = HOSTING_DATA / "demo-sacct.txt"
SACCT_HEADER = "JobID|JobIDRaw|Cluster|Partition|Account|User|Start|End|ElapsedRaw|State|NNodes|NCPUS|AllocTRES"
USAGE_DAYS = 21

# Fictional organisations and principal investigators of the demo user projects.
DEMO_ORGANISATIONS = [
    # short name, legal name, country, kind, user type, PI username, first, last
    ("Kide Labs", "Kide Labs Oy", "FI", "company", "startup", "pi-kide", "Liisa", "Korhonen"),
    ("Norrsken Vision", "Norrsken Vision AB", "SE", "company", "sme", "pi-norrsken", "Erik", "Lindqvist"),
    ("Rhein BioPharma", "Rhein BioPharma GmbH", "DE", "company", "industry", "pi-rhein", "Katrin", "Vogel"),
    ("ICA Clima", "Instituto de Clima Atlantico", "PT", "public_body", "public_sector", "pi-clima", "Rui", "Almeida"),
    ("TU Wien", None, "AT", "university", "academia", "pi-tuwien", "Lukas", "Huber"),
]


@dataclass(frozen=True)
class Plan:
    """One demo project on one machine: its allocation and how much of it the generated usage burns."""

    title: str
    organisation: str
    access_mode: str
    months: int
    partition_kind: str  # gpu or cpu: the machine's first partition of that kind
    amount: int
    used: float  # share of the amount used over the last USAGE_DAYS days
    starts_days_ago: int | None = None  # None: the period's start


BIG_MACHINE_PLANS = [
    Plan("Multilingual foundation model for European languages", "TU Wien", "large_scale", 6, "gpu", 400000, 0.55),
    Plan("Vision transformers for satellite crop monitoring", "Norrsken Vision", "fast_lane", 3, "gpu", 45000, 0.92),
    Plan("Small language model for Finnish customer service", "Kide Labs", "playground", 2, "gpu", 4000, 0.4, 30),
    Plan("Seasonal climate emulator", "ICA Clima", "ai_for_science", 6, "gpu", 150000, 0.2),
    Plan("Protein-ligand affinity screening", "Rhein BioPharma", "fast_lane", 3, "gpu", 30000, 0.5),
    Plan("Climate model data pipeline", "ICA Clima", "ai_for_science", 6, "cpu", 20000, 0.3),
]
MID_RANGE_PLANS = [
    Plan("Digital twin of coastal erosion", "ICA Clima", "ai_for_science", 6, "gpu", 20000, 0.35),
    Plan("Speech recognition for Baltic languages", "Kide Labs", "playground", 3, "gpu", 3000, 0.6, 20),
    Plan("Materials screening with graph networks", "TU Wien", "ai_for_science", 6, "cpu", 30000, 0.25),
]


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _half_year(day: date) -> tuple[str, date, date]:
    if day.month <= 6:
        return f"{day.year}-H1", date(day.year, 1, 1), date(day.year, 6, 30)
    return f"{day.year}-H2", date(day.year, 7, 1), date(day.year, 12, 31)


# --- generated Slurm usage ----------------------------------------------------------------------------------


def generate_jobs(
    *,
    rng: random.Random,
    cluster: str,
    slurm_partition: str,
    account: str,
    user: str,
    partition: Partition,
    total: Decimal,
    first_day: date,
    last_day: date,
    first_job_id: int,
) -> list[str]:
    """sacct --parsable2 lines (no header) of finished jobs charging about `total` units over the days."""
    lines = []
    days = (last_day - first_day).days + 1
    if days <= 0 or total <= 0:
        return lines
    job_id = first_job_id
    per_node = partition.units_per_node
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        day_units = float(total) / days * rng.uniform(0.7, 1.3)
        count = rng.randint(2, 5)
        for _ in range(count):
            units = day_units / count
            nodes = max(1, min(partition.nodes, round(units / (per_node * 12)) or 1))
            elapsed = max(60, round(units * 3600 / (nodes * per_node)))
            end = datetime(day.year, day.month, day.day, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
            start = end - timedelta(seconds=elapsed)
            gpus = nodes * partition.gpus_per_node
            cpus = nodes * (partition.cores_per_node or 64)
            tres = f"billing={cpus},cpu={cpus},mem={nodes * 480}G,node={nodes}" + (f",gres/gpu={gpus}" if gpus else "")
            state = rng.choice(["COMPLETED"] * 8 + ["FAILED", "TIMEOUT"])
            base = [
                str(job_id),
                str(job_id),
                cluster,
                slurm_partition,
                account,
                user,
                start.isoformat(),
                end.isoformat(),
                str(elapsed),
                state,
                str(nodes),
                str(cpus),
                tres,
            ]
            lines.append("|".join(base))
            for step in ("batch", "extern"):
                step_line = base.copy()
                step_line[0] = step_line[1] = f"{job_id}.{step}"
                step_line[3] = ""
                lines.append("|".join(step_line))
            job_id += 1
    return lines


def shifted_sample(*, last_day: date) -> tuple[bytes, date]:
    """The shipped sample file with its dates moved so that its last End falls on `last_day`."""
    text = SAMPLE_SACCT.read_text()
    rows = text.splitlines()
    header = rows[0].split("|")
    i_start, i_end = header.index("Start"), header.index("End")
    ends = [r.split("|")[i_end] for r in rows[1:] if r and r.split("|")[i_end] not in ("Unknown", "")]
    newest = max(datetime.fromisoformat(e) for e in ends).date()
    delta = timedelta(days=(last_day - newest).days)
    out = [rows[0]]
    for row in rows[1:]:
        fields = row.split("|")
        for index in (i_start, i_end):
            if fields[index] not in ("Unknown", "None", ""):
                fields[index] = (datetime.fromisoformat(fields[index]) + delta).isoformat()
        out.append("|".join(fields))
    return ("\n".join(out) + "\n").encode(), newest + delta


# --- seeding ------------------------------------------------------------------------------------------------


def _seed_machines(*, out) -> None:
    data = programme_data()
    extra = json.loads((DATA_DIR / "machines.json").read_text())
    accounting = json.loads((HOSTING_DATA / "accounting.json").read_text())["machines"]
    hosts = organisation_by_alias()
    existing = set(Machine.objects.values_list("name", flat=True))
    created = 0
    for row in data["machines"]:
        facts = extra["existing"].get(row["name"], {})
        setup = accounting.get(row["name"], {})
        machine = Machine.objects.filter(name=row["name"]).first()
        if machine is None:
            share = facts.get("eu_share_of_tco") or row.get("eu_share_of_cost") or row.get("union_access_share")
            machine = machine_create(
                name=row["name"],
                hosting_entity=hosts[row["host"]],
                country=row["country"],
                machine_class=row["class"],
                site=row.get("site", ""),
                status=facts.get("status", Machine.Status.OPERATIONAL),
                ai_capable=facts.get("ai_capable", False),
                selected_on=_date(facts.get("selected_on")),
                operational_since=_date(facts.get("operational_since")),
                ai_upgrade_selected_on=_date(facts.get("ai_upgrade_selected_on")),
                eu_share_of_tco=Decimal(share) if share else None,
                peak_pflops=Decimal(str(row.get("hpl_pflops") or row.get("peak_pflops") or 0)) or None,
                slurm_cluster=setup.get("slurm_cluster", ""),
                time_zone=setup.get("time_zone", "Europe/Luxembourg"),
                actor=None,
            )
            created += 1
        elif setup and (machine.slurm_cluster, machine.time_zone) != (setup["slurm_cluster"], setup["time_zone"]):
            machine = machine_accounting_update(
                machine=machine, slurm_cluster=setup["slurm_cluster"], time_zone=setup["time_zone"], actor=None
            )
        names = {p.name: p for p in Partition.objects.filter(machine=machine)}
        mapping = setup.get("slurm_partitions", {})
        for part in row.get("partitions", []) + setup.get("partitions", []):
            if part["name"] in names:
                partition = names[part["name"]]
                wanted = part.get("slurm_partitions") or mapping.get(part["name"])
                if wanted and partition.slurm_partitions != wanted:
                    partition_accounting_update(partition=partition, slurm_partitions=wanted, actor=None)
                continue
            partition_create(
                machine=machine,
                name=part["name"],
                kind=part["kind"],
                nodes=part["nodes"],
                gpus_per_node=part.get("gpus_per_node", 0),
                cores_per_node=part.get("cores_per_node", 0),
                gpu_model=part.get("gpu_model", ""),
                accounting_unit=part.get("accounting_unit"),
                slurm_partitions=part.get("slurm_partitions") or mapping.get(part["name"], ""),
                actor=None,
            )

    for factory in data["ai_factories"]:
        name = factory.get("machine")
        if name not in extra["ai_factory_machines"] or Machine.objects.filter(name=name).exists():
            continue
        machine_create(
            name=name,
            hosting_entity=hosts[factory["host"]],
            country=factory["country"],
            machine_class=Machine.MachineClass.AI_OPTIMISED,
            status=Machine.Status.PROCUREMENT,
            ai_capable=True,
            selected_on=_date(factory["selected"]),
            eu_share_of_tco=Decimal("0.50"),
            actor=None,
        )
        created += 1
    out(f"machines: {created} created, {len(existing)} already there")


def _seed_agreements(*, out) -> None:
    made = 0
    with_agreement = set(HostingAgreement.objects.values_list("machine_id", flat=True))
    for machine in Machine.objects.exclude(pk__in=with_agreement).exclude(eu_share_of_tco=None).order_by("name"):
        # In force from when the machine entered operation (or was selected, for machines still in procurement).
        effective = machine.operational_since or machine.selected_on or date(2021, 1, 1)
        signed = machine.selected_on or effective
        hosting_agreement_create(
            machine=machine, signed_on=min(signed, effective), effective_from=effective, actor=None
        )
        made += 1
    out(f"hosting agreements: {made} created")


def _pis() -> dict[str, tuple[User, Organisation, str]]:
    found = {}
    for short, legal, country, kind, user_type, username, first, last in DEMO_ORGANISATIONS:
        organisation = Organisation.objects.filter(short_name=short).first()
        if organisation is None:
            organisation = organisation_create(
                legal_name=legal or short, short_name=short, country=country, kind=kind, actor=None
            )
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                email=f"{username}@demo.aif-grants.example",
                organisation=organisation,
                actor=None,
            )
        found[short] = (user, organisation, user_type)
    return found


def _seed_quotas(*, today: date, out) -> list[tuple[Machine, AllocationPeriod, list]]:
    """The current period of each operational machine with partitions, projects and allocations."""
    pis = _pis()
    name, start, end = _half_year(today)
    seeded = []
    allocations_made = 0
    machines = Machine.objects.filter(status=Machine.Status.OPERATIONAL).prefetch_related("partitions")
    for index, machine in enumerate(machines.order_by("name")):
        partitions = sorted(machine.partitions.all(), key=lambda p: p.name)
        if not partitions or not HostingAgreement.objects.filter(machine=machine, effective_from__lte=start).exists():
            continue
        current = AllocationPeriod.objects.filter(machine=machine, start__lte=today, end__gte=today)
        period = current.order_by("machine__name", "-start").first()
        if period is None:
            period = period_create(machine=machine, name=name, start=start, end=end, actor=None)
        plans = MID_RANGE_PLANS if machine.machine_class == Machine.MachineClass.MID_RANGE else BIG_MACHINE_PLANS
        made = []
        for number, plan in enumerate(plans, start=1):
            partition = next((p for p in partitions if p.kind == plan.partition_kind), None)
            if partition is None:
                continue
            account = f"{machine.slurm_cluster or 'aif'}_p{index + 1:02d}{number:02d}"
            if machine.name == "LUMI":
                account = f"project_4650001{number:02d}"
            allocation = Allocation.objects.filter(period=period, partition=partition, slurm_account=account).first()
            if allocation is None:
                pi, organisation, user_type = pis[plan.organisation]
                starts_on = period.start if plan.starts_days_ago is None else today - timedelta(plan.starts_days_ago)
                title = f"{plan.title} ({machine.name})"
                project = UserProject.objects.filter(title=title, pi=pi).order_by("code").first()
                if project is None:
                    project = project_create(
                        title=title,
                        pi=pi,
                        organisation=organisation,
                        user_type=user_type,
                        access_mode=plan.access_mode,
                        starts_on=starts_on,
                        duration_months=plan.months,
                        actor=None,
                    )
                amount = Decimal(plan.amount)
                if partition.accounting_unit == Partition.Unit.CORE_HOURS:
                    amount *= partition.cores_per_node
                allocation = allocation_create(
                    project=project,
                    partition=partition,
                    period=period,
                    amount=amount,
                    slurm_account=account,
                    actor=None,
                )
                allocations_made += 1
            made.append((plan, allocation, partition))
        seeded.append((machine, period, made))
    out(f"allocations: {allocations_made} created")
    return seeded


def _seed_usage(*, today: date, seeded, out) -> None:
    last_day = today - timedelta(days=1)
    imported = 0
    with_usage = set(
        UsageImport.objects.filter(status=UsageImport.Status.DONE, source=UsageImport.Source.COMMAND).values_list(
            "machine_id", flat=True
        )
    )
    for machine, period, made in seeded:
        first_day = max(period.start, today - timedelta(days=USAGE_DAYS))
        if last_day < first_day or machine.pk in with_usage:
            continue
        if machine.name == "LUMI" and SAMPLE_SACCT.exists():
            data, _ = shifted_sample(last_day=last_day)
            name = SAMPLE_SACCT.name
        else:
            rng = random.Random(machine.name)
            lines = []
            for number, (plan, allocation, partition) in enumerate(made, start=1):
                slurm_partition = partition.slurm_names[0]
                total = allocation.amount * Decimal(str(plan.used))
                lines += generate_jobs(
                    rng=rng,
                    cluster=machine.slurm_cluster,
                    slurm_partition=slurm_partition,
                    account=allocation.slurm_account,
                    user=f"user{number:02d}",
                    partition=partition,
                    total=total,
                    first_day=first_day,
                    last_day=last_day,
                    first_job_id=1_000_000 + number * 100_000,
                )
            data = ("\n".join([SACCT_HEADER, *lines]) + "\n").encode()
            name = f"{machine.slurm_cluster or machine.name}-demo-sacct.txt"
        usage_import = usage_import_create(
            machine=machine, stream=io.BytesIO(data), file_name=name, source=UsageImport.Source.COMMAND, actor=None
        )
        imported += usage_import.imported
    out(f"usage: {imported} jobs imported ({len(with_usage)} machines already had usage)")


def _seed_next_periods(*, today: date, out) -> None:
    """The half-year after the current one, so that access applications may ask to start in the next months."""
    name, start, end = _half_year(_half_year(today)[2] + timedelta(days=1))
    made = 0
    for machine in Machine.objects.filter(status=Machine.Status.OPERATIONAL).order_by("name"):
        current = AllocationPeriod.objects.filter(machine=machine, start__lte=today, end__gte=today).exists()
        covered = AllocationPeriod.objects.filter(machine=machine, start__lte=end, end__gte=start).exists()
        if not current or covered:
            continue
        if not HostingAgreement.objects.filter(machine=machine, effective_from__lte=start).exists():
            continue
        period_create(machine=machine, name=name, start=start, end=end, actor=None)
        made += 1
    out(f"next allocation periods ({name}): {made} created")


def allocation_usage_seed(*, allocations: list[Allocation], today: date, used: float = 0.45) -> int:
    """Jobs charging about `used` of each allocation from its project's start (or the last USAGE_DAYS days) to
    yesterday, imported through the operator's service, one file per machine; an allocation that already has
    usage is left alone. Returns the number of jobs imported."""
    from hosting.models import UsageRecord

    last_day = today - timedelta(days=1)
    charged = set(
        UsageRecord.objects.filter(allocation__in=allocations).values_list("allocation_id", flat=True).distinct()
    )
    by_machine: dict[int, list[Allocation]] = {}
    for allocation in allocations:
        if allocation.pk not in charged:
            by_machine.setdefault(allocation.partition.machine_id, []).append(allocation)
    imported = 0
    for allocations_of in by_machine.values():
        machine = allocations_of[0].partition.machine
        rng = random.Random(f"access-{machine.name}")
        lines = []
        for number, allocation in enumerate(allocations_of, start=1):
            project = allocation.project
            first_day = max(project.starts_on, allocation.period.start, today - timedelta(days=2 * USAGE_DAYS))
            last = min(last_day, project.ends_on, allocation.period.end)
            if last < first_day:
                continue
            span = (project.ends_on - project.starts_on).days + 1
            share = Decimal(str(used)) * Decimal((last - first_day).days + 1) / Decimal(span)
            lines += generate_jobs(
                rng=rng,
                cluster=machine.slurm_cluster,
                slurm_partition=allocation.partition.slurm_names[0],
                account=allocation.slurm_account,
                user=f"{project.pi.username.replace('-', '')[:8]}{number:02d}",
                partition=allocation.partition,
                total=(allocation.amount * share).quantize(Decimal("0.01")),
                first_day=first_day,
                last_day=last,
                first_job_id=7_000_000 + number * 100_000,
            )
        if not lines:
            continue
        data = ("\n".join([SACCT_HEADER, *lines]) + "\n").encode()
        usage_import = usage_import_create(
            machine=machine,
            stream=io.BytesIO(data),
            file_name=f"{machine.slurm_cluster or machine.name}-access-projects-sacct.txt",
            source=UsageImport.Source.COMMAND,
            actor=None,
        )
        imported += usage_import.imported
    return imported


def seed(*, out) -> None:
    today = timezone.localdate()
    _seed_machines(out=out)
    _seed_agreements(out=out)
    seeded = _seed_quotas(today=today, out=out)
    _seed_usage(today=today, seeded=seeded, out=out)
    _seed_next_periods(today=today, out=out)
