"""Writes of the hosting app: machines and partitions (more arrive with quotas and usage)."""

from datetime import date
from decimal import Decimal

from django.db import transaction

from eurohpc.countries import COUNTRIES
from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.models import Organisation, User
from eurohpc.services import audit_record
from hosting.models import Machine, Partition


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
    actor: User | None,
) -> Machine:
    if country not in COUNTRIES:
        raise RuleViolation(f"Country must be an ISO 3166-1 alpha-2 code, got {country!r}.", code="country")
    if Machine.objects.filter(name=name).exists():
        raise StateConflict(f"A machine named {name!r} already exists.")
    if eu_share_of_tco is not None and not Decimal(0) <= eu_share_of_tco <= 1:
        raise RuleViolation(f"The EU share of total cost of ownership must lie between 0 and 1, got {eu_share_of_tco}.")
    machine = Machine.objects.create(
        name=name, hosting_entity=hosting_entity, country=country, machine_class=machine_class, site=site,
        status=status, is_eurohpc=is_eurohpc, owned_by_ju=owned_by_ju, ai_capable=ai_capable,
        selected_on=selected_on, operational_since=operational_since,
        ai_upgrade_selected_on=ai_upgrade_selected_on, eu_share_of_tco=eu_share_of_tco, peak_pflops=peak_pflops,
    )  # fmt: skip
    changes = {"hosting_entity": hosting_entity.short_name, "class": machine_class, "country": country}
    audit_record(actor=actor, verb="machine.create", target=machine, changes=changes)
    return machine


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
    actor: User | None,
) -> Partition:
    if nodes <= 0:
        raise RuleViolation(f"A partition needs at least one node, got {nodes}.")
    if kind == Partition.Kind.GPU and gpus_per_node <= 0:
        raise RuleViolation("A GPU partition needs the number of GPUs per node.")
    unit = accounting_unit or (Partition.Unit.GPU_HOURS if kind == Partition.Kind.GPU else Partition.Unit.NODE_HOURS)
    if unit == Partition.Unit.CORE_HOURS and cores_per_node <= 0:
        raise RuleViolation("A partition accounted in core-hours needs the number of cores per node.")
    if not Decimal(0) < availability_factor <= 1:
        raise RuleViolation(f"The availability factor must lie in (0, 1], got {availability_factor}.")
    if Partition.objects.filter(machine=machine, name=name).exists():
        raise StateConflict(f"{machine.name} already has a partition named {name!r}.")
    partition = Partition.objects.create(
        machine=machine, name=name, kind=kind, nodes=nodes, gpus_per_node=gpus_per_node,
        cores_per_node=cores_per_node, gpu_model=gpu_model, accounting_unit=unit,
        availability_factor=availability_factor,
    )  # fmt: skip
    audit_record(actor=actor, verb="partition.create", target=partition,
                 changes={"nodes": nodes, "kind": kind, "unit": unit})  # fmt: skip
    return partition
