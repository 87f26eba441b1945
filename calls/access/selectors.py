"""Reads of access calls: the application lists, the technical-assessment queue, a cut-off's ranking against the
access pools, the pool board. Each in a bounded number of queries, whatever the number of rows."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.access.models import AccessApplication, AccessMode, TechnicalAssessment
from calls.models import Call, CutOff, Proposal, Review, ReviewScore
from eurohpc.models import Role
from hosting.models import AccessPool, AllocationPeriod, Machine, PartitionQuota
from hosting.selectors import pool_positions

S = Proposal.Status
ZERO = Decimal("0")
# Applications still waiting for a decision (their hours are asked of a pool, not yet taken from it).
PENDING = (S.SUBMITTED, S.SCREENING, S.ELIGIBLE, S.EVALUATION, S.RESERVE)
# A ranked application the committee has still to decide (it draws on what its pool has left).
UNDECIDED = (S.ELIGIBLE, S.EVALUATION, S.RESERVE)


def working_days_between(start: date, end: date) -> int:
    """Monday-to-Friday days after `start` up to and including `end` (0 when end <= start)."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def access_calls() -> QuerySet[Call]:
    return Call.objects.filter(prong=Call.Prong.ACCESS).order_by("-opens_at", "id")


def open_access_calls() -> QuerySet[Call]:
    now = timezone.now()
    return access_calls().filter(status=Call.Status.OPEN, opens_at__lte=now).prefetch_related("access_modes")


def modes_of(call: Call) -> list[AccessMode]:
    return list(AccessMode.objects.filter(call=call).order_by("id"))


def _reviews_subqueries():
    # A closed assignment's review (reassigned, or superseded by a re-evaluation) no longer counts.
    submitted = Review.objects.filter(
        assignment__proposal_id=OuterRef("pk"), assignment__closed_at__isnull=True, status=Review.Status.SUBMITTED
    )
    count = submitted.order_by().values("assignment__proposal_id").annotate(n=Count("pk")).values("n")[:1]
    scores = (
        ReviewScore.objects.filter(
            review__assignment__proposal_id=OuterRef("pk"),
            review__assignment__closed_at__isnull=True,
            review__status=Review.Status.SUBMITTED,
        )
        .order_by()
        .values("review__assignment__proposal_id")
        .annotate(t=Sum("score"))
        .values("t")[:1]
    )
    return (
        Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
        Coalesce(Subquery(scores, output_field=DecimalField(max_digits=10, decimal_places=2)), Value(ZERO)),
    )


def application_queryset() -> QuerySet[AccessApplication]:
    count, score_sum = _reviews_subqueries()
    return (
        AccessApplication.objects.select_related(
            "proposal", "proposal__call", "proposal__organisation", "proposal__cut_off", "mode", "partition",
            "partition__machine", "pi", "technical", "project",
        )
        .annotate(reviews_submitted=count, review_score_sum=score_sum)
    )  # fmt: skip


def visible_applications(user) -> QuerySet[AccessApplication]:
    """The applications `user` may see: its organisation's (applicant), its machines' once screened (hosting
    operator), every one (programme officer, admin), the ones assigned to it (reviewer)."""
    visible = Proposal.objects.visible_to(user).filter(type=Proposal.Type.ACCESS)
    return application_queryset().filter(proposal__in=visible)


def application_list(
    *,
    user,
    call: Call | None = None,
    mode: str | None = None,
    status: str | None = None,
    machine: Machine | None = None,
    mine: bool = False,
) -> QuerySet[AccessApplication]:
    rows = visible_applications(user)
    if mine:
        rows = rows.filter(proposal__organisation_id=user.organisation_id)
    if call is not None:
        rows = rows.filter(proposal__call=call)
    if mode:
        rows = rows.filter(mode__code=mode)
    if status:
        rows = rows.filter(proposal__status=status)
    if machine is not None:
        rows = rows.filter(partition__machine=machine)
    return rows.order_by("-proposal__created_at", "-pk")


def application_for(*, user, pk: int) -> AccessApplication | None:
    """One application, or None where `user` may not see it (the page answers 404)."""
    return visible_applications(user).filter(pk=pk).first()


def technical_queue(*, user) -> QuerySet[AccessApplication]:
    """Eligible applications waiting for the technical assessment of the reader's machines (officers: all)."""
    rows = visible_applications(user).filter(proposal__status=S.ELIGIBLE, technical__isnull=True)
    if Role.HOSTING_OPERATOR in user.roles and not any(r in user.roles for r in (Role.PROGRAMME_OFFICER, Role.ADMIN)):
        rows = rows.filter(partition__machine__hosting_entity_id=user.organisation_id)
    return rows.order_by("proposal__eligibility_decided_at", "pk")


def decorate(application: AccessApplication, *, today: date) -> AccessApplication:
    """The figures the pages show: the mean review score, the decision's target and whether it is overdue."""
    proposal = application.proposal
    count = getattr(application, "reviews_submitted", 0)
    application.review_mean = (application.review_score_sum / count).quantize(Decimal("0.01")) if count else None
    started = proposal.cut_off.closes_at if proposal.cut_off else proposal.submitted_at
    application.target_days = application.mode.decision_target_days
    application.working_days = working_days_between(timezone.localtime(started).date(), today) if started else 0
    application.overdue = bool(
        started and proposal.status in PENDING[:4] and application.working_days > application.target_days
    )
    return application


@dataclass
class RankRow:
    rank: int
    application: AccessApplication
    recommended: Decimal | None
    pool_key: tuple | None
    cumulative: Decimal
    pool_hours: Decimal | None
    fits: bool | None  # within its pool's remaining hours, in ranking order (None: no pool)


def _quota_for(application: AccessApplication, quotas: dict) -> PartitionQuota | None:
    for quota in quotas.get(application.partition_id, []):
        if quota.period.start <= application.start_month <= quota.period.end:
            return quota
    return None


def cut_off_ranking(*, cut_off: CutOff, today: date | None = None) -> list[RankRow]:
    """The reviewed applications of a cut-off, best mean review score first (ties: the higher recommendation,
    then the earlier submission), each against the remaining hours of its pool in ranking order."""
    today = today or timezone.localdate()
    rows = list(
        application_queryset()
        .filter(proposal__cut_off=cut_off, proposal__status__in=(S.ELIGIBLE, S.EVALUATION, S.SELECTED, S.RESERVE,
                                                                 S.REJECTED))
        .order_by("proposal__submitted_at", "pk")
    )  # fmt: skip
    for row in rows:
        decorate(row, today=today)
    rows.sort(
        key=lambda a: (
            -(a.review_mean or Decimal("-1")),
            -(a.technical.recommended_gpu_hours or 0) if hasattr(a, "technical") else 0,
            a.proposal.submitted_at,
        )
    )
    partitions = {a.partition_id for a in rows}
    quotas: dict[int, list[PartitionQuota]] = defaultdict(list)
    for quota in (
        PartitionQuota.objects.filter(partition_id__in=partitions).select_related("period").order_by("period__start")
    ):
        quotas[quota.partition_id].append(quota)
    pool_by_key = {
        (pool.quota_id, pool.access_mode): pool
        for pool in pool_positions(quotas=[q for qs in quotas.values() for q in qs])
    }
    used: dict[tuple, Decimal] = defaultdict(Decimal)
    ranked = []
    for rank, application in enumerate(rows, start=1):
        technical = getattr(application, "technical", None)
        recommended = technical.recommended_gpu_hours if technical and technical.feasible else None
        quota = _quota_for(application, quotas)
        key = (quota.pk, application.mode.code) if quota else None
        pool = pool_by_key.get(key)
        fits = None
        cumulative = ZERO
        # only the applications still to be decided draw on what the pool has left (an awarded one already did)
        if pool is not None and recommended is not None and application.proposal.status in UNDECIDED:
            used[key] += recommended
            cumulative = used[key]
            fits = cumulative <= pool.remaining
        ranked.append(RankRow(rank, application, recommended, key, cumulative, pool.hours if pool else None, fits))
    return ranked


@dataclass
class PoolRow:
    pool: AccessPool
    pending: Decimal
    pending_count: int


@dataclass
class QuotaPools:
    quota: PartitionQuota
    pools: list[PoolRow] = field(default_factory=list)
    unpooled: Decimal = ZERO  # the Union quota not set aside for any mode


def pool_board(*, machine: Machine, periods: list[AllocationPeriod] | None = None) -> list[QuotaPools]:
    """Per period and GPU partition of the machine: each access pool's capacity, awarded, used and the hours
    pending applications ask of it; four queries (three when the periods are given)."""
    if periods is None:
        periods = list(AllocationPeriod.objects.filter(machine=machine).order_by("-start"))
    quotas = list(
        PartitionQuota.objects.filter(period__in=periods, partition__accounting_unit="gpu_hours")
        .select_related("partition", "period")
        .order_by("-period__start", "partition__name")
    )
    pools = pool_positions(quotas=quotas)
    pending = defaultdict(lambda: [ZERO, 0])
    if quotas:
        asked = (
            AccessApplication.objects.filter(
                partition__in={q.partition_id for q in quotas}, proposal__status__in=PENDING
            )
            .values("partition_id", "mode__code", "start_month")
            .annotate(hours=Sum("gpu_hours"), n=Count("pk"))
            .order_by()
        )
        for row in asked:
            for quota in quotas:
                if quota.partition_id == row["partition_id"] and quota.period.contains(row["start_month"]):
                    entry = pending[(quota.pk, row["mode__code"])]
                    entry[0] += row["hours"]
                    entry[1] += row["n"]
    board = {quota.pk: QuotaPools(quota=quota) for quota in quotas}
    for pool in pools:
        figures = pending[(pool.quota_id, pool.access_mode)]
        board[pool.quota_id].pools.append(PoolRow(pool, figures[0], figures[1]))
    for block in board.values():
        block.unpooled = block.quota.union_quota - sum((p.pool.hours for p in block.pools), ZERO)
    return list(board.values())


def officer_access_work(*, today: date | None = None) -> dict[str, int]:
    """The access work waiting for the programme office (`todo_filter`'s three lists), counted in one query."""
    # aliases apart from the relations' names ("technical" is one)
    counts = AccessApplication.objects.aggregate(
        **{f"n_{todo}": Count("pk", filter=todo_filter(todo)) for todo in TODO_LABELS}
    )
    return {
        "eligibility": counts["n_eligibility"],
        "technical": counts["n_technical"],
        "to_decide": counts["n_decision"],
    }


# --- reads of the access pages ------------------------------------------------------------------------------


def released_reviews(*, application: AccessApplication) -> list[list[ReviewScore]]:
    """The submitted reviews of the application, each as its scores by criterion, in the order they were submitted,
    without their authors (what the applicant reads once the reviews are released); one query."""
    reviews: dict[int, list[ReviewScore]] = {}
    scores = (
        ReviewScore.objects.filter(
            review__assignment__proposal_id=application.pk,
            review__assignment__closed_at__isnull=True,
            review__status=Review.Status.SUBMITTED,
        )
        .only("review_id", "criterion", "score", "max_score", "comment")
        .order_by("review__submitted_at", "review_id", "id")
    )
    for score in scores:
        reviews.setdefault(score.review_id, []).append(score)
    return list(reviews.values())


def access_cut_offs() -> QuerySet[CutOff]:
    """The cut-offs of the access calls, latest first, with the number of applications filed for each."""
    return (
        CutOff.objects.filter(call__prong=Call.Prong.ACCESS)
        .select_related("call")
        .annotate(applications=Count("proposals", filter=Q(proposals__type=Proposal.Type.ACCESS)))
        .order_by("-closes_at", "id")
    )


def gpu_partitions() -> QuerySet:
    """The GPU partitions of operational machines: where an access application may ask for time."""
    from hosting.models import Partition

    return (
        Partition.objects.filter(accounting_unit="gpu_hours", machine__status="operational")
        .select_related("machine")
        .order_by("machine__name", "name")
    )


def pool_machines(*, user) -> QuerySet[Machine]:
    """The machines with a GPU partition whose access pools `user` may see (a hosting operator: its own)."""
    return (
        Machine.objects.visible_to(user)
        .filter(partitions__accounting_unit="gpu_hours")
        .select_related("hosting_entity")
        .distinct()
        .order_by("name")
    )


# The officer's work (officer_access_work's counts) as filters of the application list.
TODO_LABELS = {
    "eligibility": "Eligibility to check",
    "technical": "Technical assessment pending",
    "decision": "Decision due",
}


def todo_filter(todo: str) -> Q:
    """The applications waiting for the office's `todo`, as the services would take them now: eligibility once
    submitted (a cut-off mode's once its cut-off has passed, processed or not), the host's technical assessment,
    the committee's decision (continuous modes and infeasible ones at once, reviewed ones after the reply or its
    deadline)."""
    now = timezone.now()
    return {
        "eligibility": Q(proposal__status=S.SUBMITTED, proposal__cut_off__isnull=True)
        | Q(proposal__status=S.SUBMITTED, proposal__cut_off__closes_at__lte=now)
        | Q(proposal__status=S.SCREENING),
        "technical": Q(proposal__status=S.ELIGIBLE, technical__isnull=True),
        "decision": Q(proposal__status=S.EVALUATION, technical__isnull=False)
        & (
            Q(mode__process=AccessMode.Process.CONTINUOUS)
            # (an Exists, as an aggregate's filter cannot follow the reverse one-to-one to its fields)
            | Q(Exists(TechnicalAssessment.objects.filter(application_id=OuterRef("pk"), feasible=False)))
            | Q(reply_deadline__lt=now)
            | Q(replied_at__isnull=False)
        ),
    }[todo]


def access_details(*, proposal: Proposal) -> AccessApplication | None:
    """What a reviewer reads of an access application instead of a budget: the mode, the machine, the request,
    the AI model and data and the technical assessment; one query (None for another type of proposal)."""
    if proposal.type != Proposal.Type.ACCESS:
        return None
    return (
        AccessApplication.objects.select_related("mode", "partition", "partition__machine", "technical")
        .filter(pk=proposal.pk)
        .first()
    )
