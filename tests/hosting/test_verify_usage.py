"""The usage consistency check (`manage.py verify_usage`): job rows against their references, the charge rule
and the daily aggregates."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from hosting.models import UsageDaily, UsageImport, UsageRecord
from hosting.selectors import usage_consistency_report
from hosting.services import usage_import_create
from tests.hosting.factories import (
    AllocationFactory,
    sacct_file,
    sacct_line,
    usage_row_insert,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def allocation(period, lumi_g):
    return AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001", amount=Decimal("1e4"))


def _import(machine, *lines):
    return usage_import_create(machine=machine, stream=io.BytesIO(sacct_file(*lines)), file_name="sacct.txt",
                               source=UsageImport.Source.COMMAND, actor=None)  # fmt: skip


def _insert(record, **changes):
    with connection.cursor() as cursor:
        cursor.execute(*usage_row_insert(record, **changes))


def _verify(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_usage", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_verify_usage_after_imports_is_ok(lumi, allocation):
    _import(lumi, sacct_line("1001"), sacct_line("1002", end="2026-09-02T12:00:00"), sacct_line("1003"))
    assert _verify() == (0, "OK: all machines, 3 jobs and 2 daily aggregates consistent.\n", "")
    assert _verify("--machine", "LUMI") == (0, "OK: LUMI, 3 jobs and 2 daily aggregates consistent.\n", "")


def test_verify_usage_names_a_daily_aggregate_that_differs(lumi, allocation):
    _import(lumi, sacct_line("1001"), sacct_line("1002"))
    UsageDaily.objects.update(amount=Decimal("30.0000"))
    code, out, err = _verify()
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "INCONSISTENT: all machines, 2 jobs, 1 daily aggregates:",
        f"  allocation {allocation.pk}, day 2026-09-01: daily aggregate 30.0000 (2 jobs), job rows 32.0000 (2 jobs).",
    ]


def test_verify_usage_names_a_job_charged_against_the_rule_and_without_aggregate(lumi, allocation):
    _import(lumi, sacct_line("1001"))
    _insert(UsageRecord.objects.get(), charge=Decimal("17.0000"), day=date(2026, 9, 3))
    report = usage_consistency_report()
    assert (report.jobs, report.daily) == (2, 1)
    assert report.problems == [
        f"job 2002 on machine {lumi.pk}: charge 17.0000, the rule gives 16.0000.",
        f"allocation {allocation.pk}, day 2026-09-03: no daily aggregate, job rows 17.0000 (1 jobs).",
    ]


def test_verify_usage_names_allocation_of_another_machine_and_day_outside_its_period(
    lumi, allocation, other_machine, period
):
    _import(lumi, sacct_line("1001"))
    record = UsageRecord.objects.get()
    elsewhere = AllocationFactory(partition=other_machine.partitions.get(), period=other_machine.periods.get())
    _insert(record, allocation_id=elsewhere.pk)
    _insert(record, job_id_raw="2003", job_id="2003", day=date(2027, 1, 1))
    problems = usage_consistency_report(machine=lumi).problems
    assert problems[:2] == [
        f"job 2002 on machine {lumi.pk}: allocation {elsewhere.pk} is on machine {other_machine.pk}.",
        f"job 2003 on machine {lumi.pk}: day 2027-01-01 lies outside period {period.name} ({period.start} to "
        f"{period.end}) of allocation {allocation.pk}.",
    ]


def test_verify_usage_refuses_unknown_machine(lumi):
    with pytest.raises(CommandError) as refused:
        call_command("verify_usage", "--machine", "LUMl", stdout=io.StringIO())
    assert str(refused.value) == "No machine named 'LUMl'. Machines: LUMI."


@pytest.mark.parametrize("jobs", [1, 30])
def test_usage_consistency_report_query_count_is_constant(lumi, allocation, django_assert_num_queries, jobs):
    _import(lumi, *[sacct_line(str(5000 + n), end=f"2026-09-{1 + n % 20:02d}T12:00:00") for n in range(jobs)])
    with django_assert_num_queries(4):
        report = usage_consistency_report(machine=lumi)
    assert (report.ok, report.jobs) == (True, jobs)
