from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from eurohpc.models import User
from eurohpc.seed.demo import DEMO_PASSWORD, DEMO_USERS

# Each app's `seed.demo.seed(out=...)`, in dependency order; each one is idempotent.
SEEDERS = [
    "eurohpc.seed.demo",
    "eurohpc.seed.demo_registration",  # registrations in the programme office's queue
    "eurohpc.seed.demo_tokens",  # the finance officer's API tokens: in use, expired, revoked
    "hosting.seed.demo",
    "calls.seed.demo",
    "calls.seed.demo_evaluation",
    "calls.seed.demo_access",
    "calls.seed.demo_redress",  # a published cut-off of its own, after the evaluation's demo experts exist
    "calls.seed.demo_deadlines",  # after every seeder that assigns experts: its reminder pass covers them all
    "grants.seed.demo",
]


class Command(BaseCommand):
    help = "Load the programme's demo data (organisations, machines, calls, users of each role). Idempotent."

    def handle(self, *args, **options):
        if not settings.DEMO_USERS_ALLOWED:
            raise CommandError("seed_demo refuses to create demo users under production settings.")
        already = User.objects.filter(username__in=[user[0] for user in DEMO_USERS]).exists()
        for name in SEEDERS:
            try:
                module = import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            with transaction.atomic():
                module.seed(out=self.stdout.write)
        if already:
            # Every seeder is idempotent: what was there is kept, only what was missing is added.
            self.stdout.write(
                self.style.SUCCESS("Demo data already there: kept as it was (make clean-demo starts afresh).")
            )
            self.stdout.write(f"Logins (password: {DEMO_PASSWORD}):")
        else:
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded. Logins (password: {DEMO_PASSWORD}):"))
        for username, _first, _last, org, roles in DEMO_USERS:
            role_names = ", ".join(str(r.label) for r in roles)
            self.stdout.write(f"  {username:<11} {role_names}{f' ({org})' if org else ''}")
        from calls.seed.demo_access import DEMO_LOGINS
        from calls.seed.demo_redress import DEMO_LOGINS as REDRESS_LOGINS
        from eurohpc.seed.demo_registration import DEMO_LOGINS as REGISTRATION_LOGINS

        for username, description in [*DEMO_LOGINS, *REDRESS_LOGINS, *REGISTRATION_LOGINS]:
            self.stdout.write(f"  {username:<11} {description}")
