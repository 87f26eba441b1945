"""Importing Slurm usage: charges, skips, idempotence, atomic refusal, reporting, entry points."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from eurohpc.models import AuditEvent
from hosting.models import UsageDaily, UsageImport, UsageRecord
from hosting.sacct import UsageFileError
from hosting.services import usage_import_create, usage_import_submit
from tests.conftest import requires_postgresql
from tests.hosting.factories import (
    AllocationFactory,
    AllocationPeriodFactory,
    PartitionFactory,
    UserProjectFactory,
    sacct_file,
    sacct_line,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("write_path")]

FIXTURE = Path(__file__).parent / "data" / "sacct-lumi.txt"


@pytest.fixture(params=["straight", "staged"])
def write_path(request, monkeypatch):
    """Every import test runs on both ways of writing: straight into the usage table (PostgreSQL, a file of new
    jobs) and through the staging table (a file that starts with known jobs; always on SQLite)."""
    if request.param == "staged":
        monkeypatch.setattr("hosting.services.usage._imported_before", lambda machine, stream: True)
    return request.param


@pytest.fixture
def gpu_allocation(period, lumi_g):
    return AllocationFactory(
        partition=lumi_g, period=period, slurm_account="project_465000001", amount=Decimal("10000")
    )


@pytest.fixture
def cpu_allocation(period, lumi_c):
    return AllocationFactory(partition=lumi_c, period=period, slurm_account="project_465000002", amount=Decimal("500"))


def run_import(machine, data: bytes, actor=None):
    return usage_import_create(
        machine=machine, stream=io.BytesIO(data), file_name="sacct.txt", source=UsageImport.Source.COMMAND, actor=actor
    )


def test_import_realistic_file_counts_every_kind_of_line(lumi, gpu_allocation, cpu_allocation):
    usage_import = run_import(lumi, FIXTURE.read_bytes())
    assert (
        usage_import.status,
        usage_import.lines,
        usage_import.imported,
        usage_import.skipped,
        usage_import.unmapped,
        usage_import.already_imported,
    ) == ("done", 14, 4, 7, 3, 0)
    assert usage_import.charged == Decimal("1561.5000")
    assert usage_import.summary["skipped"] == {
        "job step": 4,
        "pending": 1,
        "not ended (End=Unknown)": 1,
        "never ran (ElapsedRaw=0)": 1,
    }
    assert usage_import.summary["unknown_accounts"] == [
        {"account": "project_465000777", "partition": "LUMI-G", "jobs": 1, "charge": "32.0000"}
    ]
    assert usage_import.summary["unknown_partitions"] == [{"partition": "eap", "jobs": 1}]
    assert usage_import.summary["outside_periods"] == 1
    charges = dict(UsageRecord.objects.values_list("job_id", "charge"))
    assert charges == {
        "4001": Decimal("1536.0000"),
        "4002_1": Decimal("1.0000"),
        "4002_2": Decimal("0.5000"),
        "4005": Decimal("24.0000"),
    }


def test_import_charges_gpu_hours_from_alloc_tres(lumi, gpu_allocation):
    run_import(lumi, sacct_file(sacct_line("1001", elapsed=5400, nodes=2, tres="cpu=112,gres/gpu=16,node=2")))
    record = UsageRecord.objects.get()
    assert (record.gpus, record.nodes, record.charge, record.allocation) == (16, 2, Decimal("24.0000"), gpu_allocation)


def test_import_charges_node_hours_on_cpu_partition(lumi, cpu_allocation):
    run_import(
        lumi,
        sacct_file(
            sacct_line(
                "1001",
                partition="small",
                elapsed=5400,
                nodes=3,
                cpus=384,
                account="project_465000002",
                tres="cpu=384,node=3",
            )
        ),
    )
    assert UsageRecord.objects.get().charge == Decimal("4.5000")


def test_import_charges_core_hours_where_partition_counts_cores(lumi, period):
    cores = PartitionFactory(
        machine=lumi,
        name="LUMI-C cores",
        kind="cpu",
        nodes=4,
        cores_per_node=128,
        accounting_unit="core_hours",
        slurm_partitions="largemem",
    )
    AllocationFactory(partition=cores, period=period, slurm_account="acct_cores", amount=Decimal("1000"))
    run_import(
        lumi,
        sacct_file(
            sacct_line(
                "1001",
                partition="largemem",
                account="acct_cores",
                elapsed=1800,
                nodes=2,
                cpus=256,
                tres="cpu=256,node=2",
            )
        ),
    )
    assert UsageRecord.objects.get().charge == Decimal("128.0000")


def test_import_again_adds_nothing(lumi, gpu_allocation, cpu_allocation):
    first = run_import(lumi, FIXTURE.read_bytes())
    again = run_import(lumi, FIXTURE.read_bytes())
    assert (first.imported, again.imported, again.already_imported, again.charged) == (4, 0, 4, Decimal("0"))
    assert UsageRecord.objects.count() == 4
    assert sum(UsageDaily.objects.values_list("amount", flat=True)) == Decimal("1561.5000")


def test_import_overlapping_file_adds_only_new_jobs(lumi, gpu_allocation):
    run_import(lumi, sacct_file(sacct_line("1001"), sacct_line("1002")))
    second = run_import(lumi, sacct_file(sacct_line("1002"), sacct_line("1003")))
    assert (second.imported, second.already_imported) == (1, 1)
    assert UsageDaily.objects.get().amount == Decimal("48.0000")
    assert UsageDaily.objects.get().jobs == 3


def test_import_counts_job_listed_twice_in_file_once(lumi, gpu_allocation):
    usage_import = run_import(lumi, sacct_file(sacct_line("1001"), sacct_line("1001")))
    assert (usage_import.imported, usage_import.already_imported) == (1, 1)


def test_import_refuses_file_with_bad_line_5000_and_writes_nothing(lumi, gpu_allocation):
    lines = [sacct_line(str(10000 + n)) for n in range(4998)] + [sacct_line("19999", elapsed="oops")]
    with pytest.raises(UsageFileError) as refused:
        run_import(lumi, sacct_file(*lines))
    assert refused.value.line == 5000
    assert refused.value.message == "Line 5000: ElapsedRaw is not a whole number: 'oops'."
    assert not UsageRecord.objects.exists()
    assert not UsageDaily.objects.exists()
    assert not UsageImport.objects.exists()
    assert not AuditEvent.objects.filter(verb="usage.import").exists()


def test_import_charges_period_containing_end(lumi, gpu_allocation):
    run_import(lumi, sacct_file(sacct_line("1001", start="2026-06-30T22:00:00", end="2026-07-01T00:00:00")))
    assert UsageRecord.objects.get().day == date(2026, 7, 1)


def test_import_reads_times_in_machine_time_zone(lumi, gpu_allocation):
    usage_import = run_import(
        lumi,
        sacct_file(
            sacct_line("1001", start="2026-12-31T21:30:00", end="2026-12-31T23:30:00"),
            sacct_line("1002", start="2026-12-31T23:00:00", end="2027-01-01T00:30:00", elapsed=5400),
        ),
    )
    record = UsageRecord.objects.get()
    assert record.ended_at == datetime(2026, 12, 31, 21, 30, tzinfo=UTC)  # Helsinki is UTC+2 in winter
    assert record.day == date(2026, 12, 31)
    assert usage_import.summary["outside_periods"] == 1


def test_import_refuses_file_of_another_cluster(lumi, gpu_allocation):
    with pytest.raises(UsageFileError) as refused:
        run_import(lumi, sacct_file(sacct_line("1001", cluster="leonardo")))
    assert refused.value.message == "Line 2: Cluster 'leonardo' is not this machine's Slurm cluster 'lumi'."


def test_import_charges_the_allocation_of_the_period_containing_end(lumi, lumi_g, period):
    later = AllocationPeriodFactory(machine=lumi, name="2027-H1", start=date(2027, 1, 1), end=date(2027, 6, 30))
    project = UserProjectFactory(duration_months=12)
    this_allocation, next_allocation = (
        AllocationFactory(project=project, partition=lumi_g, period=p, slurm_account="project_465000001")
        for p in (period, later)
    )
    run_import(
        lumi, sacct_file(sacct_line("1001", end="2026-12-31T12:00:00"), sacct_line("1002", end="2027-01-02T12:00:00"))
    )
    assert dict(UsageRecord.objects.values_list("job_id", "allocation")) == {
        "1001": this_allocation.pk,
        "1002": next_allocation.pk,
    }


def test_import_records_audit_event_with_counts(lumi, gpu_allocation, hosting_operator):
    usage_import = run_import(lumi, sacct_file(sacct_line("1001")), actor=hosting_operator)
    event = AuditEvent.objects.get(verb="usage.import")
    assert event.target_id == str(usage_import.pk)
    assert event.actor == hosting_operator
    assert (event.changes["imported"], event.changes["charged"]) == (1, "16.0000")


def test_import_keeps_daily_aggregates_equal_to_job_charges(lumi, gpu_allocation):
    run_import(
        lumi,
        sacct_file(
            *[
                sacct_line(str(1000 + n), end=f"2026-09-{1 + n % 5:02d}T12:00:00", elapsed=600 * (n + 1))
                for n in range(20)
            ]
        ),
    )
    per_day = {d.day: d.amount for d in UsageDaily.objects.all()}
    assert len(per_day) == 5
    assert sum(per_day.values()) == sum(UsageRecord.objects.values_list("charge", flat=True))


def test_large_import_is_queued_and_run_by_task(
    lumi, gpu_allocation, hosting_operator, monkeypatch, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    monkeypatch.setattr("hosting.services.usage.SYNC_IMPORT_MAX_BYTES", 100)
    with django_capture_on_commit_callbacks(execute=True):
        usage_import = usage_import_submit(
            machine=lumi,
            stream=io.BytesIO(FIXTURE.read_bytes()),
            file_name="big.txt",
            source="api",
            actor=hosting_operator,
        )
    assert usage_import.status == UsageImport.Status.QUEUED
    usage_import.refresh_from_db()
    assert (usage_import.status, usage_import.imported, usage_import.file.name) == ("done", 3, "")
    assert list(tmp_path.rglob("*.txt")) == []


def test_large_import_with_bad_line_is_marked_refused(
    lumi, gpu_allocation, monkeypatch, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    monkeypatch.setattr("hosting.services.usage.SYNC_IMPORT_MAX_BYTES", 10)
    data = sacct_file(sacct_line("1001"), sacct_line("1002", end="soon"))
    with django_capture_on_commit_callbacks(execute=True):
        usage_import = usage_import_submit(
            machine=lumi, stream=io.BytesIO(data), file_name="big.txt", source="api", actor=None
        )
    usage_import.refresh_from_db()
    assert (usage_import.status, usage_import.error_line, usage_import.error) == (
        "failed",
        3,
        "End is not a date and time: 'soon'.",
    )
    assert not UsageRecord.objects.exists()


def test_import_usage_command_prints_counts(lumi, gpu_allocation, cpu_allocation):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_usage", "--machine", "LUMI", str(FIXTURE), stdout=out, stderr=err)
    assert out.getvalue().splitlines()[:2] == [
        "LUMI: 14 lines, 4 jobs imported (charging 1,561.5000), 0 already imported, 7 skipped, 3 not charged.",
        "  skipped, job step: 4",
    ]
    assert "  no allocation for account 'project_465000777' on LUMI-G: 1 job(s), 32.0000" in out.getvalue()
    assert "100% read (15 lines)" in err.getvalue()


def test_import_usage_command_refuses_malformed_file(lumi, lumi_g, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(sacct_file(sacct_line("1001", nodes="two")))
    with pytest.raises(CommandError) as refused:
        call_command("import_usage", "--machine", "LUMI", str(bad), stdout=io.StringIO(), stderr=io.StringIO())
    assert str(refused.value) == "Refused, nothing imported. Line 2: NNodes is not a whole number: 'two'."


def test_import_usage_command_refuses_unknown_machine(lumi):
    with pytest.raises(CommandError) as refused:
        call_command("import_usage", "--machine", "LUMl", str(FIXTURE), stdout=io.StringIO())
    assert str(refused.value) == "No machine named 'LUMl'. Machines: LUMI."


def test_import_keeps_backslashes_of_slurm_fields(lumi, gpu_allocation):
    run_import(lumi, sacct_file(sacct_line("1001", user="CORP\\aino")))
    assert UsageRecord.objects.get().slurm_user == "CORP\\aino"


def test_import_reads_times_written_with_an_offset(lumi, gpu_allocation):
    run_import(lumi, sacct_file(sacct_line("1001", start="2026-09-01T10:00:00+00:00", end="2026-09-01T22:30:00+00:00",
                                           elapsed=45000)))  # fmt: skip
    record = UsageRecord.objects.get()
    assert record.ended_at == datetime(2026, 9, 1, 22, 30, tzinfo=UTC)
    assert record.day == date(2026, 9, 2)  # 01:30 the next day in Helsinki


@requires_postgresql
def test_import_with_a_job_imported_before_after_the_first_lines_is_staged_again(lumi, gpu_allocation, monkeypatch):
    """The file's first jobs are new, so it goes straight into the usage table; a later job was imported before,
    so that copy is rolled back and the file staged: each job counts once, the aggregates stay exact."""
    run_import(lumi, sacct_file(sacct_line("1003")))
    monkeypatch.setattr("hosting.services.usage._PROBE_LINES", 2)  # the header and job 1001
    usage_import = run_import(lumi, sacct_file(sacct_line("1001"), sacct_line("1002"), sacct_line("1003")))
    assert (usage_import.imported, usage_import.already_imported, usage_import.charged) == (2, 1, Decimal("32.0000"))
    assert sorted(UsageRecord.objects.values_list("job_id", flat=True)) == ["1001", "1002", "1003"]
    assert UsageRecord.objects.get(job_id="1001").usage_import_id == usage_import.pk
    assert (UsageDaily.objects.get().amount, UsageDaily.objects.get().jobs) == (Decimal("48.0000"), 3)


@requires_postgresql
def test_import_reads_an_ambiguous_local_time_alike_straight_or_staged(lumi, gpu_allocation):
    """25 Oct 2026 03:30 happens twice in Helsinki (EEST, then EET): both write paths read it the same way."""
    straight = run_import(lumi, sacct_file(sacct_line("2001", start="2026-10-25T01:00:00", end="2026-10-25T03:30:00")))
    staged = run_import(
        lumi,
        sacct_file(
            sacct_line("2001", start="2026-10-25T01:00:00", end="2026-10-25T03:30:00"),  # imported before: staged
            sacct_line("2002", start="2026-10-25T01:00:00", end="2026-10-25T03:30:00"),
        ),
    )
    assert (straight.imported, staged.imported) == (1, 1)
    first, second = (UsageRecord.objects.get(job_id=job) for job in ("2001", "2002"))
    assert first.ended_at == second.ended_at
    assert first.started_at == second.started_at == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert first.day == second.day == date(2026, 10, 25)
