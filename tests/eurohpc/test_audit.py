import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from eurohpc.audit import GENESIS_HASH
from eurohpc.errors import AppendOnlyError
from eurohpc.models import AuditEvent
from eurohpc.services import audit_record
from tests.conftest import requires_postgresql
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def tamper(sql: str, params: list) -> None:
    """Change a row below the ORM with the append-only trigger switched off, as an intruder with DBA rights would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute("DROP TRIGGER eurohpc_auditevent_append_only")
            cursor.execute(sql, params)


def test_audit_record_chains_hashes():
    first = audit_record(actor=None, verb="test.first", changes={"a": 1})
    second = audit_record(actor=None, verb="test.second", changes={"b": "2"})
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.seq == first.seq + 1


def test_audit_event_orm_update_refused():
    event = audit_record(actor=None, verb="test.event")
    event.verb = "test.changed"
    with pytest.raises(AppendOnlyError, match="AuditEvent is append-only: update refused"):
        event.save()


def test_audit_event_orm_delete_refused():
    event = audit_record(actor=None, verb="test.event")
    with pytest.raises(AppendOnlyError, match="AuditEvent is append-only: delete refused"):
        event.delete()


def test_audit_event_queryset_update_and_delete_refused():
    audit_record(actor=None, verb="test.event")
    with pytest.raises(AppendOnlyError, match="update refused"):
        AuditEvent.objects.filter(verb="test.event").update(verb="x")
    with pytest.raises(AppendOnlyError, match="delete refused"):
        AuditEvent.objects.all().delete()


def test_audit_event_sql_update_refused_by_trigger():
    event = audit_record(actor=None, verb="test.event")
    with pytest.raises(DatabaseError, match="append-only table eurohpc_auditevent: UPDATE refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE eurohpc_auditevent SET verb = 'x' WHERE id = %s", [event.pk])


@requires_postgresql
def test_audit_event_sql_delete_refused_by_trigger():
    event = audit_record(actor=None, verb="test.event")
    with pytest.raises(DatabaseError, match="append-only table eurohpc_auditevent: DELETE refused"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM eurohpc_auditevent WHERE id = %s", [event.pk])


def test_verify_audit_prints_ok_for_intact_chain(capsys):
    OrganisationFactory()
    audit_record(actor=None, verb="test.event", changes={"amount": "1250000.00"})
    call_command("verify_audit")
    assert capsys.readouterr().out.strip() == "OK: 2 audit events, chain intact."


def test_verify_audit_names_first_tampered_event(capsys):
    audit_record(actor=None, verb="test.one")
    second = audit_record(actor=None, verb="test.two", changes={"amount": "100.00"})
    audit_record(actor=None, verb="test.three")
    tamper("UPDATE eurohpc_auditevent SET changes = %s WHERE id = %s", ['{"amount": "999.00"}', second.pk])
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit")
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip() == (
        f"TAMPERED: audit event #{second.seq}: content does not match its hash (1 earlier event(s) intact)."
    )


def test_verify_audit_detects_removed_event(capsys):
    audit_record(actor=None, verb="test.one")
    second = audit_record(actor=None, verb="test.two")
    third = audit_record(actor=None, verb="test.three")
    tamper("DELETE FROM eurohpc_auditevent WHERE id = %s", [second.pk])
    with pytest.raises(SystemExit):
        call_command("verify_audit")
    assert f"audit event #{third.seq}: sequence gap: expected #{second.seq}" in capsys.readouterr().err
