"""Grants rows of the scale dataset (`manage.py seed_scale`): an envelope tree, the calls' funding, one grant per
selected proposal (with its budget lines) and the commitment ledger.

Bulk rows, no audit events. The ledger keeps every invariant the services enforce: a grant's commitments come
first and add up to at most its EU contribution; payments (less recoveries) never exceed the net commitment;
pre-financing and interim payments stay within 90% of the grant; a decommitment never exceeds what is committed
and unpaid, a recovery never what was paid; a final payment closes the grant and decommits the balance; and each
envelope's amount covers the net commitments of its subtree (the root's covers all of them).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from grants.models import CallFunding, Envelope, EnvelopeAmount, Grant, GrantBudgetLine, LedgerEntry, Programme

PREFIX = "SCALE"
MUTUAL_INSURANCE = Decimal("0.05")
CATEGORY_LABELS = {"acquisition": "Acquisition", "operations": "Operations", "activities": "AI Factory activities",
                   "experimental_platform": "Experimental platform"}  # fmt: skip
MILLION = 100_000_000  # EUR 1M in cents


@dataclass
class Entry:
    kind: str
    cents: int
    withheld: int = 0


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def plan_ledger(eu: int, n: int, closed: bool) -> list[Entry]:
    """`n` entries of a grant of `eu` cents: commitments, then payments, decommitments and recoveries."""
    if n == 0:
        return []
    n_commit = 1 if n < 4 else max(1, n // 8)
    tranche = eu // n_commit
    entries = [Entry(LedgerEntry.Kind.COMMITMENT, tranche) for _ in range(n_commit - 1)]
    entries.append(Entry(LedgerEntry.Kind.COMMITMENT, eu - tranche * (n_commit - 1)))
    rest = n - n_commit
    closing = 2 if closed and rest >= 3 else 0
    kinds = []
    for t in range(rest - closing):
        if t == 0:
            kinds.append(LedgerEntry.Kind.PREFINANCING)
        elif t % 17 == 0:
            kinds.append(LedgerEntry.Kind.DECOMMITMENT)
        elif t % 11 == 0:
            kinds.append(LedgerEntry.Kind.RECOVERY)
        else:
            kinds.append(LedgerEntry.Kind.INTERIM)
    interims = max(1, kinds.count(LedgerEntry.Kind.INTERIM))
    decommitments = max(1, kinds.count(LedgerEntry.Kind.DECOMMITMENT))
    recoveries = max(1, kinds.count(LedgerEntry.Kind.RECOVERY))
    committed, paid = eu, 0
    for kind in kinds:
        if kind == LedgerEntry.Kind.PREFINANCING:
            amount = eu * 20 // 100
            entries.append(Entry(kind, amount, (Decimal(amount) * MUTUAL_INSURANCE).to_integral_value(ROUND_HALF_UP)))
            paid += amount
        elif kind == LedgerEntry.Kind.INTERIM:
            amount = eu * 50 // 100 // interims
            entries.append(Entry(kind, amount))
            paid += amount
        elif kind == LedgerEntry.Kind.DECOMMITMENT:
            amount = eu * 5 // 100 // decommitments
            entries.append(Entry(kind, amount))
            committed -= amount
        else:
            amount = min(eu // 100 // recoveries, paid)
            entries.append(Entry(kind, amount))
            paid -= amount
    if closing:
        final = eu * 10 // 100
        entries.append(Entry(LedgerEntry.Kind.FINAL, final))
        paid += final
        entries.append(Entry(LedgerEntry.Kind.DECOMMITMENT, committed - paid))
    if any(e.cents <= 0 for e in entries):
        raise ValueError(
            f"{n:,} ledger entries on a grant of {_cents(eu)} EUR leave some entries empty: lower --ledger."
        )
    return entries


def build(*, load, rng, now: datetime, ledger: int, selected: list, people) -> None:
    """Write envelopes, call funding, grants, their budget lines and `ledger` entries over the grants."""
    calls = sorted({s.call_id for s in selected}) or []
    grants_of_call: dict[int, list] = {}
    for s in selected:
        grants_of_call.setdefault(s.call_id, []).append(s)
    base, extra = divmod(ledger, len(selected)) if selected else (0, 0)
    if ledger and not selected:
        raise ValueError("Ledger entries need grants, and no proposal was selected: raise --proposals.")
    grant_ids = load.ids(Grant, len(selected))
    finance = people.finance.pk
    plans, net_of_call = [], dict.fromkeys(calls, 0)
    for index, (s, grant_id) in enumerate(zip(selected, grant_ids, strict=True)):
        eu = sum(total // 2 for _, total in s.lines)
        n = base + (1 if index < extra else 0)
        closed = s.decided_at < now - timedelta(days=240) and rng.random() < 0.15
        entries = plan_ledger(eu, n, closed)
        net = sum(e.cents for e in entries if e.kind == LedgerEntry.Kind.COMMITMENT) - sum(
            e.cents for e in entries if e.kind == LedgerEntry.Kind.DECOMMITMENT
        )
        net_of_call[s.call_id] += net
        plans.append((grant_id, s, eu, entries))

    def round_up(cents: int, headroom: int) -> int:  # + headroom percent, in whole EUR millions, at least 1M
        return max(MILLION, -(-(cents * (100 + headroom)) // (100 * MILLION)) * MILLION)

    root = load.bulk(
        Envelope,
        [Envelope(code=f"{PREFIX}-AIF-2024-2027", name="Scale dataset: AI Factories 2024–2027",
                  programme=Programme.DIGITAL_EUROPE, period_start=2024, period_end=2027, is_illustrative=True,
                  amount=_cents(max([round_up(sum(net_of_call.values()), 5)]
                                    + [round_up(v, 10) for v in net_of_call.values()])))],
    )[0]  # fmt: skip
    children = load.bulk(
        Envelope,
        [
            Envelope(code=f"{PREFIX}-ENV-{n + 1}", name=f"Scale dataset: envelope of call {call_id}",
                     programme=Programme.DIGITAL_EUROPE, period_start=2024, period_end=2027, is_illustrative=True,
                     amount=_cents(round_up(net_of_call[call_id], 10)), parent=root)
            for n, call_id in enumerate(calls)
        ],
    )  # fmt: skip
    envelope_of = {call_id: env.pk for call_id, env in zip(calls, children, strict=True)}
    opened = datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Luxembourg"))  # before the dataset's first commitment
    load.bulk(EnvelopeAmount, [EnvelopeAmount(envelope=e, amount=e.amount, effective_at=opened)
                               for e in [root, *children]])  # fmt: skip
    load.bulk(CallFunding, [CallFunding(call_id=c, envelope_id=envelope_of[c]) for c in calls])

    grant_rows, line_rows, ledger_rows = [], [], []
    for grant_id, s, eu, entries in plans:
        total = sum(t for _, t in s.lines)
        created = s.decided_at + timedelta(days=10)
        start = _first_of_next_month(created.date())
        payments = [e for e in entries if e.kind != LedgerEntry.Kind.COMMITMENT]
        commitments = len(entries) - len(payments)
        signed = created + timedelta(days=20 + commitments) if payments else None
        times = [created + timedelta(days=1, minutes=k) for k in range(commitments)]
        if payments:
            first = signed + timedelta(days=3)
            last = max(now - timedelta(hours=1), first + timedelta(minutes=len(payments)))
            step = (last - first) / max(1, len(payments))
            times += [first + step * k for k in range(len(payments))]
        if not entries:
            status = Grant.Status.PREPARED
        elif not payments:
            status = Grant.Status.BUDGET_COMMITTED
        elif entries[-2].kind == LedgerEntry.Kind.FINAL:
            status = Grant.Status.CLOSED
        else:
            status = Grant.Status.ACTIVE
        updated = times[-1] if times else created
        grant_rows.append((
            grant_id, f"GA-{s.reference}", s.proposal_id, s.organisation_id, _cents(eu), _cents(total - eu),
            _cents(total), (Decimal(eu) / Decimal(total)).quantize(Decimal("0.0001"), ROUND_HALF_UP), MUTUAL_INSURANCE,
            envelope_of[s.call_id], start, date(start.year + 4, start.month, 1) - timedelta(days=1), status, signed,
            finance if signed else None, updated if status == Grant.Status.CLOSED else None, "", finance, created,
            updated,
        ))  # fmt: skip
        line_rows.extend(
            (grant_id, category, CATEGORY_LABELS[category], _cents(t), _cents(t // 2), _cents(t - t // 2))
            for category, t in s.lines
        )
        ledger_rows.extend(
            (e.kind, _cents(e.cents), _cents(e.withheld), grant_id, envelope_of[s.call_id], finance, "", at)
            for e, at in zip(entries, times, strict=True)
        )
    load.copy(Grant, ["id", "reference", "proposal_id", "beneficiary_id", "eu_contribution", "national_contribution",
                      "total_cost", "co_funding_rate", "mutual_insurance_rate", "envelope_id", "start_date", "end_date",
                      "status", "signed_at", "signed_by_id", "closed_at", "termination_reason", "created_by_id",
                      "created_at", "updated_at"], grant_rows)  # fmt: skip
    load.copy(GrantBudgetLine, ["grant_id", "category", "label", "total_cost", "eu_contribution",
                                "national_contribution"], line_rows)  # fmt: skip
    load.copy(LedgerEntry, ["kind", "amount", "withheld", "grant_id", "envelope_id", "actor_id", "memo", "created_at"],
              ledger_rows)  # fmt: skip
