"""Usage rows without per-job foreign keys: the database still refuses a dangling or changed reference."""

import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from hosting.models import UsageImport, UsageRecord
from hosting.services import usage_import_create
from tests.conftest import requires_postgresql
from tests.hosting.factories import AllocationFactory, sacct_file, sacct_line, usage_row_insert

pytestmark = [requires_postgresql, pytest.mark.django_db]


@pytest.fixture
def record(lumi, period, lumi_g):
    AllocationFactory(partition=lumi_g, period=period, slurm_account="project_465000001", amount=Decimal("10000"))
    usage_import_create(
        machine=lumi,
        stream=io.BytesIO(sacct_file(sacct_line("1001"))),
        file_name="sacct.txt",
        source=UsageImport.Source.COMMAND,
        actor=None,
    )
    return UsageRecord.objects.get()


def _execute(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    ("column", "missing"),
    [("allocation_id", "allocation"), ("machine_id", "machine"), ("usage_import_id", "usage import")],
)
def test_usage_insert_refuses_reference_that_does_not_exist(record, column, missing):
    with pytest.raises(IntegrityError) as refused:
        _execute(*usage_row_insert(record, **{column: 987654}))
    assert str(refused.value).splitlines()[0] == f"usage refers to {missing} 987654 which does not exist"
    assert UsageRecord.objects.count() == 1


def test_usage_insert_with_existing_references_passes(record):
    _execute(*usage_row_insert(record))
    assert UsageRecord.objects.count() == 2


@pytest.mark.parametrize(
    ("table", "attribute"),
    [
        ("hosting_allocation", "allocation_id"),
        ("hosting_machine", "machine_id"),
        ("hosting_usageimport", "usage_import_id"),
    ],
)
def test_delete_of_row_with_usage_is_refused_below_orm(record, table, attribute):
    pk = getattr(record, attribute)
    with pytest.raises(IntegrityError) as refused:
        _execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608 - names from the test
    assert str(refused.value).splitlines()[0] == f"{table} {pk} has usage: not deleted"


def test_delete_of_allocation_with_usage_is_refused_by_orm(record):
    with pytest.raises(ProtectedError):
        record.allocation.delete()


def test_usage_rows_are_append_only(record):
    with pytest.raises(IntegrityError) as refused:
        _execute("UPDATE hosting_usagerecord SET allocation_id = allocation_id")
    assert str(refused.value).splitlines()[0] == "append-only table hosting_usagerecord: UPDATE refused"
    with pytest.raises(IntegrityError):
        _execute("DELETE FROM hosting_usagerecord")
    assert UsageRecord.objects.count() == 1
