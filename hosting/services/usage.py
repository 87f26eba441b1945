"""Importing Slurm usage: parse, stage in bulk, insert new jobs once, keep daily aggregates, raise alerts.

One import is one transaction: a malformed line refuses the whole file (its line number and reason) and
nothing is written. Imports of one machine run one after the other (the machine row is locked), so a job is
counted once even when the same file is sent twice at the same moment.
"""

import contextlib
import hashlib
import io
import uuid
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO
from zoneinfo import ZoneInfo

from django.core.files.base import File
from django.db import connection, transaction
from django.utils import timezone

from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.models import User
from eurohpc.services import audit_record
from hosting.models import Allocation, AllocationPeriod, Machine, Partition, UsageDaily, UsageImport, UsageRecord
from hosting.sacct import SKIP_REASONS, Job, SacctReader, UsageFileError
from hosting.services.alerts import allocation_alerts_check

# Files up to this size are imported while the uploader waits; larger ones by a Celery task.
SYNC_IMPORT_MAX_BYTES = 2 * 1024 * 1024
MAX_FILE_BYTES = 1024 * 1024 * 1024
_BATCH = 5000
_FOUR_PLACES = Decimal("0.0001")

Progress = Callable[[int, int], None]


@dataclass
class _Tally:
    lines: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    # (account, partition) -> [jobs, charge in ten-thousandths of an hour]
    unknown_accounts: dict[tuple[str, str], list] = field(default_factory=dict)
    unknown_partitions: dict[str, int] = field(default_factory=dict)
    outside_periods: int = 0
    staged: int = 0
    repeated: int = 0  # a job listed again in the file: its first chargeable line counts

    @property
    def unmapped(self) -> int:
        return (
            sum(jobs for jobs, _ in self.unknown_accounts.values())
            + sum(self.unknown_partitions.values())
            + self.outside_periods
        )


def _charge_units(count: int, elapsed: int) -> int:
    """count x ElapsedRaw / 3600 hours in ten-thousandths of an hour (the stored 4 places), rounded half up.

    Whole numbers: x = count x elapsed x 10000 / 3600 = 25 count elapsed / 9, and floor(x + 1/2) is
    floor((50 count elapsed + 9) / 18).
    """
    return (count * elapsed * 50 + 9) // 18


def _units_decimal(units: int) -> Decimal:
    return Decimal(units).scaleb(-4)


def _units_text(units: int) -> str:
    return f"{units // 10000}.{units % 10000:04d}"


def _unit_count(unit: str) -> str:
    """The Job attribute an accounting unit counts: GPUs, cores or nodes."""
    if unit == Partition.Unit.GPU_HOURS:
        return "gpus"
    if unit == Partition.Unit.CORE_HOURS:
        return "cpus"
    return "nodes"


def charge_of(job: Job, unit: str) -> Decimal:
    """GPU-hours = gres/gpu x ElapsedRaw / 3600; node-hours = NNodes x ...; core-hours = NCPUS x ..."""
    return _units_decimal(_charge_units(getattr(job, _unit_count(unit)), job.elapsed))


def _copy_text(value: str) -> str:
    """A value from the file, escaped for COPY's text format (rarely needed: backslash, tab, carriage return)."""
    if "\\" in value or "\t" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r")
    return value


class _Staging:
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
        self.buffer: list[str] = []
        self.buffered = 0
        self._cursor = None
        self._copy_cm = None
        self._copy = None

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
            self._copy_cm = self._cursor.cursor.copy(f"COPY {self.name} ({', '.join(self.COLUMNS)}) FROM STDIN")
            self._copy = self._copy_cm.__enter__()
        return self

    def add(self, job: Job, allocation_id: int, day, day_text: str, units: int) -> None:
        if self._copy is not None:
            names = f"{job.partition}\t{job.account}\t{job.user}"
            if "\\" in names or "\r" in names or names.count("\t") != 2:
                # A backslash, tab or carriage return in a name: escaped for COPY's text format (rare).
                names = "\t".join((_copy_text(job.partition), _copy_text(job.account), _copy_text(job.user)))
            start = "\\N" if job.start is None else job.start.isoformat(" ")
            line = (
                f"{job.line}\t{job.job_id_raw}\t{job.job_id}\t{allocation_id}\t{names}\t{job.state}\t{start}\t"
                f"{job.end.isoformat(' ')}\t{day_text}\t{job.elapsed}\t{job.nodes}\t{job.cpus}\t{job.gpus}\t"
                f"{_units_text(units)}"
            )
            self.buffer.append(line)
            self.buffered += len(line)
            if self.buffered > 1 << 20:
                self._send()
            return
        self.rows.append((job, allocation_id, day, _units_decimal(units)))
        if len(self.rows) >= _BATCH:
            self._flush()

    def _send(self) -> None:
        if self.buffer:
            self._copy.write("\n".join(self.buffer) + "\n")
            self.buffer, self.buffered = [], 0

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
        if self._copy_cm is not None:
            self._send()
            self._copy_cm.__exit__(None, None, None)
            self._copy_cm = self._copy = None
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
            if self._copy_cm is not None:  # an error while copying: abort the COPY, the transaction rolls back
                with contextlib.suppress(Exception):  # the original error is the one to report
                    self._copy_cm.__exit__(exc_type, exc, tb)
            if exc_type is None:
                self._cursor.execute(f"DROP TABLE {self.name}")
        finally:
            self._cursor.close()
        return False


def _to_local(job: Job, zone: ZoneInfo) -> None:
    if job.end.tzinfo is not None:
        job.end = job.end.astimezone(zone).replace(tzinfo=None)
    if job.start is not None and job.start.tzinfo is not None:
        job.start = job.start.astimezone(zone).replace(tzinfo=None)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _write_usage(staging: _Staging, *, machine: Machine, usage_import: UsageImport) -> tuple[int, list[tuple]]:
    """Insert the staged jobs not imported before and add them to the daily aggregates.

    Returns the number of jobs inserted and, per allocation, the sum of their charges.
    PostgreSQL: one statement; the unique index on (machine, JobIDRaw) leaves out the jobs imported before,
    and only the rows inserted feed the aggregates. SQLite: the same in four statements.
    """
    usage_table = _quote(UsageRecord._meta.db_table)
    daily_table = _quote(UsageDaily._meta.db_table)
    columns = ", ".join(_Staging.COLUMNS[1:])
    upsert_daily = (
        "ON CONFLICT (allocation_id, day) DO UPDATE SET amount = " + daily_table + ".amount + excluded.amount, "
        "jobs = " + daily_table + ".jobs + excluded.jobs"
    )
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


def _import_lines(*, usage_import: UsageImport, raw_lines: Iterable[bytes], progress: Progress | None) -> UsageImport:
    """Parse and write; runs inside the caller's transaction with the machine row locked."""
    machine = usage_import.machine
    zone = ZoneInfo(machine.time_zone)
    partitions: dict[str, tuple[Partition, str]] = {}
    for partition in Partition.objects.filter(machine=machine):
        for name in partition.slurm_names:
            partitions[name] = (partition, _unit_count(partition.accounting_unit))
    periods = list(AllocationPeriod.objects.filter(machine=machine).order_by("start"))
    starts = [p.start for p in periods]
    # The period charged for each End day met, and the day as COPY text: a file spans few days.
    day_periods: dict[date, tuple[AllocationPeriod | None, str]] = {}
    allocations = {
        (partition_id, period_id, account): pk
        for pk, partition_id, period_id, account in Allocation.objects.filter(period__machine=machine).values_list(
            "pk", "partition_id", "period_id", "slurm_account"
        )
    }
    tally = _Tally()
    staged_jobs: set[str] = set()
    reader = SacctReader(raw_lines, cluster=machine.slurm_cluster, progress=progress)
    with _Staging(zone=zone) as staging:
        for item in reader:
            if item.__class__ is str:
                tally.skipped[item] += 1
                continue
            found = partitions.get(item.partition)
            if found is None:
                tally.unknown_partitions[item.partition] = tally.unknown_partitions.get(item.partition, 0) + 1
                continue
            partition, counted = found
            if item.end.tzinfo is not None or (item.start is not None and item.start.tzinfo is not None):
                _to_local(item, zone)  # a time written with an offset: the machine's local time from here on
            day = item.end.date()
            known = day_periods.get(day)
            if known is None:
                index = bisect_right(starts, day) - 1
                period = periods[index] if index >= 0 and periods[index].end >= day else None
                known = day_periods[day] = (period, day.isoformat())
            period, day_text = known
            if period is None:
                tally.outside_periods += 1
                continue
            units = _charge_units(getattr(item, counted), item.elapsed)
            allocation_id = allocations.get((partition.pk, period.pk, item.account))
            if allocation_id is None:
                entry = tally.unknown_accounts.setdefault((item.account, partition.name), [0, 0])
                entry[0] += 1
                entry[1] += units
                continue
            if item.job_id_raw in staged_jobs:  # a job listed twice in the file counts once (its first line)
                tally.repeated += 1
                continue
            staged_jobs.add(item.job_id_raw)
            staging.add(item, allocation_id, day, day_text, units)
            tally.staged += 1
        staging.finish()
        tally.lines = reader.data_lines
        imported, per_allocation = _write_usage(staging, machine=machine, usage_import=usage_import)
    already = tally.staged - imported
    repeated = tally.repeated

    # SQLite returns SUM() of a decimal column as a float: bring it back to the stored 4 decimals.
    per_allocation = [(pk, Decimal(str(total)).quantize(_FOUR_PLACES)) for pk, total in per_allocation]
    charged = sum((total for _, total in per_allocation), Decimal(0))
    skipped_total = sum(tally.skipped.values())
    usage_import.status = UsageImport.Status.DONE
    usage_import.lines = tally.lines
    usage_import.imported = imported
    usage_import.already_imported = already + repeated
    usage_import.skipped = skipped_total
    usage_import.unmapped = tally.unmapped
    usage_import.charged = charged
    usage_import.summary = {
        "skipped": {reason: count for reason, count in tally.skipped.items() if count},
        "repeated_in_file": repeated,
        "unknown_accounts": [
            {"account": account, "partition": partition, "jobs": jobs, "charge": str(_units_decimal(units))}
            for (account, partition), (jobs, units) in sorted(tally.unknown_accounts.items())
        ],
        "unknown_partitions": [
            {"partition": name, "jobs": jobs} for name, jobs in sorted(tally.unknown_partitions.items())
        ],
        "outside_periods": tally.outside_periods,
        "allocations": [{"allocation": pk, "charged": str(total)} for pk, total in per_allocation],
    }
    usage_import.error, usage_import.error_line = "", None
    usage_import.finished_at = timezone.now()
    usage_import.save()
    audit_record(
        actor=usage_import.uploaded_by,
        verb="usage.import",
        target=usage_import,
        changes={
            "file": usage_import.file_name,
            "sha256": usage_import.sha256,
            "lines": tally.lines,
            "imported": imported,
            "already_imported": already + repeated,
            "skipped": skipped_total,
            "unmapped": tally.unmapped,
            "charged": charged,
        },
    )
    if per_allocation:
        allocation_alerts_check(allocation_ids=[pk for pk, _ in per_allocation])
    return usage_import


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        sha.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return sha.hexdigest(), size


def _check_size(size: int) -> None:
    if size == 0:
        raise UsageFileError(line=1, error="the file is empty: expected the sacct --parsable2 header row.")
    if size > MAX_FILE_BYTES:
        raise RuleViolation(
            f"A usage file is at most {MAX_FILE_BYTES // (1024 * 1024)} MiB, this one is {size // (1024 * 1024)} MiB: "
            "split it by period (sacct --starttime/--endtime)."
        )


@transaction.atomic
def usage_import_create(
    *,
    machine: Machine,
    stream: IO[bytes],
    file_name: str,
    source: str,
    actor: User | None,
    progress: Progress | None = None,
) -> UsageImport:
    """Import a sacct file now, in one transaction. Raises `UsageFileError` (nothing written) for a bad line."""
    sha256, size = _digest(stream)
    _check_size(size)
    machine = Machine.objects.select_for_update().get(pk=machine.pk)
    usage_import = UsageImport.objects.create(
        machine=machine,
        uploaded_by=actor,
        source=source,
        file_name=file_name[:255],
        size=size,
        sha256=sha256,
        status=UsageImport.Status.RUNNING,
    )
    return _import_lines(usage_import=usage_import, raw_lines=stream, progress=progress)


@transaction.atomic
def usage_import_queue(
    *, machine: Machine, stream: IO[bytes], file_name: str, source: str, actor: User | None
) -> UsageImport:
    """Keep the file and import it in a Celery task after commit (for large files); counts appear when done."""
    from hosting.tasks import run_usage_import

    sha256, size = _digest(stream)
    _check_size(size)
    usage_import = UsageImport(
        machine=machine,
        uploaded_by=actor,
        source=source,
        file_name=file_name[:255],
        size=size,
        sha256=sha256,
        status=UsageImport.Status.QUEUED,
    )
    usage_import.file.save(f"{machine.pk}-{sha256[:16]}.txt", File(stream), save=False)
    usage_import.save()
    audit_record(
        actor=actor,
        verb="usage.queue",
        target=usage_import,
        changes={"file": usage_import.file_name, "sha256": sha256, "size": size},
    )
    transaction.on_commit(lambda: run_usage_import.delay(usage_import_id=usage_import.pk))
    return usage_import


def usage_import_submit(
    *, machine: Machine, stream: IO[bytes], file_name: str, source: str, actor: User | None
) -> UsageImport:
    """Import small files at once and queue large ones; both return the import (done or queued)."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size > SYNC_IMPORT_MAX_BYTES:
        return usage_import_queue(machine=machine, stream=stream, file_name=file_name, source=source, actor=actor)
    return usage_import_create(machine=machine, stream=stream, file_name=file_name, source=source, actor=actor)


def usage_import_run(*, usage_import_id: int) -> UsageImport | None:
    """Run a queued import (the Celery task). Idempotent: an import that is not queued is left alone.

    Two transactions: the import itself, and, when the file is refused, recording the reason on the import
    (the usage stays unwritten).
    """
    try:
        with transaction.atomic():
            usage_import = (
                UsageImport.objects.select_for_update(of=("self",))
                .select_related("uploaded_by")
                .filter(pk=usage_import_id)
                .first()
            )
            if usage_import is None or usage_import.status != UsageImport.Status.QUEUED:
                return usage_import
            usage_import.machine = Machine.objects.select_for_update().get(pk=usage_import.machine_id)
            usage_import.status = UsageImport.Status.RUNNING
            with usage_import.file.open("rb") as stream:
                _import_lines(usage_import=usage_import, raw_lines=stream, progress=None)
            file_name = usage_import.file.name
            usage_import.file = ""
            usage_import.save(update_fields=["file"])
            transaction.on_commit(lambda: usage_import.file.storage.delete(file_name))
            return usage_import
    except UsageFileError as exc:
        return usage_import_fail(usage_import_id=usage_import_id, line=exc.line, error=exc.error)


@transaction.atomic
def usage_import_fail(*, usage_import_id: int, line: int | None, error: str) -> UsageImport:
    """Record why a queued import was refused or stopped; its usage stays unwritten."""
    usage_import = UsageImport.objects.select_for_update().get(pk=usage_import_id)
    if usage_import.status != UsageImport.Status.QUEUED:
        raise StateConflict(f"The usage import {usage_import.pk} is {usage_import.get_status_display().lower()}.")
    usage_import.status = UsageImport.Status.FAILED
    usage_import.error_line, usage_import.error = line, error[:500]
    usage_import.finished_at = timezone.now()
    usage_import.save(update_fields=["status", "error_line", "error", "finished_at"])
    audit_record(actor=None, verb="usage.refuse", target=usage_import, changes={"line": line, "error": error})
    return usage_import
