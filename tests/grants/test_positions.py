"""Envelope positions: the tree roll-up, `as_of` dates, and a constant number of queries."""

import importlib
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from eurohpc.errors import AppendOnlyError
from eurohpc.services import audit_record
from grants.models import Envelope, LedgerEntry
from grants.selectors import (
    envelope_available,
    envelope_position,
    envelope_positions,
    envelope_series,
    finance_overview,
    settled_sums_forget,
)
from grants.services import (
    commitment_create,
    decommitment_create,
    envelope_set_amount,
    grant_sign,
    payment_record,
)

pytestmark = pytest.mark.django_db
LUX = ZoneInfo("Europe/Luxembourg")
EUR = Decimal


def at(y, m, d, hh=12, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LUX)


@pytest.fixture
def history(tree, grant, finance_officer, freezer):
    """Commitment on 10 Jan 2025, signature and pre-financing on 3 Feb, decommitment on 28 Feb 23:30 CET."""
    _parent, child = tree
    freezer(at(2025, 1, 10))
    commitment_create(grant=grant, envelope=child, amount=EUR("100000000.00"), actor=finance_officer)
    freezer(at(2025, 2, 3))
    grant_sign(grant=grant, actor=finance_officer)
    payment_record(grant=grant, kind="prefinancing", amount=EUR("40000000.00"), actor=finance_officer)
    freezer(at(2025, 2, 28, 23, 30))
    decommitment_create(grant=grant, amount=EUR("10000000.00"), actor=finance_officer)
    return tree


def test_position_rolls_up_to_every_ancestor(history):
    by_code = {p.envelope.code: p for p in envelope_positions()}
    for code, amount in (("AIF-2024", "400000000.00"), ("AIF-2024-2027", "800000000.00")):
        p = by_code[code]
        assert p.amount == EUR(amount)
        assert (p.committed, p.decommitted, p.net_committed) == (EUR("1e8"), EUR("1e7"), EUR("9e7"))
        assert (p.paid, p.outstanding) == (EUR("4e7"), EUR("5e7"))
        assert p.available == EUR(amount) - EUR("9e7")
    assert [p.envelope.code for p in envelope_positions()] == ["AIF-2024-2027", "AIF-2024"]


@pytest.mark.parametrize(
    ("as_of", "committed", "paid", "available"),
    [
        (date(2025, 1, 9), "0.00", "0.00", "400000000.00"),
        (date(2025, 1, 10), "100000000.00", "0.00", "300000000.00"),
        (date(2025, 2, 27), "100000000.00", "40000000.00", "300000000.00"),
        # 23:30 CET on 28 Feb is 22:30 UTC: it belongs to 28 Feb in Luxembourg.
        (date(2025, 2, 28), "90000000.00", "40000000.00", "310000000.00"),
    ],
)
def test_position_as_of(history, as_of, committed, paid, available):
    position = envelope_position(envelope=history[1], as_of=as_of)
    assert position.net_committed == EUR(committed)
    assert position.paid == EUR(paid)
    assert position.available == EUR(available)
    assert position.outstanding == EUR(committed) - EUR(paid)


def test_envelope_available_takes_the_tightest_ancestor(tree, grant, finance_officer):
    from grants.services import envelope_set_amount

    parent, child = tree

    commitment_create(grant=grant, envelope=child, amount=EUR("50000000.00"), actor=finance_officer)
    envelope_set_amount(envelope=parent, amount=EUR("60000000.00"), actor=finance_officer)
    envelope_set_amount(envelope=child, amount=EUR("55000000.00"), actor=finance_officer)
    assert envelope_position(envelope=child).available == EUR("5000000.00")
    assert envelope_position(envelope=parent).available == EUR("10000000.00")
    assert envelope_available(child) == EUR("5000000.00")
    envelope_set_amount(envelope=parent, amount=EUR("52000000.00"), actor=finance_officer)
    assert envelope_available(child) == EUR("2000000.00")  # the parent is now the tighter one


def test_envelope_series_is_cumulative_by_month(history):
    points = envelope_series(envelope=history[0])
    assert [(p.month, p.committed, p.paid) for p in points] == [
        (date(2025, 1, 1), EUR("100000000.00"), EUR("0.00")),
        (date(2025, 2, 1), EUR("90000000.00"), EUR("40000000.00")),
    ]


def test_envelope_series_fills_months_without_entries(history):
    points = envelope_series(envelope=history[1], as_of=date(2025, 4, 15))
    assert [p.month for p in points] == [date(2025, m, 1) for m in (1, 2, 3, 4)]
    assert points[-1].committed == EUR("90000000.00")
    assert envelope_series(envelope=history[1], as_of=date(2025, 1, 31))[-1].paid == EUR("0.00")


@pytest.mark.parametrize(
    ("as_of", "months"),
    [
        (None, 24),
        (date(2025, 2, 27), 24),
        (date(2025, 2, 28), 24),  # 23:30 CET on 28 Feb belongs to February
        (date(2025, 4, 15), 24),
        (date(2025, 4, 15), 2),  # January falls before the window: it starts the cumulative figures
        (date(2024, 12, 31), 24),
        (date(2025, 4, 15), 0),
    ],
)
def test_finance_overview_agrees_with_positions_and_series(history, as_of, months):
    overview = finance_overview(as_of=as_of, months=months)
    positions = envelope_positions(as_of=as_of)
    assert [(p.envelope.pk, p.depth, p.totals) for p in overview.positions] == [
        (p.envelope.pk, p.depth, p.totals) for p in positions
    ]
    assert overview.root.envelope == history[0]
    assert overview.series == envelope_series(envelope=history[0], as_of=as_of, months=months)


def test_finance_overview_series_with_an_entry_dated_after_this_month(history, freezer):
    freezer(at(2025, 2, 10))  # the decommitment of 28 Feb is in the future now
    series = finance_overview().series
    assert series == envelope_series(envelope=history[0])
    assert [p.month for p in series] == [date(2025, 1, 1), date(2025, 2, 1)]


def _bulk_entries(grant, envelope, n):
    first = LedgerEntry.objects.filter(grant=grant).first()
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                kind="commitment", amount=EUR("1.00"), grant=grant, envelope=envelope, created_at=first.created_at
            )
            for _ in range(n)
        ]
    )


@pytest.mark.parametrize("rows", [1, 50])
def test_envelope_positions_query_count_is_constant(tree, grant, finance_officer, django_assert_num_queries, rows):
    commitment_create(grant=grant, envelope=tree[1], amount=EUR("1.00"), actor=finance_officer)
    _bulk_entries(grant, tree[1], rows)
    with django_assert_num_queries(2):
        positions = envelope_positions(as_of=date(2100, 1, 1))
    assert positions[1].committed == EUR("1.00") * (rows + 1)
    with django_assert_num_queries(2):
        envelope_position(envelope=tree[0])
    with django_assert_num_queries(2):
        envelope_available(tree[1])
    with django_assert_num_queries(2):  # envelopes, one ledger aggregate by envelope and month
        finance_overview(as_of=date(2100, 1, 1))


def test_position_as_of_reads_the_amount_in_force_then(tree, finance_officer, freezer):
    _parent, child = tree  # opened on 1 January 2024 (Luxembourg)
    freezer(at(2025, 3, 1, 9))
    envelope_set_amount(envelope=child, amount=EUR("450000000.00"), actor=finance_officer)
    freezer(at(2025, 6, 1, 9))
    envelope_set_amount(envelope=child, amount=EUR("420000000.00"), actor=finance_officer)
    freezer(at(2026, 1, 5))
    days = (date(2023, 12, 31), date(2024, 1, 1), date(2025, 2, 28), date(2025, 3, 1), date(2025, 6, 1))
    assert [envelope_position(envelope=child, as_of=day).amount for day in days] == [
        EUR("0.00"), EUR("400000000.00"), EUR("400000000.00"), EUR("450000000.00"), EUR("420000000.00"),
    ]  # fmt: skip
    assert envelope_position(envelope=child).amount == EUR("420000000.00")
    assert envelope_available(child, date(2025, 3, 1)) == EUR("450000000.00")
    by_code = {p.envelope.code: p for p in envelope_positions(as_of=date(2025, 3, 1))}
    assert (by_code["AIF-2024"].available, by_code["AIF-2024-2027"].available) == (
        EUR("450000000.00"),
        EUR("800000000.00"),
    )
    assert [p.amount for p in finance_overview(as_of=date(2025, 3, 1)).positions] == [
        EUR("800000000.00"),
        EUR("450000000.00"),
    ]


def test_envelope_amount_history_is_written_by_the_services(tree, finance_officer, freezer):
    _parent, child = tree
    freezer(at(2025, 3, 1, 9))
    envelope_set_amount(envelope=child, amount=EUR("450000000.00"), actor=finance_officer)
    assert list(child.amounts.order_by("effective_at", "pk").values_list("amount", "effective_at")) == [
        (EUR("400000000.00"), at(2024, 1, 1, 0)),
        (EUR("450000000.00"), at(2025, 3, 1, 9)),
    ]


def test_envelope_amount_history_is_rebuilt_from_the_audit_trail(finance_officer, freezer):
    """Envelopes made before the history existed get it from their creation and their amendment events."""
    migration = importlib.import_module("grants.migrations.0002_envelope_amount_history")
    freezer(at(2024, 2, 1))
    envelope = Envelope.objects.create(code="OLD", name="Old", programme="digital_europe", period_start=2024,
                                       period_end=2024, amount=EUR("300.00"))  # fmt: skip
    freezer(at(2024, 5, 1))
    audit_record(actor=finance_officer, verb="envelope.set_amount", target=envelope,
                 changes={"from": EUR("100.00"), "to": EUR("200.00")})  # fmt: skip
    freezer(at(2024, 7, 1))
    audit_record(actor=finance_officer, verb="envelope.set_amount", target=envelope,
                 changes={"from": EUR("200.00"), "to": EUR("300.00")})  # fmt: skip
    migration.envelope_amounts_from_audit(django_apps, None)
    migration.envelope_amounts_from_audit(django_apps, None)  # envelopes with a history are left alone
    assert list(envelope.amounts.order_by("effective_at", "pk").values_list("amount", "effective_at")) == [
        (EUR("100.00"), at(2024, 2, 1)),
        (EUR("200.00"), at(2024, 5, 1)),
        (EUR("300.00"), at(2024, 7, 1)),
    ]
    assert envelope_position(envelope=envelope, as_of=date(2024, 6, 30)).amount == EUR("200.00")


def test_envelope_amount_history_is_append_only(tree):
    _parent, child = tree
    opening = child.amounts.get()
    with pytest.raises(AppendOnlyError, match="^EnvelopeAmount is append-only: update refused$"):
        child.amounts.update(amount=EUR("1.00"))
    with pytest.raises(AppendOnlyError, match="^EnvelopeAmount is append-only: delete refused$"):
        opening.delete()
    with pytest.raises(DatabaseError, match="append-only table grants_envelopeamount: UPDATE refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE grants_envelopeamount SET amount = 1 WHERE id = %s", [opening.pk])
    assert child.amounts.get().amount == EUR("400000000.00")


def test_positions_add_the_entries_written_after_the_settled_ones(history, grant, finance_officer, freezer):
    freezer(at(2025, 3, 10))  # every entry of the history is settled: its sums are kept after this read
    assert envelope_position(envelope=history[1]).net_committed == EUR("9e7")
    freezer(at(2025, 3, 10, 12, 5))
    payment_record(grant=grant, kind="interim", amount=EUR("1000000.00"), actor=finance_officer)
    decommitment_create(grant=grant, amount=EUR("5000000.00"), actor=finance_officer)
    positions = {p.envelope.pk: p for p in envelope_positions()}
    settled_sums_forget()
    afresh = {p.envelope.pk: p for p in envelope_positions()}
    assert positions[history[1].pk].totals == afresh[history[1].pk].totals
    assert (positions[history[1].pk].net_committed, positions[history[1].pk].paid) == (EUR("8.5e7"), EUR("4.1e7"))


def test_finance_overview_adds_the_entries_written_after_the_settled_ones(history, grant, finance_officer, freezer):
    freezer(at(2025, 3, 10))
    before = finance_overview(as_of=date(2025, 3, 31))
    payment_record(grant=grant, kind="interim", amount=EUR("1000000.00"), actor=finance_officer)
    kept = finance_overview(as_of=date(2025, 3, 31))
    settled_sums_forget()
    afresh = finance_overview(as_of=date(2025, 3, 31))
    assert kept == afresh
    assert kept.series[-1].paid == before.series[-1].paid + EUR("1000000.00")


def test_ledger_sums_read_only_the_newer_entries_once_the_settled_ones_are_kept(history, freezer):
    freezer(at(2025, 3, 10))
    with CaptureQueriesContext(connection) as first:
        envelope_positions()
    with CaptureQueriesContext(connection) as second:
        envelope_positions()
    ledger_first, ledger_second = (
        [q["sql"] for q in c.captured_queries if "grants_ledgerentry" in q["sql"]] for c in (first, second)
    )
    assert (len(ledger_first), len(ledger_second)) == (1, 1)
    assert '"grants_ledgerentry"."id" >' in ledger_second[0]
