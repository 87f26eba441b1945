"""On PostgreSQL, simultaneous writers never take more than the quota, nor count a job twice."""

import io
import time
from decimal import Decimal

import pytest

from eurohpc.errors import LimitExceeded
from hosting.models import Allocation, UsageDaily, UsageImport, UsageRecord
from hosting.services import allocation_create, usage_import_create
from hosting.services import projects as project_services
from tests.conftest import race, requires_postgresql
from tests.hosting.factories import GPU_QUOTA, AllocationFactory, UserProjectFactory, sacct_file, sacct_line

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


def test_concurrent_allocations_never_exceed_the_union_quota(period, lumi_g, monkeypatch):
    AllocationFactory(partition=lumi_g, period=period, amount=Decimal("150000.00"))  # 8,976.00 remain
    projects = [UserProjectFactory() for _ in range(4)]
    slow_sum = project_services._sum

    def sum_then_pause(queryset):  # widen the window between reading the allocated total and writing
        total = slow_sum(queryset)
        time.sleep(0.2)
        return total

    monkeypatch.setattr(project_services, "_sum", sum_then_pause)
    results, refused = race(
        *[
            lambda p=p, n=n: allocation_create(
                project=p,
                partition=lumi_g,
                period=period,
                amount=Decimal("5000.00"),
                slurm_account=f"race_{n}",
                actor=None,
            )
            for n, p in enumerate(projects)
        ]
    )
    created = [r for r in results if isinstance(r, Allocation)]
    assert (len(created), len(refused)) == (1, 3)
    assert all(isinstance(e, LimitExceeded) for e in refused), refused
    assert refused[0].message == (
        "The Union quota of LUMI LUMI-G in 2026-H2 would be exceeded by 1,024.00 GPU-hours: quota 158,976.00 "
        "GPU-hours, allocated 155,000.00 GPU-hours, remaining 3,976.00 GPU-hours, asked 5,000.00 GPU-hours."
    )
    total = sum(Allocation.objects.filter(partition=lumi_g, period=period).values_list("amount", flat=True))
    assert total == Decimal("155000.00") <= GPU_QUOTA


def test_concurrent_imports_of_the_same_file_count_each_job_once(lumi, period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001", amount=Decimal("100000"))
    data = sacct_file(*[sacct_line(str(5000 + n)) for n in range(200)])
    results, errors = race(
        *[
            lambda: usage_import_create(
                machine=lumi, stream=io.BytesIO(data), file_name="a.txt", source=UsageImport.Source.API, actor=None
            )
            for _ in range(3)
        ]
    )
    assert errors == []
    assert sorted(r.imported for r in results) == [0, 0, 200]
    assert UsageRecord.objects.count() == 200
    assert UsageDaily.objects.get().amount == Decimal("3200.0000")
