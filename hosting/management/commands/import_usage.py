import contextlib
import os
import sys
import tempfile
import time

from django.core.management.base import BaseCommand, CommandError

from eurohpc.errors import DomainError
from hosting.management.machines import machine_named
from hosting.models import UsageImport
from hosting.sacct import UsageFileError
from hosting.services import usage_import_create


class Progress:
    """A one-line progress bar on a terminal; a line every 10% elsewhere."""

    def __init__(self, stream, total: int):
        self.stream = stream
        self.total = max(total, 1)
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.last_tenth = -1

    def __call__(self, done: int, lines: int) -> None:
        share = min(done / self.total, 1.0)
        if self.tty:
            filled = int(share * 30)
            rate = lines / max(time.monotonic() - self.started, 1e-6)
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:6.1%}  {lines:,} lines  {rate:,.0f}/s")
            self.stream.flush()
            return
        tenth = int(share * 10)
        if tenth > self.last_tenth:
            self.last_tenth = tenth
            self.stream.write(f"{share:.0%} read ({lines:,} lines)\n")

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Import Slurm usage (sacct --parsable2 output with its header row) for a machine. A job counts once per "
        "machine, so importing a file again adds nothing; one malformed line refuses the whole file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--machine", required=True, help="the machine's name, e.g. LUMI")
        parser.add_argument("file", help="the sacct file; - reads standard input")
        parser.add_argument("--quiet-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        machine = machine_named(options["machine"])
        path = options["file"]
        with contextlib.ExitStack() as stack:
            if path == "-":
                stream = stack.enter_context(tempfile.TemporaryFile())
                for chunk in iter(lambda: sys.stdin.buffer.read(1024 * 1024), b""):
                    stream.write(chunk)
                name, size = "stdin", stream.tell()
                stream.seek(0)
            else:
                if not os.path.isfile(path):
                    raise CommandError(f"No file at {path}.")
                stream = stack.enter_context(open(path, "rb"))
                name, size = os.path.basename(path), os.path.getsize(path)
            progress = None if options["quiet_progress"] else Progress(self.stderr._out, size or 1)
            if progress is not None:
                stack.callback(progress.close)
            try:
                usage_import = usage_import_create(
                    machine=machine,
                    stream=stream,
                    file_name=name,
                    source=UsageImport.Source.COMMAND,
                    actor=None,
                    progress=progress,
                )
            except UsageFileError as exc:
                raise CommandError(f"Refused, nothing imported. {exc.message}") from exc
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        summary = usage_import.summary
        self.stdout.write(
            f"{machine.name}: {usage_import.lines:,} lines, {usage_import.imported:,} jobs imported "
            f"(charging {usage_import.charged:,.4f}), {usage_import.already_imported:,} already imported, "
            f"{usage_import.skipped:,} skipped, {usage_import.unmapped:,} not charged."
        )
        for reason, count in summary.get("skipped", {}).items():
            self.stdout.write(f"  skipped, {reason}: {count:,}")
        for row in summary.get("unknown_accounts", []):
            self.stdout.write(
                f"  no allocation for account {row['account'] or '(empty)'!r} on {row['partition']}: "
                f"{row['jobs']:,} job(s), {row['charge']}"
            )
        for row in summary.get("unknown_partitions", []):
            self.stdout.write(f"  unknown Slurm partition {row['partition']!r}: {row['jobs']:,} job(s)")
        if summary.get("outside_periods"):
            self.stdout.write(f"  ended outside every allocation period: {summary['outside_periods']:,} job(s)")
