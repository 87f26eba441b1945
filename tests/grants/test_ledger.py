"""The ledger is append-only: the ORM refuses changes, and so does the database below it."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from eurohpc.errors import AppendOnlyError
from grants.models import LedgerEntry
from grants.services import commitment_create
from tests.conftest import requires_postgresql

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(tree, grant, finance_officer):
    return commitment_create(grant=grant, envelope=tree[1], amount=Decimal("1000.00"), actor=finance_officer)


def test_ledger_entry_save_refused(entry):
    entry.amount = Decimal("1.00")
    with pytest.raises(AppendOnlyError, match="^LedgerEntry is append-only: update refused$"):
        entry.save()


def test_ledger_entry_delete_refused(entry):
    with pytest.raises(AppendOnlyError, match="^LedgerEntry is append-only: delete refused$"):
        entry.delete()


def test_ledger_queryset_update_and_delete_refused(entry):
    with pytest.raises(AppendOnlyError, match="^LedgerEntry is append-only: update refused$"):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(AppendOnlyError, match="^LedgerEntry is append-only: delete refused$"):
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("1000.00")


def test_database_refuses_update_below_the_orm(entry):
    with pytest.raises(DatabaseError, match="append-only table grants_ledgerentry"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE grants_ledgerentry SET amount = 1 WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("1000.00")


@requires_postgresql
def test_postgresql_trigger_refuses_delete(entry):
    with pytest.raises(DatabaseError, match="append-only table grants_ledgerentry: DELETE refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM grants_ledgerentry WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_database_refuses_a_non_positive_amount(entry):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(kind="commitment", amount=Decimal("-1.00"), grant=entry.grant,
                                   envelope=entry.envelope, created_at=entry.created_at)  # fmt: skip


def test_database_refuses_an_unknown_kind(entry):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(kind="gift", amount=Decimal("1.00"), grant=entry.grant,
                                   envelope=entry.envelope, created_at=entry.created_at)  # fmt: skip


def test_database_refuses_withheld_on_other_kinds(entry):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(kind="interim", amount=Decimal("10.00"), withheld=Decimal("1.00"),
                                   grant=entry.grant, envelope=entry.envelope, created_at=entry.created_at)  # fmt: skip


def test_database_refuses_a_second_reversal_of_one_entry(entry):
    LedgerEntry.objects.create(kind="commitment", amount=entry.amount, grant=entry.grant, envelope=entry.envelope,
                               reverses=entry, created_at=entry.created_at)  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(kind="commitment", amount=entry.amount, grant=entry.grant,
                                   envelope=entry.envelope, reverses=entry, created_at=entry.created_at)  # fmt: skip
