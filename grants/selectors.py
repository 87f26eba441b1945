"""Reads of the budget: envelope positions (at any date), grant totals, the dashboard's series, exports.

Every position is two queries whatever the size of the ledger: the envelopes, and one SQL aggregate of the
ledger grouped by envelope; the tree is rolled up in Python (envelopes are a handful of rows). The finance
dashboard takes its positions and its monthly series from one such aggregate (`finance_overview`); a list of
grants sums the ledger of the page's grants only (`grant_totals_attach`), never of every grant.

The pages' aggregates of the whole ledger (`_ledger_sums`) add up only the entries written lately: the ledger is
append-only, so the sums of its settled entries (see `SETTLED_AFTER`) are kept per process and never change.
"""

import threading
import time as monotonic_clock
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from calls.selectors import selected_proposals
from eurohpc.dates import start_of_day
from grants.models import (
    PAYMENT_KINDS,
    AwardLetter,
    CallFunding,
    Envelope,
    EnvelopeAmount,
    Grant,
    GrantBudgetLine,
    LedgerEntry,
)

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)

# An entry counts with its amount; a reversing entry cancels it with the opposite sign.
SIGNED_AMOUNT = Case(
    When(reverses__isnull=True, then=F("amount")),
    default=-F("amount"),
    output_field=MONEY,
)


def _sum(condition: Q):
    return Coalesce(Sum(SIGNED_AMOUNT, filter=condition), Value(ZERO), output_field=MONEY)


LEDGER_TOTALS = {
    "committed": _sum(Q(kind=LedgerEntry.Kind.COMMITMENT)),
    "decommitted": _sum(Q(kind=LedgerEntry.Kind.DECOMMITMENT)),
    "payments": _sum(Q(kind__in=PAYMENT_KINDS)),
    "recovered": _sum(Q(kind=LedgerEntry.Kind.RECOVERY)),
    "prefinancing_interim": _sum(Q(kind__in=[LedgerEntry.Kind.PREFINANCING, LedgerEntry.Kind.INTERIM])),
    "withheld": Coalesce(
        Sum(Case(When(reverses__isnull=True, then=F("withheld")), default=-F("withheld"), output_field=MONEY)),
        Value(ZERO),
        output_field=MONEY,
    ),
}


def end_of_day(as_of: date) -> datetime:
    """The first instant after `as_of` in the JU's time zone (Europe/Luxembourg)."""
    return start_of_day(as_of + timedelta(days=1))


@dataclass
class Totals:
    committed: Decimal = ZERO
    decommitted: Decimal = ZERO
    payments: Decimal = ZERO
    recovered: Decimal = ZERO
    prefinancing_interim: Decimal = ZERO
    withheld: Decimal = ZERO

    def add(self, other: "Totals") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def net_committed(self) -> Decimal:
        return self.committed - self.decommitted

    @property
    def paid(self) -> Decimal:
        return self.payments - self.recovered

    @property
    def outstanding(self) -> Decimal:
        """Reste à liquider: committed and not yet paid."""
        return self.net_committed - self.paid


@dataclass
class EnvelopePosition:
    envelope: Envelope
    depth: int
    as_of: date | None
    totals: Totals = field(default_factory=Totals)
    # The envelope's amount in force at the end of `as_of` (now when None); zero before the envelope opened.
    amount: Decimal = ZERO

    committed = property(lambda self: self.totals.committed)
    decommitted = property(lambda self: self.totals.decommitted)
    net_committed = property(lambda self: self.totals.net_committed)
    paid = property(lambda self: self.totals.paid)
    recovered = property(lambda self: self.totals.recovered)
    outstanding = property(lambda self: self.totals.outstanding)

    @property
    def available(self) -> Decimal:
        return self.amount - self.totals.net_committed

    @property
    def committed_share(self) -> Decimal:
        return (self.net_committed / self.amount) if self.amount else ZERO

    @property
    def paid_share(self) -> Decimal:
        return (self.paid / self.amount) if self.amount else ZERO


def _totals_by_envelope(envelope_ids: Iterable[int] | None, as_of: date | None) -> dict[int, Totals]:
    return _totals_by("envelope_id", envelope_ids, as_of)


# Ledger entries are only ever added (a correction is a reversing entry), each by a service that dates it when it
# inserts it, and every request and task that writes one ends well within the hour. So once an entry is an hour
# old, every entry numbered before it is committed: the sums of the entries up to the newest such one never
# change. `_ledger_sums` keeps them per process (keyed by what they sum) and adds only the entries numbered after.
SETTLED_AFTER = timedelta(hours=1)
SETTLED_REFRESH_SECONDS = 300  # then the settled part is summed again, so that the newer entries stay few
SETTLED_KEYS = 64
# (database, as_of, window) -> (id of the last settled entry summed, {group: [total, withheld]}, when summed)
_settled_sums: dict[tuple, tuple[int, dict[tuple, list[Decimal]], float]] = {}
_settled_sums_lock = threading.Lock()

# (envelope_id, month bucket, kind, original) -> [sum of amounts, sum of withheld amounts]
LedgerSums = dict[tuple[int, int, str, bool], list[Decimal]]


def settled_sums_forget() -> None:
    """Forget the kept sums of settled ledger entries (a database replaced under a running process: tests)."""
    _settled_sums.clear()


def _ledger_sums(*, as_of: date | None, window: list[date] | None = None) -> LedgerSums:
    """The ledger's amounts and withheld amounts, summed per envelope, month bucket of `window` (0 without a
    window; see `_month_bucket`), kind and original/reversing entry, for the entries up to the end of `as_of`
    (every entry when None). One query: the settled entries' sums come from this process's memory (after the
    first time), the database sums the entries numbered after them."""
    from django.db import connection

    entries = LedgerEntry.objects.all()
    if as_of is not None:
        entries = entries.filter(created_at__lt=end_of_day(as_of))
    groups = ["envelope_id", "kind", "original"]
    annotations = {"original": ExpressionWrapper(Q(reverses__isnull=True), output_field=BooleanField())}
    if window:
        annotations["bucket"] = _month_bucket(window)
        groups.insert(1, "bucket")
    key = (connection.alias, connection.settings_dict["NAME"], as_of, tuple(window or ()))
    kept = _settled_sums.get(key)
    if kept is not None and monotonic_clock.monotonic() - kept[2] < SETTLED_REFRESH_SECONDS:
        last_settled, settled, _ = kept
        sums = {group: list(values) for group, values in settled.items()}
        recent = entries.filter(pk__gt=last_settled).order_by().annotate(**annotations).values_list(*groups)
        for *group, total, withheld in recent.annotate(total=Sum("amount"), kept=Sum("withheld")):
            _add_sums(sums, _group_key(group, window), total, withheld)
        return sums
    # Summed afresh, split at the newest settled entry: the settled groups are kept, with the last id they sum.
    newest_settled = (
        LedgerEntry.objects.filter(created_at__lt=timezone.now() - SETTLED_AFTER).order_by("-pk").values("pk")[:1]
    )
    annotations["settled"] = ExpressionWrapper(Q(pk__lte=Subquery(newest_settled)), output_field=BooleanField())
    rows = (
        entries.order_by()
        .annotate(**annotations)
        .values_list(*groups, "settled")
        .annotate(total=Sum("amount"), kept=Sum("withheld"), last=Max("pk"))
    )
    sums: LedgerSums = {}
    settled: LedgerSums = {}
    last_settled = 0
    for *group, is_settled, total, withheld, last in rows:
        group = _group_key(group, window)
        _add_sums(sums, group, total, withheld)
        if is_settled:
            _add_sums(settled, group, total, withheld)
            last_settled = max(last_settled, last)
    with _settled_sums_lock:
        if len(_settled_sums) >= SETTLED_KEYS:
            _settled_sums.pop(next(iter(_settled_sums)))
        _settled_sums[key] = (last_settled, settled, monotonic_clock.monotonic())
    return sums


def _group_key(group: list, window: list[date] | None) -> tuple[int, int, str, bool]:
    if window:
        envelope_id, bucket, kind, original = group
    else:
        (envelope_id, kind, original), bucket = group, 0
    return envelope_id, bucket, kind, bool(original)


def _add_sums(sums: LedgerSums, group: tuple, total: Decimal, withheld: Decimal) -> None:
    values = sums.setdefault(group, [ZERO, ZERO])
    values[0] += total
    values[1] += withheld


def _totals_from_sums(sums: LedgerSums, envelope_ids: set[int] | None = None) -> dict[int, Totals]:
    totals: dict[int, Totals] = {}
    for (envelope_id, _bucket, kind, original), (total, withheld) in sums.items():
        if envelope_ids is None or envelope_id in envelope_ids:
            _add_kind(totals.setdefault(envelope_id, Totals()), kind, total if original else -total,
                      withheld if original else -withheld)  # fmt: skip
    return totals


def _totals_by(key: str, ids: Iterable[int] | None, as_of: date | None) -> dict[int, Totals]:
    """Ledger totals per `key` ("envelope_id" or "grant_id"), of the entries whose `key` is in `ids` (all if None)."""
    entries = LedgerEntry.objects.all()
    if ids is not None:
        entries = entries.filter(**{f"{key}__in": list(ids)})
    if as_of is not None:
        entries = entries.filter(created_at__lt=end_of_day(as_of))
    # Plain sums grouped by (key, kind, reversal): the cheapest aggregate; the signs are applied here.
    rows = (
        entries.order_by()
        .annotate(original=ExpressionWrapper(Q(reverses__isnull=True), output_field=BooleanField()))
        .values_list(key, "kind", "original")
        .annotate(total=Sum("amount"), kept=Sum("withheld"))
    )
    totals: dict[int, Totals] = {}
    for pk, kind, original, total, kept in rows:
        _add_kind(totals.setdefault(pk, Totals()), kind, total if original else -total,
                  kept if original else -kept)  # fmt: skip
    return totals


def _add_kind(totals: Totals, kind: str, amount: Decimal, withheld: Decimal) -> None:
    if kind == LedgerEntry.Kind.COMMITMENT:
        totals.committed += amount
    elif kind == LedgerEntry.Kind.DECOMMITMENT:
        totals.decommitted += amount
    elif kind == LedgerEntry.Kind.RECOVERY:
        totals.recovered += amount
    else:
        totals.payments += amount
        if kind != LedgerEntry.Kind.FINAL:
            totals.prefinancing_interim += amount
    totals.withheld += withheld


def _tree_order(envelopes: list[Envelope]) -> list[tuple[Envelope, int]]:
    children: dict[int | None, list[Envelope]] = {}
    for envelope in envelopes:
        children.setdefault(envelope.parent_id, []).append(envelope)
    known = {e.pk for e in envelopes}
    roots = [e for e in envelopes if e.parent_id is None or e.parent_id not in known]
    ordered: list[tuple[Envelope, int]] = []

    def walk(node: Envelope, depth: int) -> None:
        ordered.append((node, depth))
        for child in sorted(children.get(node.pk, []), key=lambda e: e.code):
            walk(child, depth + 1)

    for root in sorted(roots, key=lambda e: e.code):
        walk(root, 0)
    return ordered


def _envelopes(as_of: date | None) -> list[Envelope]:
    """Every envelope by code; with `as_of`, each carries `amount_then`, the amount in force at the end of that day
    (None before the envelope opened). One query."""
    envelopes = Envelope.objects.order_by("code")
    if as_of is not None:
        in_force = EnvelopeAmount.objects.filter(envelope=OuterRef("pk"), effective_at__lt=end_of_day(as_of))
        envelopes = envelopes.annotate(
            amount_then=Subquery(in_force.order_by("-effective_at", "-pk").values("amount")[:1])
        )
    return list(envelopes)


def _amount_at(envelope: Envelope, as_of: date | None) -> Decimal:
    if as_of is None:
        return envelope.amount
    then = envelope.amount_then  # set by _envelopes(as_of)
    return ZERO if then is None else then


def _positions(envelopes: list[Envelope], totals: dict[int, Totals], as_of: date | None) -> list[EnvelopePosition]:
    ordered = _tree_order(envelopes)
    positions = {
        e.pk: EnvelopePosition(envelope=e, depth=d, as_of=as_of, amount=_amount_at(e, as_of)) for e, d in ordered
    }
    parent_of = {e.pk: e.parent_id for e in envelopes}
    for envelope_id, own in totals.items():
        node = envelope_id
        while node is not None and node in positions:  # the entry counts at its envelope and every ancestor
            positions[node].totals.add(own)
            node = parent_of.get(node)
    return [positions[e.pk] for e, _ in ordered]


def envelope_positions(*, as_of: date | None = None) -> list[EnvelopePosition]:
    """Every envelope in tree order with its position (its own entries and its descendants'). Two queries."""
    return _positions(_envelopes(as_of), _totals_from_sums(_ledger_sums(as_of=as_of)), as_of)


def envelope_position(*, envelope: Envelope, as_of: date | None = None) -> EnvelopePosition:
    """One envelope's position, its descendants included. Two queries."""
    envelopes = _envelopes(as_of)
    subtree = _descendant_ids(envelopes, envelope.pk)
    scoped = [e for e in envelopes if e.pk in subtree]
    positions = _positions(scoped, _totals_from_sums(_ledger_sums(as_of=as_of), subtree), as_of)
    return next(p for p in positions if p.envelope.pk == envelope.pk)


def envelope_available(envelope: Envelope, as_of: date | None = None) -> Decimal:
    """What a new commitment against `envelope` can take: the least available along its chain to the root.

    An envelope's own position (`envelope_position(...).available`) is its amount less its subtree's net
    commitments; a commitment must also fit every ancestor, so this is the figure for a funding line.
    Two queries.
    """
    return envelope_available_by_id(envelope.pk, as_of)


def envelope_available_by_id(envelope_id: int, as_of: date | None = None) -> Decimal:
    """`envelope_available` for an envelope known by its id, in the same two queries."""
    positions = envelope_positions(as_of=as_of)
    by_id = {p.envelope.pk: p for p in positions}
    chain = envelope_chain_ids(by_id[envelope_id].envelope, envelopes=[p.envelope for p in positions])
    return min(by_id[pk].available for pk in chain)


def _descendant_ids(envelopes: list[Envelope], root_id: int) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for e in envelopes:
        children.setdefault(e.parent_id, []).append(e.pk)
    found, stack = set(), [root_id]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(children.get(node, []))
    return found


def envelope_chain_ids(envelope: Envelope, *, envelopes: list[Envelope] | None = None) -> list[int]:
    """The envelope and its ancestors, nearest first (one query unless `envelopes` is given)."""
    parent_of = (
        {e.pk: e.parent_id for e in envelopes}
        if envelopes is not None
        else dict(Envelope.objects.values_list("id", "parent_id"))
    )
    chain, node = [], envelope.pk
    while node is not None and node not in chain:
        chain.append(node)
        node = parent_of.get(node)
    return chain


def envelope_subtree_totals(*, root_id: int) -> tuple[dict[int, int | None], dict[int, Totals]]:
    """Parent links and rolled-up totals of every envelope under `root_id` (two queries), for the services."""
    envelopes = list(Envelope.objects.only("id", "parent_id", "code", "amount"))
    subtree = _descendant_ids(envelopes, root_id)
    own = _totals_by_envelope(subtree, None)
    parent_of = {e.pk: e.parent_id for e in envelopes}
    rolled: dict[int, Totals] = {pk: Totals() for pk in subtree}
    for envelope_id, totals in own.items():
        node = envelope_id
        while node is not None and node in rolled:
            rolled[node].add(totals)
            node = parent_of.get(node)
    return parent_of, rolled


def call_envelope(call) -> Envelope | None:
    """The envelope funding `call`, if one is set."""
    funding = CallFunding.objects.select_related("envelope").filter(call_id=call.pk).first()
    return funding.envelope if funding else None


def call_available(call, as_of: date | None = None) -> Decimal | None:
    """What the envelope funding `call` can still take (its chain included), or None when no envelope is set."""
    envelope = call_envelope(call)
    return envelope_available(envelope, as_of) if envelope else None


# --- grants -----------------------------------------------------------------------------------------


def grant_totals(*, grant: Grant, as_of: date | None = None) -> Totals:
    entries = LedgerEntry.objects.filter(grant_id=grant.pk)
    if as_of is not None:
        entries = entries.filter(created_at__lt=end_of_day(as_of))
    return Totals(**entries.order_by().aggregate(**LEDGER_TOTALS))


def grant_list(
    *,
    user,
    status: str | None = None,
    call_id: int | None = None,
    envelope_id: int | None = None,
    country: str | None = None,
    search: str | None = None,
) -> QuerySet[Grant]:
    """Grants `user` may see, filtered, with what a row of the list shows (one query per page).

    The ledger totals are not part of this query: paginate it, then `grant_totals_attach(page)` sums the ledger
    of the page's grants only (one more query), so neither the page nor the paginator's count joins the ledger.
    """
    grants = Grant.objects.visible_to(user).select_related("beneficiary", "proposal__call", "envelope")
    if status:
        grants = grants.filter(status=status)
    if call_id:
        grants = grants.filter(proposal__call_id=call_id)
    if envelope_id:
        grants = grants.filter(envelope_id=envelope_id)
    if country:
        grants = grants.filter(beneficiary__country=country.upper())
    if search:
        grants = grants.filter(
            Q(reference__icontains=search)
            | Q(beneficiary__short_name__icontains=search)
            | Q(beneficiary__legal_name__icontains=search)
            | Q(proposal__acronym__icontains=search)
        )
    return grants.order_by("reference")


def grant_totals_attach(grants: Iterable[Grant]) -> list[Grant]:
    """Set `totals`, `net_committed` and `paid` on each of `grants` from one aggregate of their ledger entries.

    One query whatever the number of grants (none when there are none); meant for a page of a list.
    """
    grants = list(grants)
    if not grants:
        return grants
    totals = _totals_by("grant_id", [g.pk for g in grants], None)
    for grant in grants:
        grant.totals = totals.get(grant.pk, Totals())
        grant.net_committed = grant.totals.net_committed
        grant.paid = grant.totals.paid
    return grants


def grant_detail(*, user, pk: int) -> Grant | None:
    """One grant with what its page shows, or None when `user` may not see it."""
    lines = GrantBudgetLine.objects.order_by("id")
    letters = AwardLetter.objects.order_by("-version")
    return (
        Grant.objects.visible_to(user)
        .select_related("beneficiary", "proposal__call", "proposal__cut_off", "envelope", "signed_by")
        .prefetch_related(Prefetch("budget_lines", queryset=lines), Prefetch("award_letters", queryset=letters))
        .filter(pk=pk)
        .first()
    )


def grant_ledger(*, grant: Grant) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(grant_id=grant.pk)
        .select_related("envelope", "actor", "reverses")
        .annotate(reversal_count=Count("reversed_by"))
        .order_by("created_at", "id")
    )


def selected_proposals_without_grant():
    """The selected proposals no grant was prepared from yet, with their requested EU contribution (`eu_total`)."""
    return selected_proposals().filter(grant__isnull=True)


def award_letter_for_render(*, letter_id: int) -> AwardLetter | None:
    """A letter with what its PDF shows of the grant, the beneficiary, the call and the cut-off, and the applicant
    told when it is ready (one query)."""
    return (
        AwardLetter.objects.select_related(
            "grant__beneficiary",
            "grant__envelope",
            "grant__proposal__call",
            "grant__proposal__cut_off",
            "grant__proposal__created_by",
        )
        .filter(pk=letter_id)
        .first()
    )


def award_letter_latest(*, grant: Grant) -> AwardLetter | None:
    return AwardLetter.objects.filter(grant_id=grant.pk).order_by("-version").first()


def award_letter_to_serve(*, grant: Grant) -> AwardLetter | None:
    """The letter a download without a version answers with: the latest, unless it failed to render and an
    earlier version is ready (then that one). Two queries at most."""
    letters = AwardLetter.objects.filter(grant_id=grant.pk).select_related("grant").order_by("-version")
    latest = letters.first()
    if latest is not None and latest.status == AwardLetter.Status.FAILED:
        return letters.filter(status=AwardLetter.Status.READY).first() or latest
    return latest


def award_letter_by_hash(*, sha256: str) -> AwardLetter | None:
    letter = (
        AwardLetter.objects.filter(sha256=sha256.lower(), status=AwardLetter.Status.READY)
        .select_related("grant__beneficiary", "grant__proposal__call")
        .annotate(latest_version=Max("grant__award_letters__version"))
        .first()
    )
    return letter


# --- dashboard and exports --------------------------------------------------------------------------


@dataclass
class SeriesPoint:
    month: date
    committed: Decimal
    paid: Decimal


def envelope_series(
    *, envelope: Envelope | None = None, as_of: date | None = None, months: int = 24
) -> list[SeriesPoint]:
    """Cumulative net commitments and payments at the end of each month, for every envelope or for `envelope`
    and its descendants (two queries)."""
    entries = LedgerEntry.objects.all()
    if as_of is not None:
        entries = entries.filter(created_at__lt=end_of_day(as_of))
    if envelope is not None:
        envelopes = list(Envelope.objects.only("id", "parent_id"))
        entries = entries.filter(envelope_id__in=_descendant_ids(envelopes, envelope.pk))
    rows = (
        entries.order_by()
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            committed=_sum(Q(kind=LedgerEntry.Kind.COMMITMENT)) - _sum(Q(kind=LedgerEntry.Kind.DECOMMITMENT)),
            paid=_sum(Q(kind__in=PAYMENT_KINDS)) - _sum(Q(kind=LedgerEntry.Kind.RECOVERY)),
        )
        .order_by("month")
    )
    by_month = {}
    for row in rows:
        month = row["month"]
        month = (month.date() if isinstance(month, datetime) else month).replace(day=1)
        by_month[month] = (row["committed"], row["paid"])
    if not by_month:
        return []
    # every month from the first entry to `as_of` (or today), so that the time axis is linear
    month, last = min(by_month), (as_of or timezone.localdate()).replace(day=1)
    last = max(last, max(by_month))
    points, committed, paid = [], ZERO, ZERO
    while month <= last:
        delta_committed, delta_paid = by_month.get(month, (ZERO, ZERO))
        committed += delta_committed
        paid += delta_paid
        points.append(SeriesPoint(month=month, committed=committed, paid=paid))
        month = (month + timedelta(days=32)).replace(day=1)
    return points[-months:] if months else points


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def _month_bucket(months: list[date]) -> Case:
    """0 before `months[0]`, k for an entry in `months[k - 1]`, len(months) + 1 after the last month.

    Plain comparisons of `created_at` with the months' first instants (Europe/Luxembourg): no time zone
    conversion per row. The latest month is tested first, where most entries of a running programme fall.
    """
    starts = [*months, _next_month(months[-1])]
    whens = [
        When(created_at__gte=timezone.make_aware(datetime.combine(start, time.min)), then=Value(k + 1))
        for k, start in enumerate(starts)
    ]
    return Case(*reversed(whens), default=Value(0), output_field=IntegerField())


@dataclass
class FinanceOverview:
    positions: list[EnvelopePosition]
    root: EnvelopePosition | None
    series: list[SeriesPoint]


def finance_overview(*, as_of: date | None = None, months: int = 24) -> FinanceOverview:
    """The finance dashboard's figures in two queries (the envelopes, one aggregate of the ledger).

    `positions` are those of `envelope_positions(as_of=as_of)`; `series` is `envelope_series(envelope=root,
    as_of=as_of, months=months)` for the single root envelope (or every envelope when there are several roots):
    one scan of the ledger grouped by envelope, month, kind and reversal serves both.
    """
    envelopes = _envelopes(as_of)
    last = (as_of or timezone.localdate()).replace(day=1)
    window = [last]
    while len(window) < max(months, 1):
        window.insert(0, (window[0] - timedelta(days=1)).replace(day=1))
    sums = _ledger_sums(as_of=as_of, window=window)
    positions = _positions(envelopes, _totals_from_sums(sums), as_of)
    roots = [p for p in positions if p.depth == 0]
    root = roots[0] if len(roots) == 1 else None
    if months <= 0 or any(bucket > len(window) for _, bucket, _, _ in sums):
        # the whole history, or entries dated after this month: the month-by-month query
        series = envelope_series(envelope=root.envelope if root else None, as_of=as_of, months=months)
        return FinanceOverview(positions=positions, root=root, series=series)
    scope = _descendant_ids(envelopes, root.envelope.pk) if root else None
    by_bucket: dict[int, Totals] = {}
    for (envelope_id, bucket, kind, original), (total, _kept) in sums.items():
        if scope is None or envelope_id in scope:
            _add_kind(by_bucket.setdefault(bucket, Totals()), kind, total if original else -total, ZERO)
    points: list[SeriesPoint] = []
    if by_bucket:
        start = min(by_bucket)  # 0 (entries before the window): the series starts with the window
        committed, paid = ZERO, ZERO
        for bucket in range(start, len(window) + 1):
            delta = by_bucket.get(bucket, Totals())
            committed += delta.net_committed
            paid += delta.paid
            if bucket > 0:
                points.append(SeriesPoint(month=window[bucket - 1], committed=committed, paid=paid))
    return FinanceOverview(positions=positions, root=root, series=points)


def ledger_export_rows(*, as_of: date | None = None):
    entries = LedgerEntry.objects.select_related("grant__beneficiary", "envelope", "actor").order_by("created_at", "id")
    if as_of is not None:
        entries = entries.filter(created_at__lt=end_of_day(as_of))
    return entries.iterator(chunk_size=2000)


def beneficiaries_open_data() -> QuerySet[Grant]:
    """Legal commitments (signed grants) as the EU Financial Transparency System publishes them."""
    return (
        Grant.objects.filter(status__in=[Grant.Status.SIGNED, Grant.Status.ACTIVE, Grant.Status.CLOSED])
        .select_related("beneficiary", "proposal__call", "envelope")
        .order_by("signed_at", "reference")
    )
