"""Alerts at 75%, 90% and 100% of an allocation, once per threshold; the burn-rate forecast."""

import io
from datetime import date
from decimal import Decimal

import pytest

from eurohpc.models import Notification, Role
from hosting.models import AllocationAlert, UsageImport
from hosting.selectors import allocation_list, burn_forecast
from hosting.services import usage_import_create
from tests.factories import UserFactory
from tests.hosting.factories import AllocationFactory, UserProjectFactory, sacct_file, sacct_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def pi(db):
    return UserFactory(username="pi-kide", email="liisa@kide.example")


@pytest.fixture
def allocation(period, lumi_g, pi):
    project = UserProjectFactory(pi=pi, title="Small language model")
    return AllocationFactory(
        project=project, partition=lumi_g, period=period, slurm_account="project_465000001", amount=Decimal("100")
    )


def jobs(first: int, count: int, day: str = "2026-09-01") -> bytes:
    """`count` jobs of 16 GPU-hours each."""
    return sacct_file(*[sacct_line(str(first + n), end=f"{day}T12:00:00") for n in range(count)])


def run_import(machine, data: bytes):
    return usage_import_create(
        machine=machine, stream=io.BytesIO(data), file_name="sacct.txt", source=UsageImport.Source.COMMAND, actor=None
    )


def fired(allocation) -> list[int]:
    return sorted(AllocationAlert.objects.filter(allocation=allocation).values_list("threshold", flat=True))


def test_alert_fires_once_per_threshold(lumi, allocation, programme_officer):
    run_import(lumi, jobs(1000, 4))  # 64%
    assert fired(allocation) == []
    run_import(lumi, jobs(1000, 5))  # 80%
    assert fired(allocation) == [75]
    run_import(lumi, jobs(1000, 5))  # the same file again: nothing new
    run_import(lumi, jobs(1010, 1))  # 96%
    assert fired(allocation) == [75, 90]
    run_import(lumi, jobs(1020, 1))  # 112%
    assert fired(allocation) == [75, 90, 100]
    subjects = list(
        Notification.objects.filter(recipient=programme_officer).order_by("pk").values_list("subject", flat=True)
    )
    assert subjects == [
        "EHPC-AIF-2026AS01-0001: 75% of the LUMI LUMI-G allocation used",
        "EHPC-AIF-2026AS01-0001: 90% of the LUMI LUMI-G allocation used",
        "EHPC-AIF-2026AS01-0001: 100% of the LUMI LUMI-G allocation used",
    ]


def test_alert_crossing_several_thresholds_at_once_notifies_once(lumi, allocation, pi, programme_officer):
    other_officer = UserFactory(username="officer2", roles=[Role.PROGRAMME_OFFICER])
    UserFactory(username="finance", roles=[Role.FINANCE_OFFICER])
    run_import(lumi, jobs(1000, 7))  # 112%
    assert fired(allocation) == [75, 90, 100]
    notifications = Notification.objects.order_by("recipient__username")
    assert [n.recipient.username for n in notifications] == ["officer", "officer2", "pi-kide"]
    assert {n.subject for n in notifications} == {"EHPC-AIF-2026AS01-0001: 100% of the LUMI LUMI-G allocation used"}
    assert notifications[0].body.split("\n\n")[:3] == [
        "The allocation of EHPC-AIF-2026AS01-0001 (Small language model) on LUMI LUMI-G in 2026-H2 has used "
        "112.00 GPU-hours of 100.00 GPU-hours, passing 100%.",
        "Slurm account: project_465000001.",
        "The allocation is used up.",
    ]
    assert other_officer.notifications.count() == 1


def test_alert_threshold_recorded_once_in_database(lumi, allocation):
    from django.db import IntegrityError, transaction

    run_import(lumi, jobs(1000, 5))
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationAlert.objects.create(allocation=allocation, threshold=75, used=Decimal("80"))


@pytest.mark.parametrize(
    ("amount", "used", "recent", "expected"),
    [
        ("1000", "400", "140", date(2026, 11, 13)),  # 10 a day, 600 left: 60 days
        ("1000", "0", "42", date(2027, 8, 14)),  # 3 a day, 1,000 left: 333.3, so 334 days
        ("1000", "999", "14", date(2026, 9, 15)),  # 1 a day, 1 left: the next day
    ],
)
def test_burn_forecast_gives_exhaustion_date_at_14_day_rate(amount, used, recent, expected):
    forecast = burn_forecast(
        amount=Decimal(amount), used=Decimal(used), recent=Decimal(recent), as_of=date(2026, 9, 14)
    )
    assert (forecast.exhausted, forecast.runs_out_on) == (False, expected)


def test_burn_forecast_exhausted_and_idle():
    as_of = date(2026, 9, 14)
    assert burn_forecast(amount=Decimal(10), used=Decimal(10), recent=Decimal(5), as_of=as_of).exhausted
    idle = burn_forecast(amount=Decimal(10), used=Decimal(5), recent=Decimal(0), as_of=as_of)
    assert (idle.exhausted, idle.runs_out_on, idle.idle) == (False, None, True)


def test_allocation_forecast_uses_last_14_days_of_imported_usage(lumi, period, lumi_g, programme_officer):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="acct", amount=Decimal("1000"))
    days = ["2026-08-31"] + [f"2026-09-{d:02d}" for d in range(1, 15)]  # 15 days of 16 GPU-hours
    run_import(
        lumi,
        sacct_file(*[sacct_line(str(2000 + n), account="acct", end=f"{day}T12:00:00") for n, day in enumerate(days)]),
    )
    [row] = allocation_list(user=programme_officer, as_of=date(2026, 9, 14))
    assert (row.used, row.recent, row.used_percent) == (Decimal("240"), Decimal("224"), Decimal("24.0"))
    assert row.forecast.daily_rate == Decimal("16.0000")
    assert row.forecast.runs_out_on == date(2026, 11, 1)  # 760 left at 16 a day: 47.5, so 48 days
    assert row.runs_out_before_period_end is True
