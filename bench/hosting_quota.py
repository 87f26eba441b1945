"""Quota pages with 2,000,000 usage rows: median time, queries, and the ratio to a trivial page in the same run.

The pages read the per-allocation daily aggregates, never the job rows, so their query count and time do not
grow with the usage table. Runs on a throw-away test database of DATABASE_URL (PostgreSQL: 2,000,000 job rows
written with generate_series; SQLite: BENCH_USAGE_ROWS, 100,000 by default).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_hosting .venv/bin/python bench/hosting_quota.py
"""

import os
import statistics
import sys
import time
import types
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eurohpc.settings")

import django

django.setup()

from django.conf import settings
from django.db import connection
from django.test.utils import setup_test_environment

ALLOCATIONS = 60
DEFAULT_ROWS = "2000000" if connection.vendor == "postgresql" else "100000"
ROWS = int(os.environ.get("BENCH_USAGE_ROWS", DEFAULT_ROWS))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))


def _urls() -> str:
    """The product's URLs plus a trivial page served the same way (middleware, session, base template)."""
    from django.contrib.auth.decorators import login_required
    from django.shortcuts import render
    from django.urls import include, path

    @login_required
    def trivial(request):
        return render(request, "base.html", {})

    module = types.ModuleType("hosting_bench_urls")
    module.urlpatterns = [path("bench/trivial/", trivial), path("", include("eurohpc.urls"))]
    sys.modules[module.__name__] = module
    return module.__name__


def build():
    from eurohpc.models import Role
    from eurohpc.services import organisation_create
    from hosting.models import UsageDaily, UsageImport
    from hosting.services import (
        allocation_create,
        hosting_agreement_create,
        machine_create,
        partition_create,
        period_create,
        project_create,
    )
    from tests.factories import UserFactory

    host = organisation_create(legal_name="CSC", short_name="CSC", country="FI", kind="hosting_entity", actor=None)
    machine = machine_create(
        name="LUMI",
        hosting_entity=host,
        country="FI",
        machine_class="high_end",
        eu_share_of_tco=Decimal("0.5"),
        slurm_cluster="lumi",
        actor=None,
    )
    gpu = partition_create(machine=machine, name="LUMI-G", kind="gpu", nodes=2978, gpus_per_node=4, actor=None)
    cpu = partition_create(machine=machine, name="LUMI-C", kind="cpu", nodes=2048, cores_per_node=128, actor=None)
    hosting_agreement_create(machine=machine, signed_on=date(2022, 6, 13), actor=None)
    today = date.today()
    period = period_create(
        machine=machine, name="current", start=today - timedelta(days=90), end=today + timedelta(days=90), actor=None
    )
    officer = UserFactory(username="bench-officer", roles=[Role.PROGRAMME_OFFICER])
    operator = UserFactory(username="bench-operator", organisation=host, roles=[Role.HOSTING_OPERATOR])
    allocations = []
    for n in range(ALLOCATIONS):
        project = project_create(
            title=f"p{n}",
            pi=officer,
            organisation=host,
            user_type="academia",
            access_mode="ai_for_science",
            starts_on=period.start,
            duration_months=6,
            actor=None,
        )
        partition = gpu if n % 3 else cpu
        allocations.append(
            allocation_create(
                project=project,
                partition=partition,
                period=period,
                amount=Decimal("100000"),
                slurm_account=f"acct{n}",
                actor=None,
            )
        )
    usage_import = UsageImport.objects.create(machine=machine, source="command", file_name="bench", status="done")
    ids = [a.pk for a in allocations]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO hosting_usagerecord (machine_id, job_id_raw, job_id, allocation_id, usage_import_id, "
                "slurm_partition, account, slurm_user, state, started_at, ended_at, day, elapsed_seconds, nodes, "
                "cpus, gpus, charge) "
                "SELECT %s, n::text, n::text, (%s::bigint[])[1 + n %% %s], %s, 'standard-g', 'acct', 'u', "
                "'COMPLETED', now() - (n %% 80) * interval '1 day', now() - (n %% 80) * interval '1 day', "
                "(now() - (n %% 80) * interval '1 day')::date, 3600, 1, 56, 8, 0.0100 "
                "FROM generate_series(1, %s) AS n",
                [machine.pk, ids, len(ids), usage_import.pk, ROWS],
            )
            cursor.execute(
                "INSERT INTO hosting_usagedaily (allocation_id, day, amount, jobs) "
                "SELECT allocation_id, day, SUM(charge), COUNT(*) FROM hosting_usagerecord GROUP BY allocation_id, day"
            )
            cursor.execute("VACUUM ANALYZE hosting_usagerecord")
            cursor.execute("ANALYZE hosting_usagedaily")
    else:
        from django.utils import timezone

        from hosting.models import UsageRecord

        now = timezone.now()
        batch = []
        for n in range(ROWS):
            ended = now - timedelta(days=n % 80)
            batch.append(
                UsageRecord(
                    machine=machine,
                    job_id_raw=str(n),
                    job_id=str(n),
                    allocation_id=ids[n % len(ids)],
                    usage_import=usage_import,
                    slurm_partition="standard-g",
                    account="acct",
                    slurm_user="u",
                    state="COMPLETED",
                    started_at=ended,
                    ended_at=ended,
                    day=ended.date(),
                    elapsed_seconds=3600,
                    nodes=1,
                    cpus=56,
                    gpus=8,
                    charge=Decimal("0.0100"),
                )
            )
            if len(batch) == 20000:
                UsageRecord.objects.bulk_create(batch)
                batch = []
        UsageRecord.objects.bulk_create(batch)
        from django.db.models import Count, Sum

        UsageDaily.objects.bulk_create(
            UsageDaily(allocation_id=row["allocation_id"], day=row["day"], amount=row["amount"], jobs=row["jobs"])
            for row in UsageRecord.objects.values("allocation_id", "day").annotate(
                amount=Sum("charge"), jobs=Count("pk")
            )
        )
    return machine, officer, operator


class QueryCounter:
    """Counts the SQL statements run inside the block (survives the per-request reconnection)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure(client, url: str) -> tuple[float, int]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        client.get(url)
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), counter.count


def main() -> None:
    from django.test import Client

    from hosting.models import UsageDaily, UsageRecord

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    settings.ROOT_URLCONF = _urls()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        start = time.perf_counter()
        machine, officer, operator = build()
        built = time.perf_counter() - start
        officer_client, operator_client = Client(), Client()
        officer_client.force_login(officer)
        operator_client.force_login(operator)
        trivial, trivial_queries = measure(officer_client, "/bench/trivial/")
        rows = [
            ("trivial page (login, session, base template)", trivial, trivial_queries),
            ("machine page with quota per period (officer)", *measure(officer_client, f"/machines/{machine.pk}/")),
            ("operator quota page", *measure(operator_client, "/quota/")),
            ("allocation list, first page of 50 (officer)", *measure(officer_client, "/allocations/")),
            ("API quota position", *measure(officer_client, f"/api/v1/machines/{machine.pk}/quota/")),
        ]
        print(
            f"\nQuota pages: {UsageRecord.objects.count():,} usage rows, {UsageDaily.objects.count():,} daily "
            f"aggregates, {ALLOCATIONS} allocations, {connection.vendor} (built in {built:.0f} s)"
        )
        print(f"{'page':<48} {'median ms':>10} {'queries':>8} {'ratio':>8}")
        for name, ms, queries in rows:
            print(f"{name:<48} {ms:>10.2f} {queries:>8} {ms / trivial:>7.1f}x")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
