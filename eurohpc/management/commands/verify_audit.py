from django.core.management.base import BaseCommand

from eurohpc.selectors import audit_chain_report


class Command(BaseCommand):
    help = "Walk the audit trail's hash chain; name the first tampered event (exit code 1) or print OK."

    def handle(self, *args, **options):
        report = audit_chain_report()
        if report.ok:
            self.stdout.write(f"OK: {report.checked} audit events, chain intact.")
            return
        self.stderr.write(
            f"TAMPERED: audit event #{report.first_bad_seq}: {report.reason} "
            f"({report.checked} earlier event(s) intact)."
        )
        raise SystemExit(1)
