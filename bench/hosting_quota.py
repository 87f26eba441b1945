"""Quota pages on the scale dataset (2,000,000 usage rows): median time, queries, and the ratio to a trivial page.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/hosting_quota.py [--repeat N]
Reads the scale dataset (`manage.py seed_scale` builds it first when it is missing: 20 machines, 2,000 allocations,
2,000,000 usage rows and their daily aggregates). The pages read the per-allocation daily aggregates, never the
job rows, so their query count does not grow with the usage table. Prints median latency, query count and the
ratio to the trivial page (/bench/trivial/) measured in the same run.
"""

import argparse

from _common import analyze, count_queries, ensure_scale_dataset, logged_in, median_ms, page, report, setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    setup()
    ensure_scale_dataset()
    analyze()

    from eurohpc.models import User
    from hosting.models import Allocation, Machine, UsageDaily, UsageRecord

    operator = User.objects.get(username="scale-operator-000")
    machine = Machine.objects.visible_to(operator).order_by("name").first()
    officer_client, operator_client = logged_in("scale-officer"), logged_in(operator.username)

    trivial = median_ms(page(officer_client, "/bench/trivial/"), repeat=args.repeat)
    rows = [
        (
            "trivial page (login, session, base template)",
            trivial,
            count_queries(page(officer_client, "/bench/trivial/")),
        )
    ]
    for name, client, path in [
        ("machine page, quota per period (officer)", officer_client, f"/machines/{machine.pk}/"),
        ("operator quota page", operator_client, "/quota/"),
        ("allocation list, first page of 50 (officer)", officer_client, "/allocations/"),
        ("API quota position (officer)", officer_client, f"/api/v1/machines/{machine.pk}/quota/"),
        ("officer dashboard (at-risk allocations, alerts)", officer_client, "/dashboard/"),
        ("operator dashboard (own machines' quota)", operator_client, "/dashboard/"),
    ]:
        rows.append((name, median_ms(page(client, path), repeat=args.repeat), count_queries(page(client, path))))
    report(
        f"Quota pages on the scale dataset: {UsageRecord.objects.count():,} usage rows, "
        f"{UsageDaily.objects.count():,} daily aggregates, {Allocation.objects.count():,} allocations, "
        f"{Machine.objects.count()} machines (median of {args.repeat}, in-process client, same run)",
        rows,
        trivial,
    )


if __name__ == "__main__":
    main()
