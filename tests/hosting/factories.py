"""Hosting factories: state built through the services, so audit events, quotas and invariants are real."""

from datetime import date
from decimal import Decimal

import factory

from eurohpc.models import Organisation
from hosting.models import Allocation, AllocationPeriod, HostingAgreement, Machine, Partition, UserProject
from hosting.services import (
    allocation_create,
    hosting_agreement_create,
    machine_create,
    partition_create,
    period_create,
    project_create,
)
from tests.factories import OrganisationFactory, UserFactory

PERIOD_START = date(2026, 7, 1)
PERIOD_END = date(2026, 12, 31)  # 184 days, 4,416 hours


class MachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Machine

    name = factory.Sequence(lambda n: f"Machine {n}")
    hosting_entity = factory.SubFactory(OrganisationFactory)
    country = "FI"
    machine_class = Machine.MachineClass.HIGH_END
    eu_share_of_tco = Decimal("0.50")
    slurm_cluster = ""
    time_zone = "Europe/Helsinki"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return machine_create(actor=None, **kwargs)


class PartitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partition

    machine = factory.SubFactory(MachineFactory)
    name = factory.Sequence(lambda n: f"part-{n}")
    kind = Partition.Kind.GPU
    nodes = 20
    gpus_per_node = 4
    cores_per_node = 64

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return partition_create(actor=None, **kwargs)


class HostingAgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostingAgreement

    machine = factory.SubFactory(MachineFactory)
    signed_on = date(2025, 1, 15)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return hosting_agreement_create(actor=None, **kwargs)


class AllocationPeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AllocationPeriod

    machine = factory.SubFactory(MachineFactory)
    name = "2026-H2"
    start = PERIOD_START
    end = PERIOD_END

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return period_create(actor=None, **kwargs)


class UserProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserProject

    title = factory.Sequence(lambda n: f"Foundation model {n}")
    pi = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.COMPANY)
    user_type = UserProject.UserType.ACADEMIA
    access_mode = UserProject.AccessMode.AI_FOR_SCIENCE
    starts_on = PERIOD_START
    duration_months = 6

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return project_create(actor=None, **kwargs)


class AllocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allocation

    project = factory.SubFactory(UserProjectFactory)
    amount = Decimal("1000.00")
    slurm_account = factory.Sequence(lambda n: f"project_4650{n:05d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return allocation_create(actor=None, **kwargs)


SACCT_HEADER = "JobID|JobIDRaw|Cluster|Partition|Account|User|Start|End|ElapsedRaw|State|NNodes|NCPUS|AllocTRES"


def sacct_line(
    job_id: str,
    *,
    raw: str | None = None,
    cluster: str = "lumi",
    partition: str = "standard-g",
    account: str = "project_465000001",
    user: str = "aino",
    start: str = "2026-09-01T10:00:00",
    end: str = "2026-09-01T12:00:00",
    elapsed: int = 7200,
    state: str = "COMPLETED",
    nodes: int = 1,
    cpus: int = 56,
    tres: str = "billing=56,cpu=56,gres/gpu=8,mem=480G,node=1",
) -> str:
    return "|".join(
        [
            job_id,
            raw or job_id,
            cluster,
            partition,
            account,
            user,
            start,
            end,
            str(elapsed),
            state,
            str(nodes),
            str(cpus),
            tres,
        ]
    )


def sacct_file(*lines: str, header: str = SACCT_HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


GPU_QUOTA = Decimal("158976.00")  # the `lumi_g` fixture in the 2026-H2 period
CPU_QUOTA = Decimal("15897.60")  # the `lumi_c` fixture


def usage_row_insert(record, **changes) -> tuple[str, list]:
    """SQL and parameters inserting a copy of the usage row `record` (job 2002), with `changes` to its columns."""
    values = {
        "machine_id": record.machine_id,
        "job_id_raw": "2002",
        "job_id": "2002",
        "allocation_id": record.allocation_id,
        "usage_import_id": record.usage_import_id,
        "slurm_partition": record.slurm_partition,
        "account": record.account,
        "slurm_user": record.slurm_user,
        "state": record.state,
        "ended_at": record.ended_at,
        "day": record.day,
        "elapsed_seconds": record.elapsed_seconds,
        "nodes": record.nodes,
        "cpus": record.cpus,
        "gpus": record.gpus,
        "charge": record.charge,
        **changes,
    }
    columns, placeholders = ", ".join(values), ", ".join(["%s"] * len(values))
    return f"INSERT INTO hosting_usagerecord ({columns}) VALUES ({placeholders})", list(values.values())  # noqa: S608
