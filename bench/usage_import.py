"""Slurm usage import at scale: 1,000,000 generated sacct lines imported through the service, against a raw COPY
of the same lines into an unindexed table, in the same run. Prints both rates and their ratio (goal >= 0.5).

It also measures, in the same run, what no import can go below: a COPY of the import's own rows, already parsed,
checked and typed as the usage table stores them, into a copy of that table without its indexes, and into one
with only the unique key on (machine, JobIDRaw) that makes a re-import add nothing.

Runs on a throw-away test database of DATABASE_URL (dropped at the end, with the generated file); needs
PostgreSQL (COPY).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_hosting .venv/bin/python bench/usage_import.py
    BENCH_SACCT_LINES=200000 ...   # a smaller run
"""

import io
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eurohpc.settings")

import django

django.setup()

from django.db import connection
from django.test.utils import setup_test_environment

LINES = int(os.environ.get("BENCH_SACCT_LINES", "1000000"))
ACCOUNTS = 100
HEADER = "JobID|JobIDRaw|Cluster|Partition|Account|User|Start|End|ElapsedRaw|State|NNodes|NCPUS|AllocTRES"


def build():
    from eurohpc.services import organisation_create
    from hosting.services import (
        allocation_create,
        hosting_agreement_create,
        machine_create,
        partition_create,
        period_create,
        project_create,
    )
    from tests.factories import UserFactory

    host = organisation_create(
        legal_name="Bench Centre", short_name="BENCH", country="FI", kind="hosting_entity", actor=None
    )
    machine = machine_create(
        name="BENCH",
        hosting_entity=host,
        country="FI",
        machine_class="high_end",
        eu_share_of_tco=Decimal("0.5"),
        slurm_cluster="bench",
        time_zone="Europe/Helsinki",
        actor=None,
    )
    gpu = partition_create(
        machine=machine, name="G", kind="gpu", nodes=5000, gpus_per_node=4, slurm_partitions="standard-g", actor=None
    )
    hosting_agreement_create(machine=machine, signed_on=date(2025, 1, 1), actor=None)
    period = period_create(machine=machine, name="2026-H2", start=date(2026, 7, 1), end=date(2026, 12, 31), actor=None)
    pi = UserFactory(username="bench-pi")
    for n in range(ACCOUNTS):
        project = project_create(
            title=f"p{n}",
            pi=pi,
            organisation=host,
            user_type="academia",
            access_mode="ai_for_science",
            starts_on=date(2026, 7, 1),
            duration_months=6,
            actor=None,
        )
        allocation_create(
            project=project,
            partition=gpu,
            period=period,
            amount=Decimal("300000"),
            slurm_account=f"acct{n:04d}",
            actor=None,
        )
    return machine


def write_sacct(path: Path, lines: int) -> None:
    base = datetime(2026, 7, 2)
    with path.open("w") as out:
        out.write(HEADER + "\n")
        for n in range(lines):
            end = base + timedelta(seconds=13 * n)
            start = end - timedelta(seconds=3600 + n % 7200)
            gpus = 4 * (1 + n % 8)
            out.write(
                f"{n + 1}|{n + 1}|bench|standard-g|acct{n % ACCOUNTS:04d}|u{n % 50}|{start.isoformat()}|"
                f"{end.isoformat()}|{3600 + n % 7200}|COMPLETED|{1 + n % 8}|{gpus * 14}|"
                f"billing={gpus * 14},cpu={gpus * 14},gres/gpu={gpus},mem=480G,node={1 + n % 8}\n"
            )


def raw_copy(path: Path) -> float:
    """COPY the file's lines as they are into an unindexed table of text columns."""
    columns = ", ".join(f"c{i} text" for i in range(13))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE UNLOGGED TABLE bench_raw_sacct ({columns})")
        start = time.perf_counter()
        with path.open("rb") as source:
            source.readline()  # the header
            with cursor.cursor.copy("COPY bench_raw_sacct FROM STDIN (FORMAT text, DELIMITER '|')") as copy:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
        elapsed = time.perf_counter() - start
        cursor.execute("SELECT COUNT(*) FROM bench_raw_sacct")
        assert cursor.fetchone()[0] == LINES
        cursor.execute("DROP TABLE bench_raw_sacct")
    return elapsed


def typed_floor() -> tuple[float, float]:
    """Seconds to COPY the imported rows, as stored, into a copy of the usage table: unindexed, then unique-keyed.

    No parsing, checking, mapping or aggregating: only PostgreSQL reading typed values (times, dates, decimals)
    and writing a logged table, which an import has to do for every job it keeps.
    """
    from hosting.models import UsageRecord

    table = UsageRecord._meta.db_table
    rows = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} TO STDOUT") as copy:
            for block in copy:
                rows.write(block)
        data = rows.getvalue()
        seconds = []
        for key in ("", ", UNIQUE (machine_id, job_id_raw)"):
            cursor.execute(f"CREATE TABLE bench_usage_floor (LIKE {table}{key})")
            start = time.perf_counter()
            with cursor.cursor.copy("COPY bench_usage_floor FROM STDIN") as copy:
                for at in range(0, len(data), 1 << 20):
                    copy.write(data[at : at + (1 << 20)])
            seconds.append(time.perf_counter() - start)
            cursor.execute("SELECT COUNT(*) FROM bench_usage_floor")
            assert cursor.fetchone()[0] == LINES
            cursor.execute("DROP TABLE bench_usage_floor")
    return seconds[0], seconds[1]


def parse_only(path: Path) -> float:
    """Read and check every line as the import does, without the database: the Python share of the import."""
    from hosting.sacct import SacctReader

    start = time.perf_counter()
    with path.open("rb") as source:
        for _ in SacctReader(source, cluster="bench"):
            pass
    return time.perf_counter() - start


def main() -> None:
    if connection.vendor != "postgresql":
        print("bench/usage_import.py needs PostgreSQL (COPY): set DATABASE_URL.")
        return
    from hosting.models import UsageImport
    from hosting.services import usage_import_create

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        machine = build()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "sacct.txt"
            write_sacct(path, LINES)
            size = path.stat().st_size

            start = time.perf_counter()
            with path.open("rb") as stream:
                first = usage_import_create(
                    machine=machine, stream=stream, file_name="sacct.txt", source=UsageImport.Source.COMMAND, actor=None
                )
            imported_s = time.perf_counter() - start
            assert first.imported == LINES, first.imported

            start = time.perf_counter()
            with path.open("rb") as stream:
                again = usage_import_create(
                    machine=machine, stream=stream, file_name="sacct.txt", source=UsageImport.Source.COMMAND, actor=None
                )
            again_s = time.perf_counter() - start
            assert again.imported == 0

            copy_s = raw_copy(path)
            floor_s, floor_keyed_s = typed_floor()
            parse_s = parse_only(path)

        import_rate, copy_rate, again_rate = LINES / imported_s, LINES / copy_s, LINES / again_s
        print(f"\nSlurm usage import, {LINES:,} lines ({size / 1e6:.0f} MB), {ACCOUNTS} allocations, PostgreSQL")
        print(f"{'measure':<58} {'seconds':>8} {'lines/s':>10}")
        print(
            f"{'import (parse, validate, stage, insert once, aggregate)':<58} {imported_s:>8.2f} {import_rate:>10,.0f}"
        )
        print(f"{'re-import of the same file (adds 0)':<58} {again_s:>8.2f} {again_rate:>10,.0f}")
        print(
            f"{'  of which reading and checking the lines (no database)':<58} {parse_s:>8.2f} {LINES / parse_s:>10,.0f}"
        )
        print(f"{'raw COPY of the same lines into an unindexed table':<58} {copy_s:>8.2f} {copy_rate:>10,.0f}")
        floor_label = "COPY of the imported rows, typed, into an unindexed table"
        print(f"{floor_label:<58} {floor_s:>8.2f} {LINES / floor_s:>10,.0f}")
        print(
            f"{'  the same with the unique key (machine, JobIDRaw)':<58} {floor_keyed_s:>8.2f} "
            f"{LINES / floor_keyed_s:>10,.0f}"
        )
        print(f"ratio import / raw COPY: {import_rate / copy_rate:.2f} (goal >= 0.5)")
        print(
            f"ratio typed COPY / raw COPY: {copy_s / floor_s:.2f} unindexed, {copy_s / floor_keyed_s:.2f} with the "
            "unique key (the most any import that keeps typed job rows could reach)"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
