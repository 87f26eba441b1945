"""Hosting agreements, periods and quotas, user projects and allocations: the rules and their refusals."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from eurohpc.errors import LimitExceeded, RuleViolation, StateConflict
from eurohpc.models import AuditEvent
from hosting.models import Allocation, HostingAgreement, Machine, PartitionQuota, UserProject
from hosting.selectors import quota_positions
from hosting.services import allocation_create, hosting_agreement_create, period_create, project_create
from tests.hosting.factories import (
    CPU_QUOTA,
    GPU_QUOTA,
    AllocationFactory,
    AllocationPeriodFactory,
    HostingAgreementFactory,
    MachineFactory,
    PartitionFactory,
    UserProjectFactory,
)

pytestmark = pytest.mark.django_db


# --- hosting agreements: the Union's access share --------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine_class", "eu_share", "union_share"),
    [
        (Machine.MachineClass.HIGH_END, "0.60", "0.50"),
        (Machine.MachineClass.AI_OPTIMISED, "0.75", "0.50"),
        (Machine.MachineClass.EXASCALE, "0.50", "0.50"),
        (Machine.MachineClass.MID_RANGE, "0.50", "0.35"),
        (Machine.MachineClass.MID_RANGE, "0.30", "0.30"),
        (Machine.MachineClass.HIGH_END, "0.4275", "0.4275"),
    ],
)
def test_agreement_union_share_is_eu_share_capped_by_class(machine_class, eu_share, union_share):
    machine = MachineFactory(machine_class=machine_class, eu_share_of_tco=Decimal(eu_share))
    agreement = HostingAgreementFactory(machine=machine)
    assert agreement.union_access_share == Decimal(union_share)
    assert agreement.access_share_cap == (Decimal("0.35") if machine_class == "mid_range" else Decimal("0.50"))


def test_agreement_refused_without_eu_share():
    machine = MachineFactory(name="DAEDALUS", eu_share_of_tco=None)
    with pytest.raises(RuleViolation) as refused:
        hosting_agreement_create(machine=machine, signed_on=date(2025, 1, 1), actor=None)
    assert refused.value.message == (
        "The Union's access share follows the EU share of DAEDALUS's total cost of ownership, which is not recorded: "
        "give it."
    )


def test_agreement_refused_when_a_period_already_starts_after_it(period, lumi):
    with pytest.raises(StateConflict) as refused:
        hosting_agreement_create(machine=lumi, signed_on=date(2026, 6, 1), actor=None)
    assert refused.value.message == (
        "The allocation period 2026-H2 of LUMI starts on 2026-07-01, on or after 2026-06-01: its quota already "
        "follows the agreement in force then."
    )


def test_agreement_union_share_check_constraint_holds_in_database(lumi):
    with pytest.raises(IntegrityError), transaction.atomic():
        HostingAgreement.objects.create(
            machine=lumi,
            hosting_entity=lumi.hosting_entity,
            signed_on=date(2027, 1, 1),
            effective_from=date(2027, 1, 1),
            eu_share_of_tco=Decimal("0.40"),
            access_share_cap=Decimal("0.50"),
            union_access_share=Decimal("0.50"),
        )


# --- periods and quotas -----------------------------------------------------------------------------------------


def test_period_fixes_capacity_and_union_quota_per_partition(period):
    rows = {q.partition.name: q for q in PartitionQuota.objects.filter(period=period).select_related("partition")}
    assert rows["LUMI-G"].hours == 4416
    assert rows["LUMI-G"].capacity == Decimal("317952.00")  # 20 nodes x 4 GPUs x 4,416 h x 0.9
    assert rows["LUMI-G"].union_quota == GPU_QUOTA
    assert rows["LUMI-C"].capacity == Decimal("31795.20")  # 8 nodes x 1 x 4,416 h x 0.9
    assert rows["LUMI-C"].union_quota == CPU_QUOTA


def test_period_quota_in_core_hours_counts_cores(lumi):
    PartitionFactory(
        machine=lumi, name="LUMI-C cores", kind="cpu", nodes=2, cores_per_node=128, accounting_unit="core_hours"
    )
    period = AllocationPeriodFactory(machine=lumi, start=date(2026, 7, 1), end=date(2026, 7, 31))
    quota = PartitionQuota.objects.get(period=period)
    assert quota.capacity == Decimal("171417.60")  # 2 x 128 x 744 h x 0.9
    assert quota.union_quota == Decimal("85708.80")


def test_partition_added_later_gets_its_quota_in_existing_periods(period, lumi):
    partition = PartitionFactory(machine=lumi, name="LUMI-D", kind="gpu", nodes=1, gpus_per_node=8)
    assert PartitionQuota.objects.get(period=period, partition=partition).union_quota == Decimal("15897.60")


def test_period_refused_when_overlapping(period, lumi):
    with pytest.raises(StateConflict) as refused:
        period_create(machine=lumi, name="2027-H1", start=date(2026, 12, 1), end=date(2027, 5, 31), actor=None)
    assert refused.value.message == (
        "Allocation periods of a machine do not overlap: 2026-12-01 to 2027-05-31 overlaps 2026-H2 "
        "(2026-07-01 to 2026-12-31)."
    )


def test_period_refused_without_agreement_in_force():
    machine = MachineFactory(name="Vega", machine_class="mid_range", eu_share_of_tco=Decimal("0.35"))
    with pytest.raises(StateConflict) as refused:
        period_create(machine=machine, name="2026-H2", start=date(2026, 7, 1), end=date(2026, 12, 31), actor=None)
    assert refused.value.message == (
        "Vega has no hosting agreement in force on 2026-07-01: record it first, it fixes the Union's access share."
    )


def test_period_refused_when_ending_before_start(lumi):
    with pytest.raises(RuleViolation) as refused:
        period_create(machine=lumi, name="x", start=date(2026, 7, 1), end=date(2026, 6, 30), actor=None)
    assert refused.value.message == "An allocation period ends on or after its start: 2026-07-01 to 2026-06-30."


def test_quota_positions_sum_allocations_per_partition(period, lumi_g, lumi_c):
    AllocationFactory(partition=lumi_g, period=period, amount=Decimal("1000.50"))
    AllocationFactory(partition=lumi_g, period=period, amount=Decimal("2000.00"))
    AllocationFactory(partition=lumi_c, period=period, amount=Decimal("300.00"))
    rows = {r.partition.name: r for r in quota_positions(periods=[period])}
    assert (rows["LUMI-G"].allocated, rows["LUMI-G"].remaining) == (Decimal("3000.50"), GPU_QUOTA - Decimal("3000.50"))
    assert (rows["LUMI-C"].allocated, rows["LUMI-C"].used) == (Decimal("300.00"), Decimal("0"))


# --- projects ------------------------------------------------------------------------------------------------------


def test_project_codes_count_per_year_mode_and_cut_off(applicant, organisation):
    def make(mode, user_type="sme", months=3, cut_off=1, starts_on=date(2026, 3, 1)):
        return project_create(
            title="t",
            pi=applicant,
            organisation=organisation,
            user_type=user_type,
            access_mode=mode,
            starts_on=starts_on,
            duration_months=months,
            cut_off=cut_off,
            actor=None,
        ).code

    assert make("playground") == "EHPC-AIF-2026PG01-0001"
    assert make("playground") == "EHPC-AIF-2026PG01-0002"
    assert make("fast_lane") == "EHPC-AIF-2026FL01-0001"
    assert make("large_scale", months=6, cut_off=2) == "EHPC-AIF-2026LS02-0001"
    assert make("ai_for_science", starts_on=date(2027, 1, 1)) == "EHPC-AIF-2027AS01-0001"


def test_project_access_ends_the_day_before_the_months_are_over(applicant, organisation):
    project = UserProjectFactory(
        pi=applicant, organisation=organisation, starts_on=date(2026, 1, 31), duration_months=1
    )
    assert project.ends_on == date(2026, 2, 27)


@pytest.mark.parametrize(
    ("user_type", "mode", "months", "message"),
    [
        (
            "academia",
            "playground",
            2,
            "Playground access is only for startups and SMEs; this project's user type is academia.",
        ),
        (
            "industry",
            "playground",
            2,
            "Playground access is only for startups and SMEs; this project's user type is industry.",
        ),
        ("startup", "playground", 4, "Playground access lasts 1 to 3 months, got 4."),
        ("academia", "large_scale", 4, "Large Scale access lasts 3, 6 or 12 months, got 4."),
        ("academia", "fast_lane", 37, "A project lasts 1 to 36 months, got 37."),
    ],
)
def test_project_refused_by_access_mode_rules(applicant, organisation, user_type, mode, months, message):
    with pytest.raises(RuleViolation) as refused:
        project_create(
            title="t",
            pi=applicant,
            organisation=organisation,
            user_type=user_type,
            access_mode=mode,
            starts_on=date(2026, 7, 1),
            duration_months=months,
            actor=None,
        )
    assert refused.value.message == message
    assert not UserProject.objects.exists()


@pytest.mark.parametrize(("user_type", "months"), [("startup", 1), ("sme", 3)])
def test_project_playground_accepted_for_startups_and_smes(applicant, organisation, user_type, months):
    project = UserProjectFactory(
        pi=applicant, organisation=organisation, user_type=user_type, access_mode="playground", duration_months=months
    )
    assert project.code == "EHPC-AIF-2026PG01-0001"


def test_project_playground_rules_hold_in_database(applicant, organisation):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserProject.objects.create(
            code="EHPC-AIF-2026PG01-0001",
            title="t",
            pi=applicant,
            organisation=organisation,
            user_type="academia",
            access_mode="playground",
            starts_on=date(2026, 7, 1),
            duration_months=2,
            ends_on=date(2026, 8, 31),
        )


# --- allocations ---------------------------------------------------------------------------------------------------


def test_allocation_create_records_audit_event(period, lumi_g, programme_officer):
    project = UserProjectFactory()
    allocation = allocation_create(
        project=project,
        partition=lumi_g,
        period=period,
        amount=Decimal("1234.50"),
        slurm_account="project_465000001",
        actor=programme_officer,
    )
    event = AuditEvent.objects.get(verb="allocation.create")
    assert event.target_id == str(allocation.pk)
    assert event.changes["amount"] == "1234.50"
    assert event.changes["union_quota"] == "158976.00"
    assert event.actor == programme_officer


def test_allocation_refused_over_union_quota(period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, amount=Decimal("150000.00"))
    project = UserProjectFactory()
    with pytest.raises(LimitExceeded) as refused:
        allocation_create(
            project=project,
            partition=lumi_g,
            period=period,
            amount=Decimal("10000.00"),
            slurm_account="project_465000002",
            actor=None,
        )
    assert refused.value.message == (
        "The Union quota of LUMI LUMI-G in 2026-H2 would be exceeded by 1,024.00 GPU-hours: quota 158,976.00 "
        "GPU-hours, allocated 150,000.00 GPU-hours, remaining 8,976.00 GPU-hours, asked 10,000.00 GPU-hours."
    )
    assert refused.value.code == "quota_exceeded"
    assert Allocation.objects.count() == 1


def test_allocation_may_take_the_whole_remaining_quota(period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, amount=Decimal("150000.00"))
    allocation = AllocationFactory(partition=lumi_g, period=period, amount=GPU_QUOTA - Decimal("150000.00"))
    assert allocation.amount == Decimal("8976.00")


def test_allocation_fast_lane_refused_above_50000_gpu_hours(period, lumi_g):
    project = UserProjectFactory(access_mode="fast_lane", duration_months=3)
    with pytest.raises(LimitExceeded) as refused:
        allocation_create(
            project=project,
            partition=lumi_g,
            period=period,
            amount=Decimal("50000.01"),
            slurm_account="project_465000003",
            actor=None,
        )
    assert refused.value.message == (
        "Fast Lane projects get at most 50,000 GPU-hours: EHPC-AIF-2026FL01-0001 holds 0.00, this allocation of "
        "50,000.01 would bring it to 50,000.01, 0.01 over."
    )


def test_allocation_fast_lane_counts_gpu_hours_of_every_period(period, lumi, lumi_g):
    later = AllocationPeriodFactory(machine=lumi, name="2027-H1", start=date(2027, 1, 1), end=date(2027, 6, 30))
    project = UserProjectFactory(access_mode="fast_lane", duration_months=12)
    AllocationFactory(project=project, partition=lumi_g, period=period, amount=Decimal("30000"))
    with pytest.raises(LimitExceeded) as refused:
        AllocationFactory(project=project, partition=lumi_g, period=later, amount=Decimal("25000"))
    assert refused.value.message == (
        "Fast Lane projects get at most 50,000 GPU-hours: EHPC-AIF-2026FL01-0001 holds 30,000.00, this allocation "
        "of 25,000.00 would bring it to 55,000.00, 5,000.00 over."
    )


def test_allocation_fast_lane_node_hours_do_not_count_as_gpu_hours(period, lumi_g, lumi_c):
    project = UserProjectFactory(access_mode="fast_lane", duration_months=3)
    AllocationFactory(project=project, partition=lumi_g, period=period, amount=Decimal("50000"))
    assert AllocationFactory(project=project, partition=lumi_c, period=period, amount=Decimal("5000")).pk


def test_allocation_large_scale_refused_at_50000_gpu_hours(period, lumi_g):
    project = UserProjectFactory(access_mode="large_scale", duration_months=6)
    with pytest.raises(RuleViolation) as refused:
        allocation_create(
            project=project,
            partition=lumi_g,
            period=period,
            amount=Decimal("50000.00"),
            slurm_account="project_465000004",
            actor=None,
        )
    assert refused.value.message == (
        "Large Scale projects get more than 50,000 GPU-hours: EHPC-AIF-2026LS01-0001 holds 0.00, this allocation of "
        "50,000.00 would bring it to 50,000.00."
    )


def test_allocation_large_scale_accepted_above_50000_gpu_hours(period, lumi_g):
    project = UserProjectFactory(access_mode="large_scale", duration_months=6)
    assert AllocationFactory(project=project, partition=lumi_g, period=period, amount=Decimal("50000.01")).pk


def test_allocation_industry_refused_above_20_percent_of_union_quota(period, lumi_g):
    AllocationFactory(
        project=UserProjectFactory(user_type="industry", access_mode="fast_lane", duration_months=3),
        partition=lumi_g,
        period=period,
        amount=Decimal("30000"),
    )
    AllocationFactory(partition=lumi_g, period=period, amount=Decimal("50000"))  # academia: not pay-per-use
    industry = UserProjectFactory(user_type="industry", access_mode="ai_for_science")
    with pytest.raises(LimitExceeded) as refused:
        allocation_create(
            project=industry,
            partition=lumi_g,
            period=period,
            amount=Decimal("2000"),
            slurm_account="project_465000005",
            actor=None,
        )
    assert refused.value.message == (
        "Industry and commercial access is capped at 20% of the Union quota of LUMI LUMI-G in 2026-H2 (31,795.20 "
        "GPU-hours) and would be exceeded by 204.80 GPU-hours: industry and commercial projects hold 30,000.00 "
        "GPU-hours, asked 2,000.00 GPU-hours."
    )


def test_allocation_refused_for_partition_of_another_machine(period, other_machine):
    booster = other_machine.partitions.get()
    with pytest.raises(RuleViolation) as refused:
        allocation_create(
            project=UserProjectFactory(),
            partition=booster,
            period=period,
            amount=Decimal("10"),
            slurm_account="acct",
            actor=None,
        )
    assert refused.value.message == (
        "The partition Leonardo Booster and the period LUMI 2026-H2 belong to different machines."
    )


def test_allocation_refused_outside_project_access(period, lumi_g):
    project = UserProjectFactory(starts_on=date(2027, 1, 1), duration_months=6)
    with pytest.raises(RuleViolation) as refused:
        allocation_create(
            project=project, partition=lumi_g, period=period, amount=Decimal("10"), slurm_account="acct", actor=None
        )
    assert refused.value.message == (
        "EHPC-AIF-2027AS01-0001 has access from 2027-01-01 to 2027-06-30, outside the period 2026-H2 "
        "(2026-07-01 to 2026-12-31)."
    )


def test_allocation_refused_for_slurm_account_already_used(period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001")
    with pytest.raises(StateConflict) as refused:
        AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001")
    assert refused.value.message == (
        "The Slurm account 'project_465000001' already holds an allocation of LUMI LUMI-G in 2026-H2."
    )


@pytest.mark.parametrize(
    ("amount", "account", "message"),
    [
        (Decimal("0"), "acct", "An allocation is a positive amount, got 0.00."),
        (Decimal("1.001"), "acct", "An allocation has at most 2 decimals, got 1.001."),
        (
            Decimal("10"),
            "bad account",
            "'bad account' is not a Slurm account name: 1 to 64 letters, digits, '_', '.' or '-'.",
        ),
    ],
)
def test_allocation_refused_for_bad_input(period, lumi_g, amount, account, message):
    with pytest.raises(RuleViolation) as refused:
        allocation_create(
            project=UserProjectFactory(),
            partition=lumi_g,
            period=period,
            amount=amount,
            slurm_account=account,
            actor=None,
        )
    assert refused.value.message == message


def test_allocation_amount_check_constraint_holds_in_database(period, lumi_g):
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.create(
            project=UserProjectFactory(), partition=lumi_g, period=period, amount=Decimal("0"), slurm_account="acct"
        )


def test_agreement_links_the_grant_of_the_hosting_entity(applicant, programme_officer, finance_officer, freezer,
                                                          organisation):  # fmt: skip
    from tests.grants.factories import make_grant

    grant = make_grant(applicant=applicant, officer=programme_officer, freezer=freezer, actor=finance_officer)
    machine = MachineFactory(name="LUMI", hosting_entity=organisation)
    agreement = hosting_agreement_create(machine=machine, signed_on=date(2025, 3, 1), grant=grant, actor=None)
    assert agreement.grant == grant
    assert AuditEvent.objects.get(verb="hosting_agreement.create").changes["grant"] == grant.reference


def test_agreement_refuses_grant_of_another_entity(applicant, programme_officer, finance_officer, freezer,
                                                   other_organisation):  # fmt: skip
    from tests.grants.factories import make_grant

    grant = make_grant(applicant=applicant, officer=programme_officer, freezer=freezer, actor=finance_officer)
    machine = MachineFactory(name="Leonardo", hosting_entity=other_organisation)
    with pytest.raises(RuleViolation) as refused:
        hosting_agreement_create(machine=machine, signed_on=date(2025, 3, 1), grant=grant, actor=None)
    assert refused.value.message == (
        f"The grant {grant.reference} goes to CSC, not to Leonardo's hosting entity CINECA."
    )
