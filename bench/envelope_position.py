"""Envelope positions, the finance dashboard and the grant list on the scale dataset, against a trivial page.

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/envelope_position.py [--repeat N]

Reads the scale dataset (`manage.py seed_scale` builds it first when it is missing: 635 grants, 4 envelopes,
200,000 ledger entries); prints median latency, query count and the ratio to the trivial page measured in the
same run, with an in-process client logged in as the scale finance officer (`scale-finance`).
"""

import argparse
from datetime import date

from _common import analyze, count_queries, ensure_scale_dataset, logged_in, median_ms, page, report, setup

AS_OF = date(2025, 6, 30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    setup()
    ensure_scale_dataset()
    analyze()

    from grants.models import Envelope, Grant, LedgerEntry
    from grants.selectors import envelope_available, envelope_position, envelope_positions

    client = logged_in("scale-finance")

    positions = envelope_positions()
    root = next(p for p in positions if p.envelope.code == "SCALE-AIF-2024-2027")
    leaf = next(p.envelope for p in reversed(positions))
    grants = Grant.objects.count()
    last_page = max(1, (grants + 24) // 25)
    trivial = median_ms(page(client, "/bench/trivial/"), repeat=args.repeat)
    rows = [("trivial page (login, base template, no data)", trivial, count_queries(page(client, "/bench/trivial/")))]
    for name, fn in [
        ("envelope_positions() (selector)", envelope_positions),
        (f"envelope_position({leaf.code}, as_of) (selector)", lambda: envelope_position(envelope=leaf, as_of=AS_OF)),
        (f"envelope_available({leaf.code}) (selector)", lambda: envelope_available(leaf)),
    ]:
        rows.append((name, median_ms(fn, repeat=args.repeat), count_queries(fn)))
    for name, path in [
        ("finance dashboard /finance/", "/finance/"),
        ("finance dashboard /finance/?as_of=", f"/finance/?as_of={AS_OF}"),
        ("grant list /grants/ (first page)", "/grants/"),
        (f"grant list /grants/ (last page, {last_page})", f"/grants/?page={last_page}"),
        ("grant list /grants/?status=active", "/grants/?status=active"),
        ("API /api/v1/grants/", "/api/v1/grants/"),
        ("API /api/v1/envelopes/", "/api/v1/envelopes/"),
        (
            "API /api/v1/envelopes/{root}/position/?as_of=",
            f"/api/v1/envelopes/{root.envelope.pk}/position/?as_of={AS_OF}",
        ),
    ]:
        rows.append((name, median_ms(page(client, path), repeat=args.repeat), count_queries(page(client, path))))
    report(
        f"Budget pages at {LedgerEntry.objects.count():,} ledger entries, {grants:,} grants, "
        f"{Envelope.objects.count()} envelopes (median of {args.repeat}, in-process client as scale-finance, same run)",
        rows,
        trivial,
    )
    print(
        f"\nroot {root.envelope.code}: amount {root.amount:,.2f}, net committed {root.net_committed:,.2f}, "
        f"paid {root.paid:,.2f}, available {root.available:,.2f}"
    )


if __name__ == "__main__":
    main()
