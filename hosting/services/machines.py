"""Writes of machines, partitions, hosting agreements and allocation periods (with their partition quotas)."""

from datetime import date
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction

from eurohpc.countries import COUNTRIES
from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.models import Organisation, User
from eurohpc.services import audit_record
from hosting.formatting import pct
from hosting.models import AllocationPeriod, HostingAgreement, Machine, Partition, PartitionQuota
from hosting.providers import FundingGrant

CENT = Decimal("0.01")


def _check_time_zone(time_zone: str) -> None:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleViolation(f"Unknown time zone {time_zone!r}: use an IANA name such as Europe/Helsinki.") from None


def _check_slurm_names(machine: Machine, names: list[str], *, exclude_pk: int | None = None) -> None:
    for name in names:
        if not name or "|" in name or "," in name or len(name) > 64:
            raise RuleViolation(f"{name!r} is not a Slurm partition name.")
    taken = {}
    for other in Partition.objects.filter(machine=machine).exclude(pk=exclude_pk).order_by("machine__name", "name"):
        for name in other.slurm_names:
            taken[name] = other.name
    clashes = sorted(name for name in names if name in taken)
    if clashes:
        raise StateConflict(
            f"The Slurm partition {clashes[0]!r} is already charged to {machine.name} {taken[clashes[0]]}: "
            "a Slurm partition feeds one partition only."
        )


@transaction.atomic
def machine_create(
    *,
    name: str,
    hosting_entity: Organisation,
    country: str,
    machine_class: str,
    site: str = "",
    status: str = Machine.Status.OPERATIONAL,
    is_eurohpc: bool = True,
    owned_by_ju: bool = True,
    ai_capable: bool = False,
    selected_on: date | None = None,
    operational_since: date | None = None,
    ai_upgrade_selected_on: date | None = None,
    eu_share_of_tco: Decimal | None = None,
    peak_pflops: Decimal | None = None,
    slurm_cluster: str = "",
    time_zone: str = "Europe/Luxembourg",
    actor: User | None,
) -> Machine:
    if country not in COUNTRIES:
        raise RuleViolation(f"Country must be an ISO 3166-1 alpha-2 code, got {country!r}.", code="country")
    if Machine.objects.filter(name=name).exists():
        raise StateConflict(f"A machine named {name!r} already exists.")
    if eu_share_of_tco is not None and not Decimal(0) <= eu_share_of_tco <= 1:
        raise RuleViolation(f"The EU share of total cost of ownership must lie between 0 and 1, got {eu_share_of_tco}.")
    _check_time_zone(time_zone)
    machine = Machine.objects.create(
        name=name,
        hosting_entity=hosting_entity,
        country=country,
        machine_class=machine_class,
        site=site,
        status=status,
        is_eurohpc=is_eurohpc,
        owned_by_ju=owned_by_ju,
        ai_capable=ai_capable,
        selected_on=selected_on,
        operational_since=operational_since,
        ai_upgrade_selected_on=ai_upgrade_selected_on,
        eu_share_of_tco=eu_share_of_tco,
        peak_pflops=peak_pflops,
        slurm_cluster=slurm_cluster,
        time_zone=time_zone,
    )
    changes = {"hosting_entity": hosting_entity.short_name, "class": machine_class, "country": country}
    audit_record(actor=actor, verb="machine.create", target=machine, changes=changes)
    return machine


@transaction.atomic
def machine_accounting_update(*, machine: Machine, slurm_cluster: str, time_zone: str, actor: User | None) -> Machine:
    """Set how the machine's Slurm accounting is read: its cluster name and the time zone of its times."""
    _check_time_zone(time_zone)
    machine = Machine.objects.select_for_update().get(pk=machine.pk)
    before = {"slurm_cluster": machine.slurm_cluster, "time_zone": machine.time_zone}
    machine.slurm_cluster, machine.time_zone = slurm_cluster.strip(), time_zone
    machine.save(update_fields=["slurm_cluster", "time_zone"])
    audit_record(
        actor=actor,
        verb="machine.accounting_update",
        target=machine,
        changes={"before": before, "slurm_cluster": machine.slurm_cluster, "time_zone": time_zone},
    )
    return machine


def partition_quota_row(*, period: AllocationPeriod, partition: Partition, share: Decimal) -> PartitionQuota:
    """The (unsaved) quota of `partition` in `period`: its capacity (nodes × units per node × the period's hours ×
    the availability factor) and the Union's `share` of it, both rounded down to the cent. The services save it
    when a partition or a period is created; the scale dataset bulk-inserts the same rows."""
    hours = period.hours
    capacity = (Decimal(partition.nodes * partition.units_per_node * hours) * partition.availability_factor).quantize(
        CENT, rounding=ROUND_DOWN
    )
    union_quota = (capacity * share).quantize(CENT, rounding=ROUND_DOWN)
    return PartitionQuota(
        period=period,
        partition=partition,
        hours=hours,
        capacity=capacity,
        union_access_share=share,
        union_quota=union_quota,
    )


@transaction.atomic
def partition_create(
    *,
    machine: Machine,
    name: str,
    kind: str,
    nodes: int,
    gpus_per_node: int = 0,
    cores_per_node: int = 0,
    gpu_model: str = "",
    accounting_unit: str | None = None,
    availability_factor: Decimal = Decimal("0.900"),
    slurm_partitions: str = "",
    actor: User | None,
) -> Partition:
    """Add a partition; it gets its quota in every allocation period of the machine."""
    if nodes <= 0:
        raise RuleViolation(f"A partition needs at least one node, got {nodes}.")
    if kind == Partition.Kind.GPU and gpus_per_node <= 0:
        raise RuleViolation("A GPU partition needs the number of GPUs per node.")
    unit = accounting_unit or (Partition.Unit.GPU_HOURS if kind == Partition.Kind.GPU else Partition.Unit.NODE_HOURS)
    if unit == Partition.Unit.CORE_HOURS and cores_per_node <= 0:
        raise RuleViolation("A partition accounted in core-hours needs the number of cores per node.")
    if not Decimal(0) < availability_factor <= 1:
        raise RuleViolation(f"The availability factor must lie in (0, 1], got {availability_factor}.")
    machine = Machine.objects.select_for_update().get(pk=machine.pk)
    if Partition.objects.filter(machine=machine, name=name).exists():
        raise StateConflict(f"{machine.name} already has a partition named {name!r}.")
    slurm_names = [n.strip() for n in slurm_partitions.split(",") if n.strip()] or [name]
    _check_slurm_names(machine, slurm_names)
    partition = Partition.objects.create(
        machine=machine,
        name=name,
        kind=kind,
        nodes=nodes,
        gpus_per_node=gpus_per_node,
        cores_per_node=cores_per_node,
        gpu_model=gpu_model,
        accounting_unit=unit,
        availability_factor=availability_factor,
        slurm_partitions=",".join(slurm_names),
    )
    periods = (
        AllocationPeriod.objects.filter(machine=machine).select_related("agreement").order_by("machine__name", "-start")
    )
    PartitionQuota.objects.bulk_create(
        [partition_quota_row(period=p, partition=partition, share=p.agreement.union_access_share) for p in periods]
    )
    audit_record(
        actor=actor, verb="partition.create", target=partition, changes={"nodes": nodes, "kind": kind, "unit": unit}
    )
    return partition


@transaction.atomic
def partition_accounting_update(*, partition: Partition, slurm_partitions: str, actor: User | None) -> Partition:
    """Name the Slurm partitions whose jobs are charged to `partition` (e.g. standard-g, small-g)."""
    partition = Partition.objects.select_for_update().select_related("machine").get(pk=partition.pk)
    names = [n.strip() for n in slurm_partitions.split(",") if n.strip()] or [partition.name]
    _check_slurm_names(partition.machine, names, exclude_pk=partition.pk)
    before = partition.slurm_partitions
    partition.slurm_partitions = ",".join(names)
    partition.save(update_fields=["slurm_partitions"])
    audit_record(
        actor=actor,
        verb="partition.accounting_update",
        target=partition,
        changes={"before": before, "slurm_partitions": partition.slurm_partitions},
    )
    return partition


@transaction.atomic
def hosting_agreement_create(
    *,
    machine: Machine,
    signed_on: date,
    effective_from: date | None = None,
    eu_share_of_tco: Decimal | None = None,
    reference: str = "",
    grant: FundingGrant | None = None,
    actor: User | None,
) -> HostingAgreement:
    """Record a hosting agreement; the Union's access share is the EU share of TCO, capped (Art. 17).

    The cap is 50% for high-end, AI-optimised and exascale machines and 35% for mid-range machines.
    """
    machine = Machine.objects.select_for_update().select_related("hosting_entity").get(pk=machine.pk)
    effective_from = effective_from or signed_on
    share = eu_share_of_tco if eu_share_of_tco is not None else machine.eu_share_of_tco
    if share is None:
        raise RuleViolation(
            f"The Union's access share follows the EU share of {machine.name}'s total cost of ownership, "
            "which is not recorded: give it."
        )
    share = Decimal(share)
    if not Decimal(0) <= share <= 1:
        raise RuleViolation(f"The EU share of total cost of ownership must lie between 0 and 1, got {share}.")
    if share.as_tuple().exponent < -4:
        raise RuleViolation(f"The EU share of total cost of ownership has at most 4 decimals, got {share}.")
    if grant is not None and grant.beneficiary_id != machine.hosting_entity_id:
        raise RuleViolation(
            f"The grant {grant.reference} goes to {grant.beneficiary.short_name}, not to {machine.name}'s hosting "
            f"entity {machine.hosting_entity.short_name}."
        )
    if HostingAgreement.objects.filter(machine=machine, effective_from=effective_from).exists():
        raise StateConflict(f"{machine.name} already has a hosting agreement in force from {effective_from:%Y-%m-%d}.")
    later = AllocationPeriod.objects.filter(machine=machine, start__gte=effective_from).order_by("start").first()
    if later is not None:
        raise StateConflict(
            f"The allocation period {later.name} of {machine.name} starts on {later.start:%Y-%m-%d}, on or after "
            f"{effective_from:%Y-%m-%d}: its quota already follows the agreement in force then."
        )
    cap = machine.union_access_cap
    union_share = min(share, cap)
    agreement = HostingAgreement.objects.create(
        machine=machine,
        hosting_entity=machine.hosting_entity,
        reference=reference,
        grant=grant,
        signed_on=signed_on,
        effective_from=effective_from,
        eu_share_of_tco=share,
        access_share_cap=cap,
        union_access_share=union_share,
    )
    audit_record(
        actor=actor,
        verb="hosting_agreement.create",
        target=agreement,
        changes={
            "eu_share_of_tco": share,
            "cap": cap,
            "union_access_share": union_share,
            "effective_from": effective_from,
            "grant": grant.reference if grant is not None else None,
            "rule": f"capped at {pct(cap)}",
        },
    )
    return agreement


def agreement_in_force(*, machine: Machine, on: date) -> HostingAgreement | None:
    return HostingAgreement.objects.filter(machine=machine, effective_from__lte=on).order_by("-effective_from").first()


@transaction.atomic
def period_create(*, machine: Machine, name: str, start: date, end: date, actor: User | None) -> AllocationPeriod:
    """Open an allocation period; each partition's quota is fixed from the agreement in force on `start`."""
    name = name.strip()
    if not name:
        raise RuleViolation("An allocation period needs a name, e.g. 2026-H2.")
    if end < start:
        raise RuleViolation(f"An allocation period ends on or after its start: {start:%Y-%m-%d} to {end:%Y-%m-%d}.")
    machine = Machine.objects.select_for_update().get(pk=machine.pk)
    if AllocationPeriod.objects.filter(machine=machine, name=name).exists():
        raise StateConflict(f"{machine.name} already has an allocation period named {name!r}.")
    overlap = (
        AllocationPeriod.objects.filter(machine=machine, start__lte=end, end__gte=start)
        .order_by("machine__name", "-start")
        .first()
    )
    if overlap is not None:
        raise StateConflict(
            f"Allocation periods of a machine do not overlap: {start:%Y-%m-%d} to {end:%Y-%m-%d} overlaps "
            f"{overlap.name} ({overlap.start:%Y-%m-%d} to {overlap.end:%Y-%m-%d})."
        )
    agreement = agreement_in_force(machine=machine, on=start)
    if agreement is None:
        raise StateConflict(
            f"{machine.name} has no hosting agreement in force on {start:%Y-%m-%d}: record it first, it fixes "
            "the Union's access share."
        )
    period = AllocationPeriod.objects.create(machine=machine, agreement=agreement, name=name, start=start, end=end)
    quotas = [
        partition_quota_row(period=period, partition=partition, share=agreement.union_access_share)
        for partition in Partition.objects.filter(machine=machine).order_by("machine__name", "name")
    ]
    PartitionQuota.objects.bulk_create(quotas)
    audit_record(
        actor=actor,
        verb="period.create",
        target=period,
        changes={
            "start": start,
            "end": end,
            "union_access_share": agreement.union_access_share,
            "quotas": {q.partition.name: q.union_quota for q in quotas},
        },
    )
    return period
