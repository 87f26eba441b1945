"""Demo data of the hosting app: the EuroHPC machines and the AI Factory machines, with partitions."""

import json
from datetime import date
from decimal import Decimal

from eurohpc.demo import DATA_DIR, organisation_by_alias, programme_data
from hosting.models import Machine, Partition
from hosting.services import machine_create, partition_create


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def seed(*, out) -> None:
    data = programme_data()
    extra = json.loads((DATA_DIR / "machines.json").read_text())
    hosts = organisation_by_alias()
    existing = set(Machine.objects.values_list("name", flat=True))
    created = 0
    for row in data["machines"]:
        facts = extra["existing"].get(row["name"], {})
        machine = Machine.objects.filter(name=row["name"]).first()
        if machine is None:
            share = facts.get("eu_share_of_tco") or row.get("eu_share_of_cost") or row.get("union_access_share")
            machine = machine_create(
                name=row["name"], hosting_entity=hosts[row["host"]], country=row["country"],
                machine_class=row["class"], site=row.get("site", ""),
                status=facts.get("status", Machine.Status.OPERATIONAL), ai_capable=facts.get("ai_capable", False),
                selected_on=_date(facts.get("selected_on")), operational_since=_date(facts.get("operational_since")),
                ai_upgrade_selected_on=_date(facts.get("ai_upgrade_selected_on")),
                eu_share_of_tco=Decimal(share) if share else None,
                peak_pflops=Decimal(str(row.get("hpl_pflops") or row.get("peak_pflops") or 0)) or None,
                actor=None,
            )  # fmt: skip
            created += 1
        names = set(Partition.objects.filter(machine=machine).values_list("name", flat=True))
        for part in row.get("partitions", []):
            if part["name"] in names:
                continue
            partition_create(
                machine=machine, name=part["name"], kind=part["kind"], nodes=part["nodes"],
                gpus_per_node=part.get("gpus_per_node", 0), cores_per_node=part.get("cores_per_node", 0),
                gpu_model=part.get("gpu_model", ""), actor=None,
            )  # fmt: skip

    for factory in data["ai_factories"]:
        name = factory.get("machine")
        if name not in extra["ai_factory_machines"] or Machine.objects.filter(name=name).exists():
            continue
        machine_create(
            name=name, hosting_entity=hosts[factory["host"]], country=factory["country"],
            machine_class=Machine.MachineClass.AI_OPTIMISED, status=Machine.Status.PROCUREMENT, ai_capable=True,
            selected_on=_date(factory["selected"]), eu_share_of_tco=Decimal("0.50"), actor=None,
        )  # fmt: skip
        created += 1
    out(f"machines: {created} created, {len(existing)} already there")
