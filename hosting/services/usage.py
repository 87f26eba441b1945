"""Importing Slurm usage: parse, write the new jobs once in bulk, keep daily aggregates, raise alerts.

One import is one transaction: a malformed line refuses the whole file (its line number and reason) and
nothing is written. Imports of one machine run one after the other (the machine row is locked), so a job is
counted once even when the same file is sent twice at the same moment.

Two ways to write (hosting/services/usage_writers.py): on PostgreSQL a file of new jobs is COPYed straight into
the usage table while it is read; a file with jobs imported before goes through a staging table whose insert
leaves them out. The unique key on (machine, JobIDRaw) decides: it refuses the straight copy of a known job.
"""

import hashlib
import io
import itertools
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO
from zoneinfo import ZoneInfo

import psycopg
from django.core.files.base import File
from django.db import connection, transaction
from django.utils import timezone

from eurohpc.errors import RuleViolation, StateConflict
from eurohpc.models import User
from eurohpc.services import audit_record
from hosting.models import Allocation, AllocationPeriod, Machine, Partition, UsageImport, UsageRecord
from hosting.sacct import SKIP_REASONS, Job, SacctReader, UsageFileError
from hosting.services.alerts import allocation_alerts_check
from hosting.services.usage_writers import StagingTable, UsageCopy, units_decimal, write_staged

# Files up to this size are imported while the uploader waits; larger ones by a Celery task.
SYNC_IMPORT_MAX_BYTES = 2 * 1024 * 1024
MAX_FILE_BYTES = 1024 * 1024 * 1024
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
    orphan_steps: list[tuple[int, str]] = field(default_factory=list)
    orphan_step_count: int = 0

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


def _unit_count(unit: str) -> str:
    """The Job attribute an accounting unit counts: GPUs, cores or nodes."""
    if unit == Partition.Unit.GPU_HOURS:
        return "gpus"
    if unit == Partition.Unit.CORE_HOURS:
        return "cpus"
    return "nodes"


def charge_of(job: Job, unit: str) -> Decimal:
    """GPU-hours = gres/gpu x ElapsedRaw / 3600; node-hours = NNodes x ...; core-hours = NCPUS x ..."""
    return units_decimal(_charge_units(getattr(job, _unit_count(unit)), job.elapsed))


def _to_local(job: Job, zone: ZoneInfo) -> None:
    if job.end.tzinfo is not None:
        job.end = job.end.astimezone(zone).replace(tzinfo=None)
    if job.start is not None and job.start.tzinfo is not None:
        job.start = job.start.astimezone(zone).replace(tzinfo=None)


@dataclass
class _Targets:
    """Where the jobs of a machine go: partitions by Slurm name, periods by day, allocations by account."""

    zone: ZoneInfo
    partitions: dict[str, tuple[int, str, str]]  # Slurm partition -> (partition id, name, Job attribute counted)
    periods: list[AllocationPeriod]
    allocations: dict[tuple[int, int, str], int]  # (partition, period, account) -> allocation
    # The period charged for each End day met, and the day as COPY text: a file spans few days.
    days: dict[date, tuple[int | None, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, machine: Machine) -> "_Targets":
        partitions = {}
        for partition in Partition.objects.filter(machine=machine).order_by("machine__name", "name"):
            for name in partition.slurm_names:
                partitions[name] = (partition.pk, partition.name, _unit_count(partition.accounting_unit))
        allocations = {
            (partition_id, period_id, account): pk
            for pk, partition_id, period_id, account in Allocation.objects.filter(period__machine=machine).values_list(
                "pk", "partition_id", "period_id", "slurm_account"
            )
        }
        periods = list(AllocationPeriod.objects.filter(machine=machine).order_by("start"))
        return cls(zone=ZoneInfo(machine.time_zone), partitions=partitions, periods=periods, allocations=allocations)

    def day(self, day: date) -> tuple[int | None, str]:
        """The period whose dates hold `day` (None if none), and the day as COPY text; remembered per day."""
        known = self.days.get(day)
        if known is None:
            index = bisect_right(self.periods, day, key=lambda period: period.start) - 1
            period = self.periods[index] if index >= 0 and self.periods[index].end >= day else None
            known = self.days[day] = (period.pk if period else None, day.isoformat())
        return known


def _classify(reader: SacctReader, targets: _Targets, tally: _Tally, sink) -> None:
    """Count every line of `reader` in `tally`; hand each chargeable job, once, to `sink.add`."""
    staged_jobs: set[str] = set()
    partitions, allocations, zone, days = targets.partitions, targets.allocations, targets.zone, targets.days
    add, staged = sink.add, 0
    for item in reader:
        if item.__class__ is str:
            tally.skipped[item] += 1
            continue
        found = partitions.get(item.partition)
        if found is None:
            tally.unknown_partitions[item.partition] = tally.unknown_partitions.get(item.partition, 0) + 1
            continue
        partition_id, partition_name, counted = found
        if item.end.tzinfo is not None or (item.start is not None and item.start.tzinfo is not None):
            _to_local(item, zone)  # a time written with an offset: the machine's local time from here on
        day = item.end.date()
        period_id, day_text = days.get(day) or targets.day(day)
        if period_id is None:
            tally.outside_periods += 1
            continue
        units = _charge_units(getattr(item, counted), item.elapsed)
        allocation_id = allocations.get((partition_id, period_id, item.account))
        if allocation_id is None:
            entry = tally.unknown_accounts.setdefault((item.account, partition_name), [0, 0])
            entry[0] += 1
            entry[1] += units
            continue
        if item.job_id_raw in staged_jobs:  # a job listed twice in the file counts once (its first line)
            tally.repeated += 1
            continue
        staged_jobs.add(item.job_id_raw)
        add(item, allocation_id, day, day_text, units)
        staged += 1
    tally.staged += staged
    tally.lines = reader.data_lines
    tally.orphan_steps, tally.orphan_step_count = reader.orphan_steps, reader.orphan_step_count


# Lines read ahead to see whether a file starts with jobs imported before (an export overlapping the last one).
_PROBE_LINES = 2000


def _imported_before(machine: Machine, stream: IO[bytes]) -> bool:
    """Whether the file's first jobs were imported before (then the whole file is staged). Leaves the stream at 0.

    A file that cannot be read is staged too: the staging path names its first bad line.
    """
    job_ids = []
    try:
        for item in SacctReader(itertools.islice(stream, _PROBE_LINES), cluster=machine.slurm_cluster):
            if item.__class__ is not str:
                job_ids.append(item.job_id_raw)
    except UsageFileError:
        return True
    finally:
        stream.seek(0)
    return UsageRecord.objects.filter(machine=machine, job_id_raw__in=job_ids).exists()


def _copy_straight(
    *, usage_import: UsageImport, stream: IO[bytes], targets: _Targets, progress: Progress | None
) -> tuple[_Tally, int, list[tuple]] | None:
    """The jobs COPYed into the usage table as the file is read; None when one was imported before."""
    machine = usage_import.machine
    tally = _Tally()
    try:
        with transaction.atomic(), UsageCopy(machine=machine, usage_import=usage_import) as copy:
            _classify(SacctReader(stream, cluster=machine.slurm_cluster, progress=progress), targets, tally, copy)
            imported, per_allocation = copy.finish()
    except psycopg.errors.UniqueViolation:
        stream.seek(0)
        return None
    return tally, imported, per_allocation


def _stage(
    *, usage_import: UsageImport, stream: Iterable[bytes], targets: _Targets, progress: Progress | None
) -> tuple[_Tally, int, list[tuple]]:
    """The jobs staged, then inserted once: those imported before are left out."""
    machine = usage_import.machine
    tally = _Tally()
    with StagingTable(zone=targets.zone) as staging:
        _classify(SacctReader(stream, cluster=machine.slurm_cluster, progress=progress), targets, tally, staging)
        staging.finish()
        imported, per_allocation = write_staged(staging, machine=machine, usage_import=usage_import)
    return tally, imported, per_allocation


def _seekable(stream) -> bool:
    return callable(getattr(stream, "seekable", None)) and stream.seekable()


def _import_lines(*, usage_import: UsageImport, raw_lines: IO[bytes], progress: Progress | None) -> UsageImport:
    """Parse and write; runs inside the caller's transaction with the machine row locked.

    PostgreSQL: when the file's first jobs are new, straight into the usage table (one COPY, while the file is
    read); a job imported before turns up there, the copy is rolled back and the file staged instead.
    """
    machine = usage_import.machine
    targets = _Targets.of(machine)
    result = None
    if connection.vendor == "postgresql" and _seekable(raw_lines) and not _imported_before(machine, raw_lines):
        result = _copy_straight(usage_import=usage_import, stream=raw_lines, targets=targets, progress=progress)
    if result is None:
        result = _stage(usage_import=usage_import, stream=raw_lines, targets=targets, progress=progress)
    tally, imported, per_allocation = result
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
            {"account": account, "partition": partition, "jobs": jobs, "charge": str(units_decimal(units))}
            for (account, partition), (jobs, units) in sorted(tally.unknown_accounts.items())
        ],
        "unknown_partitions": [
            {"partition": name, "jobs": jobs} for name, jobs in sorted(tally.unknown_partitions.items())
        ],
        "outside_periods": tally.outside_periods,
        "orphan_steps": {
            "count": tally.orphan_step_count,
            "lines": [{"line": at, "job_id_raw": raw} for at, raw in tally.orphan_steps],
        },
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


def usage_refusal(machine: Machine) -> str:
    """Why `machine` takes no usage file now, or "" when it does: a machine without partitions (still in
    procurement, say) has nothing to charge its jobs to. The upload page asks this before offering its form."""
    if not machine.partitions.exists():
        return f"{machine.name} has no partitions yet: its Slurm usage has nothing to be charged to. Add them first."
    return ""


def _check_takes_usage(machine: Machine) -> None:
    reason = usage_refusal(machine)
    if reason:
        raise StateConflict(reason, code="no_partitions")


def _new_import(*, machine, actor, source, file_name, size, sha256, status) -> UsageImport:
    """An import of a file, not saved yet."""
    return UsageImport(machine=machine, uploaded_by=actor, source=source, file_name=file_name[:255], size=size,
                       sha256=sha256, status=status)  # fmt: skip


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
    _check_takes_usage(machine)
    usage_import = _new_import(machine=machine, actor=actor, source=source, file_name=file_name, size=size,
                               sha256=sha256, status=UsageImport.Status.RUNNING)  # fmt: skip
    usage_import.save()
    return _import_lines(usage_import=usage_import, raw_lines=stream, progress=progress)


@transaction.atomic
def usage_import_queue(
    *, machine: Machine, stream: IO[bytes], file_name: str, source: str, actor: User | None
) -> UsageImport:
    """Keep the file and import it in a Celery task after commit (for large files); counts appear when done."""
    from hosting.tasks import run_usage_import

    sha256, size = _digest(stream)
    _check_size(size)
    _check_takes_usage(machine)
    usage_import = _new_import(machine=machine, actor=actor, source=source, file_name=file_name, size=size,
                               sha256=sha256, status=UsageImport.Status.QUEUED)  # fmt: skip
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
            # In the product's lock order (eurohpc/locking.py): the machine, then its import.
            machine_id = UsageImport.objects.filter(pk=usage_import_id).values_list("machine_id", flat=True).first()
            if machine_id is None:
                return None
            machine = Machine.objects.select_for_update().get(pk=machine_id)
            usage_import = (
                UsageImport.objects.select_for_update(of=("self",))
                .select_related("uploaded_by")
                .filter(pk=usage_import_id)
                .first()
            )
            if usage_import is None or usage_import.status != UsageImport.Status.QUEUED:
                return usage_import
            usage_import.machine = machine
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
