"""Officer's submission list (page and API, 50 per page) on the scale dataset vs a trivial view served the same way.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/proposals.py [--repeat N]
Reads the scale dataset (`manage.py seed_scale` builds it first when it is missing: 10,000 proposals over 3 calls
and 12 cut-offs, with budget lines); prints median latency, query count and the ratio to the trivial view
measured in the same run. Goal: the list page ≤ 10× the trivial page.
"""

import argparse

from _common import analyze, count_queries, ensure_scale_dataset, logged_in, median_ms, page, report, setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    setup()
    ensure_scale_dataset()
    analyze()

    from calls.models import Proposal

    client = logged_in("scale-officer")

    submitted = Proposal.objects.exclude(status=Proposal.Status.DRAFT)
    last_page = max(1, (submitted.count() + 49) // 50)
    trivial = median_ms(page(client, "/bench/trivial/"), repeat=args.repeat)
    rows = [
        ("trivial page (login, base template, no data)", trivial, count_queries(page(client, "/bench/trivial/"))),
        ("bare health check /health/ (no session)", median_ms(page(client, "/health/"), repeat=args.repeat), 0),
    ]
    for name, path in [
        ("submission list page (50/page)", "/officer/submissions/"),
        ("submission list page, page 100", "/officer/submissions/?page=100"),
        (f"submission list page, last page ({last_page})", f"/officer/submissions/?page={last_page}"),
        ("submission list page, filtered by status (selected)", "/officer/submissions/?status=selected"),
        ("API /api/v1/proposals/ (50/page)", "/api/v1/proposals/"),
    ]:
        rows.append((name, median_ms(page(client, path), repeat=args.repeat), count_queries(page(client, path))))
    report(
        f"Proposals list at {Proposal.objects.count():,} proposals, {submitted.count():,} submitted (median of "
        f"{args.repeat}, in-process client, same run)",
        rows,
        trivial,
    )


if __name__ == "__main__":
    main()
