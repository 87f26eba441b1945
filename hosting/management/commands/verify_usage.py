from django.core.management.base import BaseCommand

from hosting.management.machines import machine_named
from hosting.selectors import usage_consistency_report


class Command(BaseCommand):
    help = (
        "Check the Slurm usage: each job's machine, allocation, import, period and charge, and the daily aggregates "
        "against the job rows. Prints OK, or the problems found (exit code 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--machine", help="only this machine (by name)")
        parser.add_argument("--limit", type=int, default=20, help="problems shown of each kind (default 20)")

    def handle(self, *args, **options):
        machine = machine_named(options["machine"]) if options["machine"] else None
        report = usage_consistency_report(machine=machine, limit=max(options["limit"], 1))
        scope = machine.name if machine else "all machines"
        if report.ok:
            self.stdout.write(f"OK: {scope}, {report.jobs:,} jobs and {report.daily:,} daily aggregates consistent.")
            return
        self.stderr.write(f"INCONSISTENT: {scope}, {report.jobs:,} jobs, {report.daily:,} daily aggregates:")
        for problem in report.problems:
            self.stderr.write(f"  {problem}")
        raise SystemExit(1)
