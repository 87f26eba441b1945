"""Access calls at scale: (a) the ranking of the largest access cut-off against its pools, the selector and the
officer's page, vs a trivial page served the same way; (b) the committee's batch award of a cut-off with 500
decidable applications (`access_ranking_award`) vs a single award (`access_decide`), per award, in time and queries.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/access.py [--repeat N]
Reads the scale dataset (`manage.py seed_scale` builds it first when it is missing: 20,000 access applications over
36 cut-offs and the scale machines' GPU partitions). Part (b) adds a cut-off of 500 applications, assessed, reviewed
and past their reply window, inside a transaction it rolls back: the database is left as it was. Every loop is
bounded (the repeats, the 500 applications).
"""

import argparse
import time
from datetime import timedelta
from decimal import Decimal

from _common import analyze, count_queries, ensure_scale_dataset, logged_in, median_ms, page, report, setup

BATCH = 500
AWARD_HOURS = Decimal("1000")


def largest_cut_off():
    from django.db.models import Count, Q

    from calls.access.selectors import PENDING
    from calls.models import CutOff, Proposal
    from calls.seed.scale_access import IDENTIFIER

    ranked = (*PENDING, Proposal.Status.SELECTED, Proposal.Status.REJECTED)
    cut_offs = CutOff.objects.filter(call__identifier=IDENTIFIER).annotate(
        n=Count("proposals", filter=Q(proposals__status__in=ranked))
    )
    return max(cut_offs, key=lambda c: (c.n, -c.pk))


def ranking(args, client, trivial: float) -> None:
    from django.urls import NoReverseMatch, reverse

    from calls.access.selectors import cut_off_ranking
    from calls.models import CutOff

    cut_off = largest_cut_off()

    def selector():
        cut_off_ranking(cut_off=CutOff.objects.select_related("call").get(pk=cut_off.pk))

    rows = [
        ("trivial page (login, base template, no data)", trivial, count_queries(page(client, "/bench/trivial/"))),
        ("cut_off_ranking selector (incl. cut-off lookup)", median_ms(selector, repeat=args.repeat),
         count_queries(selector)),
    ]  # fmt: skip
    try:
        path = reverse("access-ranking", args=[cut_off.pk])
    except NoReverseMatch:
        path = None
    if path and client.get(path).status_code == 200:
        rows.append(("ranking page as the programme officer", median_ms(page(client, path), repeat=args.repeat),
                     count_queries(page(client, path))))  # fmt: skip
    else:
        print(f"(no access ranking page answers at /access/cut-offs/{cut_off.pk}/ranking/: page not measured)")
    report(
        f"Access ranking of {cut_off.call.identifier} cut-off #{cut_off.pk}: {cut_off.n:,} applications "
        f"(scale dataset; median of {args.repeat}, in-process client, same run)",
        rows,
        trivial,
    )


def decidable_cut_off():
    """A passed cut-off of the scale access call with BATCH AI for Science applications ready for the committee:
    eligible, feasible (1,000 GPU-hours recommended), two submitted reviews, reply window closed. The pools of the
    current period get room for them (taken from the Large Scale pool's unawarded hours)."""
    from django.db.models import F, Sum
    from django.utils import timezone

    from calls.access.models import AccessApplication, AccessMode, TechnicalAssessment
    from calls.models import Assignment, Call, CutOff, Proposal, Review, ReviewScore
    from calls.seed.scale_access import IDENTIFIER
    from eurohpc.models import User
    from hosting.models import AccessPool, Allocation, Partition, PartitionQuota

    now = timezone.now()
    today = timezone.localdate()
    start = today.replace(day=1)
    call = Call.objects.get(identifier=IDENTIFIER)
    mode = AccessMode.objects.get(call=call, code="ai_for_science")
    officer = User.objects.get(username="scale-officer")
    evaluators = list(User.objects.filter(username__startswith="scale-evaluator-").order_by("username")[:2])
    closes = now - timedelta(days=30)
    cut_off = CutOff.objects.create(call=call, closes_at=closes, processed_at=closes + timedelta(minutes=5))
    quotas = list(
        PartitionQuota.objects.filter(
            partition__machine__name__startswith="SCALE-", partition__accounting_unit=Partition.Unit.GPU_HOURS,
            period__start__lte=start, period__end__gte=start,
        ).select_related("partition", "partition__machine", "period").order_by("partition_id")
    )  # fmt: skip
    need = AWARD_HOURS * (BATCH // len(quotas) + 2)
    for quota in quotas:
        awarded = (
            Allocation.objects.filter(
                partition=quota.partition, period=quota.period, project__access_mode="large_scale"
            ).aggregate(t=Sum("amount"))["t"]
            or 0
        )
        large = AccessPool.objects.get(quota=quota, access_mode="large_scale")
        moved = min(need, large.hours - awarded)
        AccessPool.objects.filter(pk=large.pk).update(hours=F("hours") - moved)
        AccessPool.objects.filter(quota=quota, access_mode="ai_for_science").update(hours=F("hours") + moved)
    proposals = Proposal.objects.bulk_create([
        Proposal(call=call, organisation_id=officer.pk and quotas[0].partition.machine.hosting_entity_id,
                 created_by=officer, type=Proposal.Type.ACCESS, title=f"Bench access {n}", acronym=f"BA{n}",
                 machine_id=quotas[n % len(quotas)].partition.machine_id, status=Proposal.Status.EVALUATION,
                 reference=f"BENCH-ACCESS-{n:04d}", submitted_at=closes - timedelta(days=1, minutes=n),
                 submitted_by=officer, cut_off=cut_off, eligibility_reason="Bench.",
                 eligibility_decided_at=closes + timedelta(days=1), eligibility_decided_by=officer)
        for n in range(BATCH)
    ])  # fmt: skip
    applicant = User.objects.get(username="scale-applicant-000")
    Proposal.objects.filter(pk__in=[p.pk for p in proposals]).update(organisation_id=applicant.organisation_id,
                                                                      created_by=applicant)  # fmt: skip
    applications = AccessApplication.objects.bulk_create([
        AccessApplication(proposal=p, mode=mode, partition=quotas[n % len(quotas)].partition, pi=applicant,
                          user_type="academia", terms="open_science", gpu_hours=AWARD_HOURS, duration_months=6,
                          start_month=start, no_prohibited_practice=True,
                          reply_deadline=closes + timedelta(days=20))
        for n, p in enumerate(proposals)
    ])  # fmt: skip
    TechnicalAssessment.objects.bulk_create([
        TechnicalAssessment(application=a, feasible=True, notes="Bench.", recommended_gpu_hours=AWARD_HOURS,
                            assessed_by=officer, assessed_at=closes + timedelta(days=3))
        for a in applications
    ])  # fmt: skip
    assignments = Assignment.objects.bulk_create([
        Assignment(proposal=p, evaluator=e, assigned_by=officer, assigned_at=closes + timedelta(days=4),
                   declaration_deadline=closes + timedelta(days=7), deadline=closes + timedelta(days=18),
                   declaration=Assignment.Declaration.NO_CONFLICT,
                   declared_at=closes + timedelta(days=5))
        for p in proposals for e in evaluators
    ])  # fmt: skip
    reviews = Review.objects.bulk_create([
        Review(assignment=a, status=Review.Status.SUBMITTED, draft={}, submitted_at=closes + timedelta(days=9))
        for a in assignments
    ])  # fmt: skip
    ReviewScore.objects.bulk_create([
        ReviewScore(review=r, criterion=c, score=Decimal(6 + (r.pk + i) % 5) / 2, max_score=Decimal(5),
                    comment="Bench.")
        for r in reviews for i, c in enumerate(("excellence", "impact", "implementation"))
    ])  # fmt: skip
    return cut_off, applications


def counted(fn) -> int:
    """The statements `fn` sends (no cap, unlike the debug query log's 9,000)."""
    from django.db import connection

    sent = [0]

    def wrapper(execute, sql, params, many, context):
        sent[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        fn()
    return sent[0]


def batch_award(args) -> None:
    from django.db import transaction

    from calls.access.models import AccessApplication
    from calls.access.services import access_decide, access_ranking_award
    from eurohpc.models import User

    officer = User.objects.get(username="scale-officer")

    class Rollback(Exception):
        pass

    figures = {}
    try:
        with transaction.atomic():
            cut_off, applications = decidable_cut_off()
            first = AccessApplication.objects.get(pk=applications[0].pk)
            start = time.perf_counter()
            single_queries = count_queries(lambda: access_decide(application=first, outcome="awarded", actor=officer))
            figures["single"] = ((time.perf_counter() - start) * 1000, single_queries)
            result = {}

            def run():
                result.update(access_ranking_award(cut_off=cut_off, actor=officer))

            start = time.perf_counter()
            queries = counted(run)
            seconds = time.perf_counter() - start
            figures["batch"] = (seconds, queries, len(result.get("awarded", [])), len(result.get("reserve", [])),
                                len(result.get("skipped", [])))  # fmt: skip
            raise Rollback
    except Rollback:
        pass
    single_ms, single_q = figures["single"]
    seconds, queries, awarded, reserve, skipped = figures["batch"]
    decided = max(1, awarded + reserve)
    per_ms, per_q = seconds * 1000 / decided, queries / decided
    print(f"\nBatch award of a cut-off with {BATCH} decidable AI for Science applications over the scale machines' "
          f"GPU pools (scale dataset; rolled back afterwards)")  # fmt: skip
    print(f"{'measure':<48} {'ms':>10} {'queries':>8} {'ratio':>8}")
    print(f"{'one award (access_decide)':<48} {single_ms:>10.2f} {single_q:>8} {1:>7.1f}x")
    print(f"{'batch: access_ranking_award, whole cut-off':<48} {seconds * 1000:>10.0f} {queries:>8}")
    print(f"{'batch: per decision':<48} {per_ms:>10.2f} {per_q:>8.1f} {per_ms / single_ms:>7.1f}x")
    print(f"batch outcome: {awarded} awarded, {reserve} reserve list, {skipped} skipped "
          f"(the first was awarded alone); queries per decision / single award: {per_q / single_q:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    setup()
    ensure_scale_dataset()
    analyze()
    client = logged_in("scale-officer")
    trivial = median_ms(page(client, "/bench/trivial/"), repeat=args.repeat)
    ranking(args, client, trivial)
    batch_award(args)


if __name__ == "__main__":
    main()
