"""The ranking and the assignment board of the scale dataset's largest cut-off vs a trivial view served the same way.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/aif_scale .venv/bin/python bench/ranking.py [--repeat N]
Reads the scale dataset (`manage.py seed_scale` builds it first when it is missing: 10,000 proposals over 3 calls
and 12 cut-offs, 30,000 reviews with their assignments, consensus reports and decisions) and writes nothing.
Measures the cut-off of the dataset with the most proposals in evaluation, and the assignment board of the largest
cut-off still under evaluation too (its cells offer to assign); prints the median latency, the query count and
the ratio to the trivial view measured in the same run.
"""

import argparse

from _common import analyze, count_queries, ensure_scale_dataset, logged_in, median_ms, page, report, setup


def largest_cut_offs():
    """The scale dataset's cut-off with the most proposals in evaluation, and the largest one with open work."""
    from django.db.models import Count, Q

    from calls.evaluation.selectors import IN_EVALUATION, OPEN_WORK
    from calls.models import CutOff
    from calls.seed.scale import PREFIX

    cut_offs = (
        CutOff.objects.filter(call__identifier__startswith=f"{PREFIX}-")
        .select_related("call")
        .annotate(
            n=Count("proposals", filter=Q(proposals__status__in=IN_EVALUATION)),
            n_open=Count("proposals", filter=Q(proposals__status__in=OPEN_WORK)),
        )
    )
    largest = max(cut_offs, key=lambda c: (c.n, -c.pk))
    open_ones = [c for c in cut_offs if c.n_open]
    in_evaluation = max(open_ones, key=lambda c: (c.n, -c.pk)) if open_ones else None
    return largest, in_evaluation


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    setup()
    ensure_scale_dataset()
    analyze()

    from calls.evaluation.selectors import cut_off_ranking
    from calls.models import Assignment, CutOff
    from eurohpc.models import User

    cut_off, in_evaluation = largest_cut_offs()
    client = logged_in("scale-officer")

    def selector():
        cut_off_ranking(cut_off=CutOff.objects.select_related("call").get(pk=cut_off.pk))

    trivial = median_ms(page(client, "/bench/trivial/"), repeat=args.repeat)
    rows = [
        ("trivial page (login, base template, no data)", trivial, count_queries(page(client, "/bench/trivial/"))),
        ("ranking selector alone (incl. cut-off lookup)", median_ms(selector, repeat=args.repeat),
         count_queries(selector)),
    ]  # fmt: skip
    pages = [
        ("ranking page (funding line, 100 rows a page)", f"/officer/evaluation/cut-offs/{cut_off.pk}/ranking/"),
        ("API /api/v1/calls/{id}/ranking/", f"/api/v1/calls/{cut_off.call_id}/ranking/?cut_off={cut_off.pk}"),
        ("assignment board page (50 proposals/page)", f"/officer/evaluation/cut-offs/{cut_off.pk}/assignments/"),
    ]
    if in_evaluation is not None:
        pages.append(
            (f"assignment board, cut-off in evaluation ({in_evaluation.n})",
             f"/officer/evaluation/cut-offs/{in_evaluation.pk}/assignments/")
        )  # fmt: skip
    for name, path in pages:
        rows.append((name, median_ms(page(client, path), repeat=args.repeat), count_queries(page(client, path))))
    assignments = Assignment.objects.filter(proposal__cut_off_id=cut_off.pk).count()
    report(
        f"Ranking and assignment board of {cut_off.call.identifier} cut-off #{cut_off.pk}: {cut_off.n:,} proposals in "
        f"evaluation, {assignments:,} assignments, {User.objects.filter(role_grants__role='evaluator').count():,} "
        f"evaluators (scale dataset; median of {args.repeat}, in-process client, same run)",
        rows,
        trivial,
    )


if __name__ == "__main__":
    main()
