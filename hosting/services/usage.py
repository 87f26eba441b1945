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
from decimal import ROUND_HALF_UP, Decimal
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
_SECONDS_PER_HOUR = Decimal(3600)

Progress = Callable[[int, int], None]


@dataclass
class _Tally:
    lines: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    unknown_accounts: dict[tuple[str, str], list] = field(
        default_factory=dict
    )  # (account, partition) -> [jobs, charge]
    unknown_partitions: dict[str, int] = field(default_factory=dict)
    outside_periods: int = 0
    staged: int = 0

    @property
    def unmapped(self) -> int:
        return (
            sum(jobs for jobs, _ in self.unknown_accounts.values())
            + sum(self.unknown_partitions.values())
            + self.outside_periods
        )


def charge_of(job: Job, unit: str) -> Decimal:
    """GPU-hours = gres/gpu x ElapsedRaw / 3600; node-hours = NNodes x ...; core-hours = NCPUS x ..."""
    if unit == Partition.Unit.GPU_HOURS:
        count = job.gpus
    elif unit == Partition.Unit.CORE_HOURS:
        count = job.cpus
    else:
        count = job.nodes
    return (Decimal(count * job.elapsed) / _SECONDS_PER_HOUR).quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)


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

    def add(self, job: Job, allocation_id: int, day, charge: Decimal) -> None:
        if self._copy is not None:
            line = "\t".join((
                str(job.line), job.job_id_raw, job.job_id, str(allocation_id), _copy_text(job.partition),
                _copy_text(job.account), _copy_text(job.user), job.state,
                "\\N" if job.start is None else job.start.isoformat(" "), job.end.isoformat(" "), day.isoformat(),
                str(job.elapsed), str(job.nodes), str(job.cpus), str(job.gpus), str(charge),
            ))  # fmt: skip
            self.buffer.append(line)
            self.buffered += len(line)
            if self.buffered > 1 << 20:
                self._send()
            return
        self.rows.append((job, allocation_id, day, charge))
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
            self._cursor.execute(f"ANALYZE {self.name}")
        else:
            self._flush()
            self._cursor.execute(f"CREATE INDEX {self.name}_job ON {self.name} (job_id_raw)")

    def time_column(self, column: str) -> str:
        """The staged local time as an aware time (PostgreSQL converts it in the machine's zone)."""
        return f"{column} AT TIME ZONE %s" if self.postgres else column

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


def _import_lines(*, usage_import: UsageImport, raw_lines: Iterable[bytes], progress: Progress | None) -> UsageImport:
    """Parse and write; runs inside the caller's transaction with the machine row locked."""
    machine = usage_import.machine
    zone = ZoneInfo(machine.time_zone)
    partitions: dict[str, Partition] = {}
    for partition in Partition.objects.filter(machine=machine):
        for name in partition.slurm_names:
            partitions[name] = partition
    periods = list(AllocationPeriod.objects.filter(machine=machine).order_by("start"))
    starts = [p.start for p in periods]
    allocations = {
        (partition_id, period_id, account): pk
        for pk, partition_id, period_id, account in Allocation.objects.filter(period__machine=machine).values_list(
            "pk", "partition_id", "period_id", "slurm_account"
        )
    }
    tally = _Tally()
    reader = SacctReader(raw_lines, cluster=machine.slurm_cluster, progress=progress)
    with _Staging(zone=zone) as staging:
        for item in reader:
            if isinstance(item, str):
                tally.skipped[item] += 1
                continue
            partition = partitions.get(item.partition)
            if partition is None:
                tally.unknown_partitions[item.partition] = tally.unknown_partitions.get(item.partition, 0) + 1
                continue
            if item.end.tzinfo is not None or (item.start is not None and item.start.tzinfo is not None):
                _to_local(item, zone)  # a time written with an offset: the machine's local time from here on
            day = item.end.date()
            index = bisect_right(starts, day) - 1
            period = periods[index] if index >= 0 and periods[index].end >= day else None
            if period is None:
                tally.outside_periods += 1
                continue
            charge = charge_of(item, partition.accounting_unit)
            allocation_id = allocations.get((partition.pk, period.pk, item.account))
            if allocation_id is None:
                entry = tally.unknown_accounts.setdefault((item.account, partition.name), [0, Decimal(0)])
                entry[0] += 1
                entry[1] += charge
                continue
            staging.add(item, allocation_id, day, charge)
            tally.staged += 1
        staging.finish()
        tally.lines = reader.data_lines

        usage_table = _quote(UsageRecord._meta.db_table)
        daily_table = _quote(UsageDaily._meta.db_table)
        # Jobs of this machine imported before: counted once, so left out.
        already = staging.execute(
            "DELETE FROM {staging} WHERE EXISTS (SELECT 1 FROM " + usage_table + " u WHERE u.machine_id = %s "  # noqa: S608
            "AND u.job_id_raw = {staging}.job_id_raw)",
            [machine.pk],
        )
        # A job listed twice in the file counts once (its first line).
        repeated = staging.execute(
            "DELETE FROM {staging} WHERE EXISTS (SELECT 1 FROM {staging} earlier WHERE earlier.job_id_raw = "
            "{staging}.job_id_raw AND earlier.line_no < {staging}.line_no)"
        )
        columns = ", ".join(_Staging.COLUMNS[1:])
        selected = columns.replace("started_at", staging.time_column("started_at")).replace(
            "ended_at", staging.time_column("ended_at")
        )
        zone_params = [machine.time_zone, machine.time_zone] if staging.postgres else []
        imported = staging.execute(
            "INSERT INTO " + usage_table + " (machine_id, usage_import_id, " + columns + ") "  # noqa: S608
            "SELECT %s, %s, " + selected + " FROM {staging}",
            [machine.pk, usage_import.pk, *zone_params],
        )
        staging.execute(
            "INSERT INTO " + daily_table + " (allocation_id, day, amount, jobs) "  # noqa: S608
            "SELECT allocation_id, day, SUM(charge), COUNT(*) FROM {staging} WHERE 1 = 1 GROUP BY allocation_id, day "
            "ON CONFLICT (allocation_id, day) DO UPDATE SET amount = " + daily_table + ".amount + excluded.amount, "
            "jobs = " + daily_table + ".jobs + excluded.jobs"
        )
        per_allocation = staging.fetchall(
            "SELECT allocation_id, SUM(charge) FROM {staging} GROUP BY allocation_id ORDER BY allocation_id"
        )

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
            {"account": account, "partition": partition, "jobs": jobs, "charge": str(charge)}
            for (account, partition), (jobs, charge) in sorted(tally.unknown_accounts.items())
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
