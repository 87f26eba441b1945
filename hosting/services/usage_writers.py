"""Writing an import's jobs: COPY lines, a staging table, or straight into the usage table.

`UsageCopy` (PostgreSQL) streams the jobs into the usage table with one COPY while the file is still being read,
and keeps the daily and per-allocation sums as it goes; a job imported before stops it (unique violation) and
the import is made again through `StagingTable`, whose insert leaves such jobs out. SQLite always stages.
"""

import contextlib
import uuid
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection

from hosting.models import Machine, UsageDaily, UsageImport, UsageRecord
from hosting.sacct import Job

BATCH = 5000


def units_decimal(units: int) -> Decimal:
    """Ten-thousandths of an hour as the stored decimal (4 places)."""
    return Decimal(units).scaleb(-4)


def units_text(units: int) -> str:
    return f"{units // 10000}.{units % 10000:04d}"


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def copy_row(job: Job, allocation_id: int, day_text: str, units: int) -> str:
    """A job as COPY text, from JobIDRaw to the charge (the usage table's columns in `StagingTable.COLUMNS[1:]`);
    times are the machine's local time, without an offset."""
    names = f"{job.partition}\t{job.account}\t{job.user}"
    if "\\" in names or "\r" in names or names.count("\t") != 2:
        # A backslash, tab or carriage return in a name: escaped for COPY's text format (rare).
        names = "\t".join((copy_text(job.partition), copy_text(job.account), copy_text(job.user)))
    start = "\\N" if job.start is None else _time_text(job.start_text, job.start)
    return (
        f"{job.job_id_raw}\t{job.job_id}\t{allocation_id}\t{names}\t{job.state}\t{start}\t"
        f"{_time_text(job.end_text, job.end)}\t{day_text}\t{job.elapsed}\t{job.nodes}\t{job.cpus}\t{job.gpus}\t"
        f"{units_text(units)}"
    )


def _time_text(written: str, value) -> str:
    """A local time as COPY text: as written when it is sacct's YYYY-MM-DDTHH:MM:SS (the reader has parsed it, and
    PostgreSQL reads that form alike), else formatted (other ISO forms, or a time converted from an offset)."""
    if len(written) == 19 and written[10] == "T" and written[7] == "-" and written[13] == ":":
        return written
    return value.isoformat(" ")


def copy_text(value: str) -> str:
    """A value from the file, escaped for COPY's text format (rarely needed: backslash, tab, carriage return)."""
    if "\\" in value or "\t" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r")
    return value


def add_to_daily(daily_table: str) -> str:
    """The ON CONFLICT clause that adds an insert's sums to the daily aggregates already there."""
    return (
        f"ON CONFLICT (allocation_id, day) DO UPDATE SET amount = {daily_table}.amount + excluded.amount, "
        f"jobs = {daily_table}.jobs + excluded.jobs"
    )


class _CopyStream:
    """A `COPY … FROM STDIN` fed with lines of COPY text, sent in blocks of about 1 MiB."""

    def __init__(self, cursor, sql: str):
        self._cm = cursor.cursor.copy(sql)
        self._copy = self._cm.__enter__()
        self.buffer: list[str] = []
        self.buffered = 0

    def write(self, line: str) -> None:
        self.buffer.append(line)
        self.buffered += len(line)
        if self.buffered > 1 << 20:
            self._send()

    def _send(self) -> None:
        if self.buffer:
            self._copy.write("\n".join(self.buffer) + "\n")
            self.buffer, self.buffered = [], 0

    def close(self) -> None:
        """End the COPY; PostgreSQL refuses a row (a unique violation, say) here at the latest."""
        self._send()
        cm, self._cm = self._cm, None
        cm.__exit__(None, None, None)

    def abort(self, exc_type, exc, tb) -> None:
        """An error while copying: abort the COPY (the caller's transaction or savepoint rolls back)."""
        if self._cm is not None:
            cm, self._cm = self._cm, None
            with contextlib.suppress(Exception):  # the original error is the one to report
                cm.__exit__(exc_type, exc, tb)


class StagingTable:
    """A temporary table holding the file's chargeable jobs, times still in the machine's local time.

    PostgreSQL: filled by COPY in 1 MiB blocks of text, times converted AT TIME ZONE when inserted. Other
    databases (the embedded SQLite): batches of parameterised inserts, times converted here.
    """

    COLUMNS = (
        "line_no",
        "job_id_raw",
        "job_id",
        "allocation_id",
        "slurm_partition",
        "account",
        "slurm_user",
        "state",
        "started_at",
        "ended_at",
        "day",
        "elapsed_seconds",
        "nodes",
        "cpus",
        "gpus",
        "charge",
    )

    def __init__(self, *, zone: ZoneInfo):
        self.name = f"usage_staging_{uuid.uuid4().hex[:12]}"
        self.zone = zone
        self.postgres = connection.vendor == "postgresql"
        self.rows: list[tuple] = []
        self._cursor = None
        self._stream: _CopyStream | None = None

    def __enter__(self):
        self._cursor = connection.cursor()
        time_type = "timestamp without time zone" if self.postgres else "timestamp with time zone"
        self._cursor.execute(
            f"CREATE TEMPORARY TABLE {self.name} (line_no integer, job_id_raw varchar(32), job_id varchar(64), "
            "allocation_id bigint, slurm_partition varchar(64), account varchar(64), slurm_user varchar(64), "
            f"state varchar(32), started_at {time_type}, ended_at {time_type}, day date, "
            "elapsed_seconds integer, nodes integer, cpus integer, gpus integer, charge numeric(16, 4))"
        )
        if self.postgres:
            self._stream = _CopyStream(self._cursor, f"COPY {self.name} ({', '.join(self.COLUMNS)}) FROM STDIN")
        return self

    def add(self, job: Job, allocation_id: int, day, day_text: str, units: int) -> None:
        if self._stream is not None:
            self._stream.write(f"{job.line}\t{copy_row(job, allocation_id, day_text, units)}")
            return
        self.rows.append((job, allocation_id, day, units_decimal(units)))
        if len(self.rows) >= BATCH:
            self._flush()

    def _aware(self, value):
        return None if value is None else connection.ops.adapt_datetimefield_value(value.replace(tzinfo=self.zone))

    def _flush(self) -> None:
        if not self.rows:
            return
        ops = connection.ops
        adapted = [
            (job.line, job.job_id_raw, job.job_id, allocation_id, job.partition, job.account, job.user, job.state,
             self._aware(job.start), self._aware(job.end), ops.adapt_datefield_value(day), job.elapsed, job.nodes,
             job.cpus, job.gpus, ops.adapt_decimalfield_value(charge, 16, 4))
            for job, allocation_id, day, charge in self.rows
        ]  # fmt: skip
        placeholders = ", ".join(["%s"] * len(self.COLUMNS))
        self._cursor.executemany(
            f"INSERT INTO {self.name} ({', '.join(self.COLUMNS)}) VALUES ({placeholders})",  # noqa: S608 - our names
            adapted,
        )
        self.rows = []

    def finish(self) -> None:
        if self._stream is not None:
            self._stream.close()
        else:
            self._flush()

    def execute(self, sql: str, params=()) -> int:
        self._cursor.execute(sql.replace("{staging}", self.name), params)
        return self._cursor.rowcount

    def fetchall(self, sql: str, params=()) -> list[tuple]:
        self._cursor.execute(sql.replace("{staging}", self.name), params)
        return self._cursor.fetchall()

    def __exit__(self, exc_type, exc, tb):
        try:
            if self._stream is not None:
                self._stream.abort(exc_type, exc, tb)
            if exc_type is None:
                self._cursor.execute(f"DROP TABLE {self.name}")
        finally:
            self._cursor.close()
        return False


def write_staged(staging: StagingTable, *, machine: Machine, usage_import: UsageImport) -> tuple[int, list[tuple]]:
    """Insert the staged jobs not imported before and add them to the daily aggregates.

    Returns the number of jobs inserted and, per allocation, the sum of their charges.
    PostgreSQL: one statement; the unique index on (machine, JobIDRaw) leaves out the jobs imported before,
    and only the rows inserted feed the aggregates. SQLite: the same in four statements.
    """
    usage_table = quote(UsageRecord._meta.db_table)
    daily_table = quote(UsageDaily._meta.db_table)
    columns = ", ".join(StagingTable.COLUMNS[1:])
    upsert_daily = add_to_daily(daily_table)
    if staging.postgres:
        selected = columns.replace("started_at", "started_at AT TIME ZONE %s").replace(
            "ended_at", "ended_at AT TIME ZONE %s"
        )
        rows = staging.fetchall(
            "WITH inserted AS (INSERT INTO " + usage_table + " (machine_id, usage_import_id, " + columns + ") "  # noqa: S608
            "SELECT %s, %s, " + selected + " FROM {staging} "
            "ON CONFLICT (machine_id, job_id_raw) DO NOTHING RETURNING allocation_id, day, charge), "
            "daily AS (INSERT INTO " + daily_table + " (allocation_id, day, amount, jobs) "
            "SELECT allocation_id, day, SUM(charge), COUNT(*) FROM inserted GROUP BY allocation_id, day "
            + upsert_daily
            + ") "
            "SELECT allocation_id, SUM(charge), COUNT(*) FROM inserted GROUP BY allocation_id ORDER BY allocation_id",
            [machine.pk, usage_import.pk, machine.time_zone, machine.time_zone],
        )
        return sum(jobs for _, _, jobs in rows), [(pk, total) for pk, total, _ in rows]
    # Jobs of this machine imported before: counted once, so left out.
    staging.execute(
        "DELETE FROM {staging} WHERE EXISTS (SELECT 1 FROM " + usage_table + " u WHERE u.machine_id = %s "  # noqa: S608
        "AND u.job_id_raw = {staging}.job_id_raw)",
        [machine.pk],
    )
    imported = staging.execute(
        "INSERT INTO " + usage_table + " (machine_id, usage_import_id, " + columns + ") "  # noqa: S608
        "SELECT %s, %s, " + columns + " FROM {staging}",
        [machine.pk, usage_import.pk],
    )
    staging.execute(
        "INSERT INTO " + daily_table + " (allocation_id, day, amount, jobs) "  # noqa: S608
        "SELECT allocation_id, day, SUM(charge), COUNT(*) FROM {staging} WHERE 1 = 1 GROUP BY allocation_id, day "
        + upsert_daily
    )
    per_allocation = staging.fetchall(
        "SELECT allocation_id, SUM(charge) FROM {staging} GROUP BY allocation_id ORDER BY allocation_id"
    )
    return imported, per_allocation


class UsageCopy:
    """The jobs COPYed straight into the usage table (PostgreSQL), the daily and per-allocation sums kept here.

    The machine's time zone is the session's while copying, so the local times of the file are read as
    `AT TIME ZONE` reads them in the staging path. A job of this machine imported before makes PostgreSQL
    refuse the COPY (the unique key on machine and JobIDRaw): the caller rolls back and stages instead.
    """

    COLUMNS = ("machine_id", "usage_import_id", *StagingTable.COLUMNS[1:])

    def __init__(self, *, machine: Machine, usage_import: UsageImport):
        self.machine = machine
        self.prefix = f"{machine.pk}\t{usage_import.pk}\t"
        self.daily: dict[tuple[int, date], list[int]] = {}  # (allocation, day) -> [units, jobs]
        self._cursor = None
        self._stream: _CopyStream | None = None

    def __enter__(self):
        self._cursor = connection.cursor()
        self._cursor.execute("SELECT set_config('TimeZone', %s, true)", [self.machine.time_zone])
        table = quote(UsageRecord._meta.db_table)
        self._stream = _CopyStream(self._cursor, f"COPY {table} ({', '.join(self.COLUMNS)}) FROM STDIN")
        return self

    def add(self, job: Job, allocation_id: int, day, day_text: str, units: int) -> None:
        self._stream.write(self.prefix + copy_row(job, allocation_id, day_text, units))
        sums = self.daily.get((allocation_id, day))
        if sums is None:
            self.daily[(allocation_id, day)] = [units, 1]
        else:
            sums[0] += units
            sums[1] += 1

    def finish(self) -> tuple[int, list[tuple[int, Decimal]]]:
        """End the COPY, add the sums to the daily aggregates; the jobs copied and the charge per allocation."""
        self._stream.close()
        self._cursor.execute("SELECT set_config('TimeZone', %s, true)", [connection.timezone_name])
        per_allocation: dict[int, int] = {}
        for (allocation_id, _day), (units, _jobs) in self.daily.items():
            per_allocation[allocation_id] = per_allocation.get(allocation_id, 0) + units
        if self.daily:
            keys = list(self.daily)
            daily = quote(UsageDaily._meta.db_table)
            self._cursor.execute(
                f"INSERT INTO {daily} (allocation_id, day, amount, jobs) "  # noqa: S608 - our names
                "SELECT * FROM unnest(%s::bigint[], %s::date[], %s::numeric[], %s::integer[]) " + add_to_daily(daily),
                [
                    [allocation_id for allocation_id, _ in keys],
                    [day for _, day in keys],
                    [units_decimal(self.daily[key][0]) for key in keys],
                    [self.daily[key][1] for key in keys],
                ],
            )
        copied = sum(jobs for _units, jobs in self.daily.values())
        return copied, [(pk, units_decimal(units)) for pk, units in sorted(per_allocation.items())]

    def __exit__(self, exc_type, exc, tb):
        try:
            if self._stream is not None:
                self._stream.abort(exc_type, exc, tb)
        finally:
            self._cursor.close()
        return False
