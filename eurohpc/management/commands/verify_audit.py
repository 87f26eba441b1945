from django.core.management.base import BaseCommand

from eurohpc.services import audit_chain_verify


class Command(BaseCommand):
    help = "Walk the audit trail's hash chain; name the first tampered event (exit code 1) or print OK."

    def handle(self, *args, **options):
        check = audit_chain_verify()  # recorded: the audit page shows when the chain last held
        if check.ok:
            self.stdout.write(f"OK: {check.events} audit events, chain intact.")
            return
        self.stderr.write(
            f"TAMPERED: audit event #{check.first_bad_seq}: {check.reason} ({check.events} earlier event(s) intact)."
        )
        raise SystemExit(1)
