"""Envelope positions at 200,000 ledger rows: queries, median time, and the ratio to a trivial view.

Runs on a throw-away test database of the configured DATABASE_URL (SQLite in memory by default;
PostgreSQL when DATABASE_URL points at it), so the project's own data is never touched.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_grants .venv/bin/python bench/envelope_position.py
"""

import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eurohpc.settings")

import django

django.setup()

from django.db import connection
from django.test.utils import setup_test_environment

ROWS = int(os.environ.get("BENCH_LEDGER_ROWS", "200000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
LUX = ZoneInfo("Europe/Luxembourg")


def build(rows: int):
    """Envelopes, one call and N grants, and `rows` ledger entries spread over two years and three envelopes."""
    from calls.models import Call, CutOff, Proposal
    from eurohpc.models import Organisation, Role, User, UserRole
    from grants.models import Envelope, Grant, LedgerEntry

    root = Envelope.objects.create(code="AIF-2024-2027", name="root", programme="digital_europe", period_start=2024,
                                   period_end=2027, amount=Decimal("800000000000.00"))  # fmt: skip
    children = [
        Envelope.objects.create(
            code=f"AIF-{year}",
            name=str(year),
            programme="digital_europe",
            period_start=year,
            period_end=year,
            amount=Decimal("400000000000.00"),
            parent=root,
        )
        for year in (2024, 2025, 2026)
    ]
    organisation = Organisation.objects.create(legal_name="Bench Centre", short_name="BENCH", country="LU",
                                               kind="hosting_entity")  # fmt: skip
    user = User.objects.create(username="bench-finance")
    UserRole.objects.create(user=user, role=Role.FINANCE_OFFICER)
    start = datetime(2024, 9, 1, tzinfo=LUX)
    call = Call.objects.create(identifier="BENCH-CALL", title="bench", prong="new_host", opens_at=start)
    cut_off = CutOff.objects.create(call=call, closes_at=start + timedelta(days=60))
    grants = []
    for i in range(20):
        proposal = Proposal.objects.create(
            call=call, organisation=organisation, created_by=user, type="new_system", title="bench",
            acronym=f"B{i}", status="selected", reference=f"BENCH-{i:04d}", submitted_at=start, cut_off=cut_off,
            eligibility_decided_at=start, eligibility_reason="bench",
        )  # fmt: skip
        grants.append(
            Grant.objects.create(
                reference=f"GA-BENCH-{i:04d}",
                proposal=proposal,
                beneficiary=organisation,
                eu_contribution=Decimal("1000000000.00"),
                national_contribution=Decimal("1000000000.00"),
                total_cost=Decimal("2000000000.00"),
                co_funding_rate=Decimal("0.5"),
                mutual_insurance_rate=Decimal("0.05"),
                envelope=children[i % 3],
                start_date=date(2025, 1, 1),
                end_date=date(2028, 12, 31),
                status="active",
                signed_at=start,
            )
        )
    kinds = ["commitment", "commitment", "prefinancing", "interim", "decommitment", "final", "recovery"]
    batch = []
    for n in range(rows):
        grant = grants[n % len(grants)]
        kind = kinds[n % len(kinds)]
        batch.append(
            LedgerEntry(
                kind=kind,
                amount=Decimal("1000.00") + n % 97,
                grant=grant,
                envelope_id=grant.envelope_id,
                withheld=Decimal("50.00") if kind == "prefinancing" else Decimal("0.00"),
                actor=user,
                created_at=start + timedelta(minutes=5 * n),
            )
        )
        if len(batch) == 10000:
            LedgerEntry.objects.bulk_create(batch)
            batch = []
    LedgerEntry.objects.bulk_create(batch)
    return user, root, children


class QueryCounter:
    """Counts the SQL statements run inside the block."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)

    def __len__(self):
        return self.count


def median_ms(fn, repeat: int = REPEAT) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    from rest_framework.test import APIClient

    from grants.selectors import envelope_available, envelope_position, envelope_positions

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        t0 = time.perf_counter()
        user, root, children = build(ROWS)
        built = time.perf_counter() - t0
        if connection.vendor == "postgresql":  # what autovacuum does to an append-only table after a bulk load
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE grants_ledgerentry")
        as_of = date(2025, 6, 30)
        with QueryCounter() as all_positions:
            positions = envelope_positions()
        with QueryCounter() as one_position:
            envelope_position(envelope=children[0], as_of=as_of)
        client = APIClient()
        client.force_authenticate(user)
        selector_ms = median_ms(lambda: envelope_positions())
        as_of_ms = median_ms(lambda: envelope_position(envelope=children[0], as_of=as_of))
        available_ms = median_ms(lambda: envelope_available(children[1]))
        api_ms = median_ms(lambda: client.get("/api/v1/envelopes/"))
        position_api_ms = median_ms(lambda: client.get(f"/api/v1/envelopes/{root.pk}/position/?as_of=2025-06-30"))
        trivial_ms = median_ms(lambda: client.get("/api/v1/users/me/"))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"database: {connection.vendor}; ledger rows: {ROWS:,} (built in {built:.1f} s); repeats: {REPEAT}")
    print(f"queries: envelope_positions() = {len(all_positions)}, envelope_position(as_of) = {len(one_position)}")
    print(f"root position: net committed {positions[0].net_committed:,.2f}, paid {positions[0].paid:,.2f}")
    print(f"median envelope_positions()            {selector_ms:8.2f} ms")
    print(f"median envelope_position(as_of)        {as_of_ms:8.2f} ms")
    print(f"median envelope_available()            {available_ms:8.2f} ms")
    print(f"median GET /api/v1/envelopes/          {api_ms:8.2f} ms")
    print(f"median GET /api/v1/envelopes/{{id}}/position/?as_of=  {position_api_ms:8.2f} ms")
    print(f"median GET /api/v1/users/me/ (trivial) {trivial_ms:8.2f} ms")
    print(f"ratio envelopes endpoint / trivial view: {api_ms / trivial_ms:.2f}")
    print(f"ratio position endpoint / trivial view:  {position_api_ms / trivial_ms:.2f}")


if __name__ == "__main__":
    main()
