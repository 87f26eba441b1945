"""A small LUMI hosted by CSC: a GPU partition in GPU-hours and a CPU partition in node-hours, one period."""

import pytest

from tests.hosting.factories import (
    AllocationPeriodFactory,
    HostingAgreementFactory,
    MachineFactory,
    PartitionFactory,
)


@pytest.fixture
def lumi(organisation):
    machine = MachineFactory(name="LUMI", hosting_entity=organisation, slurm_cluster="lumi")
    HostingAgreementFactory(machine=machine)
    return machine


@pytest.fixture
def lumi_g(lumi):
    # 20 nodes x 4 GPUs x 4,416 h x 0.9 = 317,952 GPU-hours; Union quota 50% = 158,976 GPU-hours
    return PartitionFactory(
        machine=lumi, name="LUMI-G", kind="gpu", nodes=20, gpus_per_node=4, slurm_partitions="standard-g,small-g"
    )


@pytest.fixture
def lumi_c(lumi):
    # 8 nodes x 4,416 h x 0.9 = 31,795.20 node-hours; Union quota 15,897.60 node-hours
    return PartitionFactory(
        machine=lumi,
        name="LUMI-C",
        kind="cpu",
        nodes=8,
        gpus_per_node=0,
        cores_per_node=128,
        slurm_partitions="standard,small",
    )


@pytest.fixture
def period(lumi, lumi_g, lumi_c):
    return AllocationPeriodFactory(machine=lumi)


@pytest.fixture
def other_machine(other_organisation):
    machine = MachineFactory(
        name="Leonardo",
        hosting_entity=other_organisation,
        country="IT",
        slurm_cluster="leonardo",
        time_zone="Europe/Rome",
    )
    HostingAgreementFactory(machine=machine)
    PartitionFactory(machine=machine, name="Booster", nodes=10)
    AllocationPeriodFactory(machine=machine)
    return machine
