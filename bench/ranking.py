"""The ranking of a cut-off with 2,000 proposals × 3 reviews (page and API) vs a trivial view served the same way.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_bench .venv/bin/python bench/ranking.py [--proposals N]
Builds the evaluated cut-off once (bulk inserts) when the database has fewer proposals in it; prints the median
latency, the query count and the ratio to the trivial view measured in the same run. The ranking itself (the
selector) runs in a constant number of queries (≤ 5), whatever the number of proposals.
"""

import argparse
import random
from datetime import timedelta
from decimal import Decimal

from _common import analyze, count_queries, median_ms, report, setup

CALL = "BENCH-RANKING"
CRITERIA = ("excellence", "impact", "implementation")


def build(n: int):
    from django.utils import timezone

    from calls.models import (
        Assignment,
        BudgetLine,
        Call,
        Consensus,
        ConsensusScore,
        CutOff,
        Proposal,
        Review,
        ReviewScore,
    )
    from calls.models.calls import default_evaluation_scheme
    from eurohpc.models import Organisation, Role, User
    from eurohpc.services import organisation_create, user_create

    now = timezone.now()
    call, _ = Call.objects.get_or_create(
        identifier=CALL,
        defaults={
            "title": "Benchmark call: ranking",
            "prong": "new_host",
            "status": "closed",
            "opens_at": now - timedelta(days=400),
            "allowed_types": ["new_system"],
            "indicative_budget": Decimal("400000000.00"),
        },
    )
    cut_off = CutOff.objects.filter(call=call).first() or CutOff.objects.create(
        call=call, closes_at=now - timedelta(days=60)
    )
    have = Proposal.objects.filter(cut_off=cut_off).count()
    if have >= n:
        return call, cut_off
    organisation = Organisation.objects.filter(short_name="BENCHRANK").first() or organisation_create(
        legal_name="Bench ranking centre", short_name="BENCHRANK", country="LU", kind="hosting_entity", actor=None
    )
    author = User.objects.filter(username="bench-rank-applicant").first() or user_create(
        username="bench-rank-applicant",
        password="bench-only-password",
        organisation=organisation,
        roles=[Role.APPLICANT],
        actor=None,
    )
    officer = User.objects.filter(username="bench-officer").first() or user_create(
        username="bench-officer", password="bench-only-password", roles=[Role.PROGRAMME_OFFICER], actor=None
    )
    experts = [
        User.objects.filter(username=f"bench-expert{i}").first()
        or user_create(username=f"bench-expert{i}", password="bench-only-password", roles=[Role.EVALUATOR], actor=None)
        for i in range(30)
    ]
    rng = random.Random(11)
    steps = [Decimal(x) / 2 for x in range(4, 11)]  # 2 to 5 in half points
    proposals = Proposal.objects.bulk_create(
        [
            Proposal(
                call=call,
                organisation=organisation,
                created_by=author,
                submitted_by=author,
                type="new_system",
                title=f"Ranked proposal {i}",
                acronym=f"R{i}",
                planned_machine_name="X",
                planned_machine_country="LU",
                status="evaluation",
                reference=f"{CALL}-{i:06d}",
                cut_off=cut_off,
                submitted_at=cut_off.closes_at - timedelta(minutes=rng.randint(1, 200_000)),
                eligibility_reason="bench",
                eligibility_decided_at=now,
            )
            for i in range(have, n)
        ],
        batch_size=2000,
    )
    BudgetLine.objects.bulk_create(
        [
            BudgetLine(
                proposal=p,
                category="activities",
                total_cost=Decimal(eu) * 2,
                eu_contribution=Decimal(eu),
                national_contribution=Decimal(eu),
            )
            for p in proposals
            for eu in [f"{rng.randint(1, 60) * 500_000}.00"]
        ],
        batch_size=5000,
    )
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                proposal=p,
                evaluator=experts[(k * 7 + j) % 30],
                assigned_by=officer,
                assigned_at=now - timedelta(days=50),
                deadline=now - timedelta(days=20),
                declaration="no_conflict",
                declared_at=now - timedelta(days=49),
            )
            for k, p in enumerate(proposals)
            for j in range(3)
        ],
        batch_size=5000,
    )
    reviews = Review.objects.bulk_create(
        [
            Review(assignment=a, status="submitted", submitted_at=now - timedelta(days=25), draft={})
            for a in assignments
        ],
        batch_size=5000,
    )
    ReviewScore.objects.bulk_create(
        [
            ReviewScore(review=r, criterion=c, score=rng.choice(steps), max_score=Decimal("5"), comment="Bench.")
            for r in reviews
            for c in CRITERIA
        ],
        batch_size=5000,
    )
    scheme = default_evaluation_scheme()
    consensus_scores, consensus_rows = [], []
    for p in proposals:
        scores = {c: rng.choice(steps) for c in CRITERIA}
        total = sum(scores.values())
        consensus_rows.append(
            (
                Consensus(
                    proposal=p,
                    scheme=scheme,
                    total=total,
                    reviews_count=3,
                    recorded_by=officer,
                    recorded_at=now,
                    updated_at=now,
                    passed_thresholds=all(v >= 3 for v in scores.values()) and total >= 10,
                ),
                scores,
            )
        )
    created = Consensus.objects.bulk_create([c for c, _ in consensus_rows], batch_size=2000)
    for consensus, (_, scores) in zip(created, consensus_rows, strict=True):
        for c, value in scores.items():
            consensus_scores.append(
                ConsensusScore(consensus=consensus, criterion=c, score=value, max_score=Decimal("5"), comment="Bench.")
            )
    ConsensusScore.objects.bulk_create(consensus_scores, batch_size=5000)
    return call, cut_off


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proposals", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    setup()
    from django.test import Client

    from calls.evaluation.selectors import cut_off_ranking
    from calls.models import CutOff, Proposal
    from eurohpc.models import Role, User
    from eurohpc.services import user_create

    call, cut_off = build(args.proposals)
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

    def selector():
        cut_off_ranking(cut_off=CutOff.objects.select_related("call").get(pk=cut_off.pk))

    trivial = median_ms(get("/bench/trivial/"), repeat=args.repeat)
    rows = [
        ("trivial page (login, base template, no data)", trivial, count_queries(get("/bench/trivial/"))),
        ("ranking selector alone (incl. cut-off lookup)", median_ms(selector, repeat=args.repeat),
         count_queries(selector)),
    ]  # fmt: skip
    for name, path in [
        ("ranking page (funding line, 100 rows a page)", f"/officer/evaluation/cut-offs/{cut_off.pk}/ranking/"),
        ("API /api/v1/calls/{id}/ranking/", f"/api/v1/calls/{call.pk}/ranking/?cut_off={cut_off.pk}"),
        ("assignment board page (50 proposals/page)", f"/officer/evaluation/cut-offs/{cut_off.pk}/assignments/"),
    ]:
        rows.append((name, median_ms(get(path), repeat=args.repeat), count_queries(get(path))))
    total = Proposal.objects.filter(cut_off=cut_off).count()
    report(
        f"Ranking of a cut-off at {total:,} proposals × 3 reviews (median of {args.repeat}, in-process client, "
        "same run)",
        rows,
        trivial,
    )


if __name__ == "__main__":
    main()
