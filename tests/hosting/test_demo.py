"""The demo data: machines with agreements, the current period, projects in every access mode, real usage."""

from datetime import date

import pytest

from eurohpc.seed import demo as core_demo
from hosting.models import Allocation, AllocationAlert, HostingAgreement, Machine, UsageRecord, UserProject
from hosting.seed import demo
from hosting.selectors import operator_overview

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: date(2026, 11, 26))
    lines: list[str] = []
    core_demo.seed(out=lines.append)
    demo.seed(out=lines.append)
    return lines


def test_demo_seeds_quotas_projects_and_usage(seeded):
    assert HostingAgreement.objects.count() == Machine.objects.exclude(eu_share_of_tco=None).count()
    assert set(UserProject.objects.values_list("access_mode", flat=True)) == set(UserProject.AccessMode.values)
    assert set(UserProject.objects.values_list("user_type", flat=True)) == set(UserProject.UserType.values)
    lumi = Machine.objects.get(name="LUMI")
    assert (lumi.slurm_cluster, lumi.time_zone) == ("lumi", "Europe/Helsinki")
    assert UsageRecord.objects.filter(machine=lumi).count() == 468  # the shipped sample's chargeable jobs
    assert AllocationAlert.objects.filter(allocation__partition__machine=lumi).exists()
    assert Allocation.objects.filter(period__start=date(2026, 7, 1)).count() == Allocation.objects.count()


def test_demo_operator_sees_lumi_quota_with_usage(seeded):
    from eurohpc.models import User

    rows = operator_overview(user=User.objects.get(username="operator"), on=date(2026, 11, 26))
    assert [r["machine"].name for r in rows] == ["LUMI", "LUMI-AI"]  # LUMI-AI is still in procurement
    row = rows[0]
    assert row["period"].name == "2026-H2"
    assert all(position.used > 0 for position in row["positions"])


def test_demo_seed_twice_adds_nothing(seeded):
    counts = (UserProject.objects.count(), Allocation.objects.count(), UsageRecord.objects.count())
    lines: list[str] = []
    demo.seed(out=lines.append)
    assert (UserProject.objects.count(), Allocation.objects.count(), UsageRecord.objects.count()) == counts
    assert "usage: 0 jobs imported (9 machines already had usage)" in lines
    assert "allocations: 0 created" in lines
