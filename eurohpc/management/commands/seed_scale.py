"""Build the scale dataset: a programme a few years into its life, for benchmarks and load tests.

    python manage.py seed_scale                 # 10,000 proposals, 30,000 reviews, 200,000 ledger entries,
                                                # 20 machines, 2,000 allocations, 2,000,000 usage rows,
                                                # 20,000 access applications
    python manage.py seed_scale --scale 0.01    # every count × 0.01
    python manage.py seed_scale --usage 500000  # one count changed

Every row is written in bulk (COPY on PostgreSQL, batched inserts elsewhere) by each app's `seed.scale.build()`,
in one transaction: a failure leaves nothing behind. The rows keep the product's invariants (commitments
within every envelope above them, payments within commitments, allocations within the Union quota, daily
usage aggregates equal to the job rows) but are not written through the services, so **no audit event is
written for them**: the audit trail stays a valid chain, of the events written after the load.
"""

import math
import random
from contextlib import contextmanager
from time import perf_counter

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from eurohpc.models import Organisation, Role, User, UserRole

DEFAULTS = {
    "proposals": 10_000,
    "reviews": 30_000,
    "ledger": 200_000,
    "machines": 20,
    "allocations": 2_000,
    "usage": 2_000_000,
    "access": 20_000,
}
HELP = {
    "proposals": "proposals over 3 calls and 12 cut-offs, with their budget lines",
    "reviews": "individual reviews, each with its assignment",
    "ledger": "ledger entries (commitments, payments, decommitments, recoveries) of the selected proposals' grants",
    "machines": "machines, each with a GPU and a CPU partition, a hosting agreement and four allocation periods",
    "allocations": "allocations, each to its own user project",
    "usage": "Slurm usage rows (finished jobs), with their daily aggregates",
    "access": "access applications over the modes, the machines' GPU partitions and every state, with their "
    "technical assessments, reviews, decisions and the awarded ones' projects and allocations",
}
PREFIX = "SCALE"
PASSWORD = "scale-only-password"  # noqa: S105 - documented, refused under production settings
EU_COUNTRIES = ["AT", "BE", "BG", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
                "LV", "NL", "PL", "PT", "RO", "SE", "SI", "SK"]  # fmt: skip


class Loader:
    """Writes rows in bulk and times each table: COPY on PostgreSQL, batched INSERTs on other databases."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self.timings: dict[str, list] = {}  # table -> [rows, seconds]
        self.set_based_checks = False
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('is_superuser') = 'on'")
                self.set_based_checks = cursor.fetchone()[0]

    @contextmanager
    def _references_checked_per_table(self, cursor, model: type[models.Model], columns: list[str]):
        """Write without PostgreSQL's row-by-row foreign-key triggers, then check every reference of the table
        in one query per foreign key; any dangling reference aborts the load (the transaction rolls back).

        The per-row checks cost more than the load itself at millions of rows. Turning them off for the
        transaction (`SET LOCAL session_replication_role = replica`) needs a superuser; otherwise the triggers
        stay on and check each row at commit, as usual.
        """
        if not (self.set_based_checks and connection.in_atomic_block):
            yield
            return
        cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield
        finally:
            cursor.execute("SET LOCAL session_replication_role = origin")
        quote = connection.ops.quote_name
        for name in columns:
            f = model._meta.get_field(name)
            if not (f.many_to_one or f.one_to_one):
                continue
            target = f.target_field
            child, parent, column = quote(model._meta.db_table), quote(target.model._meta.db_table), quote(f.column)
            cursor.execute(
                f"SELECT COUNT(*) FROM {child} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "  # noqa: S608 - our names
                f"(SELECT 1 FROM {parent} p WHERE p.{quote(target.column)} = c.{column})"
            )
            dangling = cursor.fetchone()[0]
            if dangling:
                raise RuntimeError(f"{dangling} rows of {model._meta.db_table}.{f.column} point at no row.")

    @contextmanager
    def timed(self, table: str):
        entry = self.timings.setdefault(table, [0, 0.0])
        start = perf_counter()
        try:
            yield entry
        finally:
            entry[1] += perf_counter() - start

    def ids(self, model: type[models.Model], n: int) -> list[int]:
        """Reserve `n` primary keys of `model` (so that children can point at rows written by COPY)."""
        if n <= 0:
            return []
        table = model._meta.db_table
        with self.timed(table), connection.cursor() as cursor:
            if self.postgres:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
                )
                return [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            first = cursor.fetchone()[0] + 1
            return list(range(first, first + n))

    def copy(self, model: type[models.Model], columns: list[str], rows) -> int:
        """Write `rows` (tuples in the order of `columns`, Python values) into `model`'s table."""
        from psycopg.types.json import Jsonb

        fields = [model._meta.get_field(name) for name in columns]
        quote = connection.ops.quote_name
        table = model._meta.db_table
        names = ", ".join(quote(f.column) for f in fields)
        count = 0
        with self.timed(table) as entry, connection.cursor() as cursor:
            if self.postgres:
                json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
                with (
                    self._references_checked_per_table(cursor, model, columns),
                    cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        if json_at:
                            row = list(row)
                            for i in json_at:
                                row[i] = Jsonb(row[i])
                        copy.write_row(row)
                        count += 1
            else:
                sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
                batch = []
                for row in rows:
                    batch.append([f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)])
                    if len(batch) == 5000:
                        cursor.executemany(sql, batch)
                        count, batch = count + len(batch), []
                if batch:
                    cursor.executemany(sql, batch)
                    count += len(batch)
            entry[0] += count
        return count

    def bulk(self, model: type[models.Model], objs: list) -> list:
        """bulk_create for small tables whose rows are wanted back with their keys."""
        with self.timed(model._meta.db_table) as entry:
            created = model.objects.bulk_create(objs, batch_size=2000)
            entry[0] += len(created)
        return created

    def execute(self, model: type[models.Model], columns: list[str], sql: str, params: list) -> int:
        """An INSERT … SELECT into `model`'s `columns` (aggregates computed by the database)."""
        with self.timed(model._meta.db_table) as entry, connection.cursor() as cursor:
            with self._references_checked_per_table(cursor, model, columns):
                cursor.execute(sql, params)
                rows = cursor.rowcount
            entry[0] += rows
        return rows


class People:
    """The organisations and users of the scale dataset (all with the password `scale-only-password`)."""

    def __init__(self, *, organisations, applicants, evaluators, officer, finance, operators, technical_experts=()):
        self.organisations: list[Organisation] = organisations
        self.applicants: dict[int, User] = applicants  # organisation id -> its applicant
        self.evaluators: list[User] = evaluators
        self.officer: User = officer
        self.finance: User = finance
        self.operators: list[User] = operators
        self.technical_experts: list[User] = list(technical_experts)


def build_people(*, load: Loader, counts: dict[str, int], now) -> People:
    n_orgs = min(200, max(3, counts["proposals"] // 50))
    n_evaluators = min(2000, max(10, math.ceil(counts["reviews"] / 100)))
    n_hosts = min(n_orgs, max(1, counts["machines"]))
    organisations = load.bulk(
        Organisation,
        [
            Organisation(
                legal_name=f"Scale hosting entity {n:03d}",
                short_name=f"{PREFIX}-ORG-{n:03d}",
                country=EU_COUNTRIES[n % len(EU_COUNTRIES)],
                kind=Organisation.Kind.HOSTING_ENTITY if n < n_hosts else Organisation.Kind.UNIVERSITY,
                created_at=now,
            )
            for n in range(n_orgs)
        ],
    )
    password = make_password(PASSWORD)  # hashed once, shared by every scale user

    def user(username: str, first: str, last: str, organisation=None) -> User:
        return User(username=username, password=password, first_name=first, last_name=last,
                    email=f"{username}@scale.invalid", organisation=organisation, date_joined=now)  # fmt: skip

    plan: list[tuple[User, str]] = []
    for n, organisation in enumerate(organisations):
        plan.append((user(f"scale-applicant-{n:03d}", "Applicant", f"{n:03d}", organisation), Role.APPLICANT))
    for n in range(n_evaluators):
        plan.append((user(f"scale-evaluator-{n:04d}", "Expert", f"{n:04d}"), Role.EVALUATOR))
    plan.append((user("scale-officer", "Programme", "Officer"), Role.PROGRAMME_OFFICER))
    # A few hosting experts assess the technical feasibility of the new systems and upgrades.
    for n in range(max(2, n_evaluators // 100)):
        plan.append((user(f"scale-technical-{n:03d}", "Technical", f"{n:03d}"), Role.TECHNICAL_EXPERT))
    plan.append((user("scale-finance", "Finance", "Officer"), Role.FINANCE_OFFICER))
    for n, organisation in enumerate(organisations[:n_hosts]):
        plan.append((user(f"scale-operator-{n:03d}", "Operator", f"{n:03d}", organisation), Role.HOSTING_OPERATOR))
    users = load.bulk(User, [u for u, _ in plan])
    load.bulk(UserRole, [UserRole(user=u, role=role, granted_at=now) for u, (_, role) in zip(users, plan, strict=True)])
    by_role: dict[str, list[User]] = {}
    for u, (_, role) in zip(users, plan, strict=True):
        by_role.setdefault(role, []).append(u)
    return People(
        organisations=organisations,
        applicants={u.organisation_id: u for u in by_role[Role.APPLICANT]},
        evaluators=by_role[Role.EVALUATOR],
        officer=by_role[Role.PROGRAMME_OFFICER][0],
        finance=by_role[Role.FINANCE_OFFICER][0],
        operators=by_role[Role.HOSTING_OPERATOR],
        technical_experts=by_role[Role.TECHNICAL_EXPERT],
    )


class Command(BaseCommand):
    help = (
        "Build the scale dataset (10,000 proposals, 30,000 reviews, 200,000 ledger entries, 20 machines, "
        "2,000 allocations, 2,000,000 usage rows, 20,000 access applications by default) in bulk, without audit "
        "events. Skips when the dataset is already there; refused under production settings."
    )

    def add_arguments(self, parser):
        for name, default in DEFAULTS.items():
            parser.add_argument(f"--{name}", type=int, default=default, help=f"{HELP[name]} (default {default:,})")
        parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (e.g. 0.01)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (the same seed builds the same data)")

    def handle(self, *args, **options):
        if not settings.DEMO_USERS_ALLOWED:
            raise CommandError("seed_scale refuses to run under production settings: it creates users with a known "
                               "password and thousands of made-up proposals.")  # fmt: skip
        counts = self._counts(options)
        from calls.models import Call, Proposal

        existing = Call.objects.filter(identifier__startswith=f"{PREFIX}-")
        if existing.exists():
            proposals = Proposal.objects.filter(call__in=existing).count()
            self.stdout.write(
                f"Scale data already present ({existing.count()} {PREFIX}- calls, {proposals:,} proposals): nothing "
                "done. Build it again on a fresh database (createdb …; manage.py migrate; manage.py seed_scale)."
            )
            return
        self.stdout.write(
            "Building the scale dataset: "
            + ", ".join(f"{value:,} {name}" for name, value in counts.items())
            + f" ({connection.vendor}). No audit events are written for these rows."
        )
        started = perf_counter()
        load = self._build(counts, options["seed"])
        if load.postgres:
            with load.timed("ANALYZE (planner statistics)"), connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        total = perf_counter() - started
        self._report(load, total)

    def _counts(self, options) -> dict[str, int]:
        scale = options["scale"]
        if scale <= 0:
            raise CommandError(f"--scale must be positive, got {scale}.")
        counts = {}
        for name in DEFAULTS:
            value = options[name]
            if value < 0:
                raise CommandError(f"--{name} cannot be negative, got {value}.")
            counts[name] = max(1, round(value * scale)) if value > 0 else 0
        for needed, by in (("proposals", "reviews"), ("proposals", "ledger"), ("machines", "allocations"),
                           ("allocations", "usage"), ("machines", "access")):  # fmt: skip
            if counts[by] and not counts[needed]:
                raise CommandError(f"--{by} needs at least one of --{needed}.")
        return counts

    def _build(self, counts: dict[str, int], seed: int) -> Loader:
        from calls.seed import scale as calls_scale
        from calls.seed import scale_access
        from grants.seed import scale as grants_scale
        from hosting.seed import scale as hosting_scale

        rng = random.Random(seed)
        now = timezone.now().replace(microsecond=0)
        load = Loader()
        with transaction.atomic():
            people = build_people(load=load, counts=counts, now=now)
            hosting = hosting_scale.build(
                load=load, rng=rng, now=now, machines=counts["machines"], allocations=counts["allocations"],
                usage=counts["usage"], people=people,
            )  # fmt: skip
            selected = calls_scale.build(
                load=load, rng=rng, now=now, proposals=counts["proposals"],
                reviews=counts["reviews"], people=people, machines=hosting.machines,
                need_selected=counts["ledger"] > 0,
            )  # fmt: skip
            grants_scale.build(load=load, rng=rng, now=now, ledger=counts["ledger"], selected=selected, people=people)
            scale_access.build(load=load, rng=rng, now=now, applications=counts["access"], people=people,
                               machines=hosting.machines)  # fmt: skip
        return load

    def _report(self, load: Loader, total: float) -> None:
        width = max(len(t) for t in load.timings) + 2
        self.stdout.write(f"\n{'table':<{width}} {'rows':>11} {'seconds':>8}")
        for table, (rows, seconds) in load.timings.items():
            self.stdout.write(f"{table:<{width}} {rows:>11,} {seconds:>8.2f}")
        rows = sum(r for r, _ in load.timings.values())
        self.stdout.write(f"{'total':<{width}} {rows:>11,} {total:>8.2f}")
        self.stdout.write(self.style.SUCCESS(
            f"Scale dataset built in {total:.1f} s. Logins (password {PASSWORD}): scale-officer, scale-finance, "
            "scale-applicant-000, scale-evaluator-0000, scale-operator-000."
        ))  # fmt: skip
