"""Officer's submission list (page and API, 50 per page) at 10,000 proposals vs a trivial view served the same way.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_bench .venv/bin/python bench/proposals.py [--proposals N]
Builds the proposals once (bulk inserts) when the database has fewer; prints median latency, query count and
the ratio to the trivial view measured in the same run. Goal: the list page ≤ 10× the trivial page.
"""

import argparse
import random
from datetime import timedelta
from decimal import Decimal

from _common import analyze, count_queries, median_ms, report, setup


def build(n: int) -> None:
    from django.utils import timezone

    from calls.models import BudgetLine, Call, CutOff, Proposal
    from eurohpc.models import Organisation, Role, User
    from eurohpc.services import organisation_create, user_create

    have = Proposal.objects.filter(call__identifier__startswith="BENCH-").count()
    if have >= n:
        return
    now = timezone.now()
    orgs = list(Organisation.objects.all()[:20])
    while len(orgs) < 20:
        orgs.append(
            organisation_create(
                legal_name=f"Bench centre {len(orgs)}",
                short_name=f"BENCH{len(orgs)}",
                country="LU",
                kind="hosting_entity",
                actor=None,
            )
        )
    author = User.objects.filter(username="bench-applicant").first() or user_create(
        username="bench-applicant",
        password="bench-only-password",
        organisation=orgs[0],
        roles=[Role.APPLICANT],
        actor=None,
    )
    calls = []
    for c in range(3):
        call, _ = Call.objects.get_or_create(
            identifier=f"BENCH-{c}",
            defaults={
                "title": f"Benchmark call {c}",
                "prong": "new_host",
                "status": "open",
                "opens_at": now - timedelta(days=400),
                "allowed_types": ["new_system", "upgrade", "activities"],
            },
        )
        cut_offs = [
            CutOff.objects.get_or_create(call=call, closes_at=now - timedelta(days=360 - 90 * k))[0] for k in range(4)
        ]
        calls.append((call, cut_offs))
    rng = random.Random(7)
    statuses = ["submitted", "screening", "eligible", "ineligible", "withdrawn"]
    batch, lines = [], []
    for i in range(have, n):
        call, cut_offs = calls[i % 3]
        cut_off = cut_offs[i % 4]
        batch.append(
            Proposal(
                call=call,
                organisation=orgs[i % 20],
                created_by=author,
                submitted_by=author,
                type="new_system",
                title=f"Benchmark proposal {i}",
                acronym=f"B{i}",
                planned_machine_name="X",
                planned_machine_country="LU",
                status=rng.choice(statuses),
                reference=f"{call.identifier}-{i:06d}",
                cut_off=cut_off,
                submitted_at=cut_off.closes_at - timedelta(hours=rng.randint(1, 2000)),
                withdrawn_at=now,
                eligibility_reason="bench",
                eligibility_decided_at=now,
            )
        )
    created = Proposal.objects.bulk_create(batch, batch_size=2000)
    for p in created:
        for category in ("acquisition", "operations"):
            lines.append(
                BudgetLine(
                    proposal=p,
                    category=category,
                    total_cost=Decimal("2000000.00"),
                    eu_contribution=Decimal("1000000.00"),
                    national_contribution=Decimal("1000000.00"),
                )
            )
    BudgetLine.objects.bulk_create(lines, batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    setup()
    from django.test import Client

    from calls.models import Proposal
    from eurohpc.models import Role, User
    from eurohpc.services import user_create

    build(args.proposals)
    analyze()
    officer = User.objects.filter(username="bench-officer").first() or user_create(
        username="bench-officer", password="bench-only-password", roles=[Role.PROGRAMME_OFFICER], actor=None
    )
    client = Client()
    client.force_login(officer)

    def get(path):
        def run():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return run

    trivial = median_ms(get("/bench/trivial/"), repeat=args.repeat)
    rows = [
        ("trivial page (login, base template, no data)", trivial, count_queries(get("/bench/trivial/"))),
        ("bare health check /health/ (no session)", median_ms(get("/health/"), repeat=args.repeat), 0),
    ]
    for name, path in [
        ("submission list page (50/page)", "/officer/submissions/"),
        ("submission list page, page 100", "/officer/submissions/?page=100"),
        ("submission list page, filtered by status", "/officer/submissions/?status=eligible"),
        ("API /api/v1/proposals/ (50/page)", "/api/v1/proposals/"),
    ]:
        rows.append((name, median_ms(get(path), repeat=args.repeat), count_queries(get(path))))
    total = Proposal.objects.count()
    report(
        f"Proposals list at {total:,} proposals (median of {args.repeat}, in-process client, same run)", rows, trivial
    )


if __name__ == "__main__":
    main()
