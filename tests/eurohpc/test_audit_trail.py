"""The audit trail as people read it: a label and a sentence for every action, filters, the chain's last
verification, and the CSV export."""

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from eurohpc.audit_text import ACTIONS, action_label, event_sentence
from eurohpc.models import AuditChainCheck, AuditEvent
from eurohpc.services import audit_chain_verify, audit_record
from tests.conftest import clock_moved_back

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
LUX = ZoneInfo("Europe/Luxembourg")


def _recorded_verbs() -> set[str]:
    verbs = set()
    for app in ("calls", "grants", "hosting", "eurohpc"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            verbs |= set(re.findall(r'verb="([a-z_]+\.[a-z_]+)"', path.read_text()))
    # `evaluation.{kind}`: one verb per kind of decision
    verbs |= {"evaluation.decision", "evaluation.promotion", "evaluation.withdrawal"}
    return verbs


def test_every_recorded_action_has_a_label_and_a_sentence():
    verbs = _recorded_verbs()
    assert len(verbs) >= 50  # the walk found the services
    assert sorted(verbs - set(ACTIONS)) == []
    for verb, action in ACTIONS.items():
        assert action.sentence.count("{actor}") == 1 and action.sentence.count("{target}") == 1, verb
        assert "_" not in action.label and "." not in action.label, verb


def test_an_event_reads_as_a_sentence_with_the_persons_name(client, programme_officer):
    audit_record(actor=programme_officer, verb="call.open", target=programme_officer.organisation)
    assert action_label("call.open") == "Call opened"
    assert event_sentence(verb="proposal.submit", actor="Aino Virtanen", target="EUROHPC-1") == (
        "Aino Virtanen submitted the proposal EUROHPC-1."
    )
    assert action_label("legacy.some_thing") == "Some thing"  # never a raw code
    client.force_login(programme_officer)
    page = client.get("/audit/").content.decode()
    assert f"{programme_officer.display_name} opened the call" in page
    assert "<code>call.open</code>" not in page


@pytest.fixture
def trail(programme_officer, finance_officer, monkeypatch):
    with clock_moved_back(monkeypatch, days=10):
        audit_record(actor=programme_officer, verb="call.create", changes={"eu_contribution": "1.00"})
    audit_record(actor=finance_officer, verb="grant.sign")
    audit_record(actor=programme_officer, verb="call.open")


def test_audit_filters_by_person_action_and_days(client, programme_officer, finance_officer, trail):
    client.force_login(programme_officer)
    by_finance = client.get("/audit/", {"actor": finance_officer.username}).content.decode()
    assert "<strong>Grant signed</strong>" in by_finance and "<strong>Call opened</strong>" not in by_finance
    by_action = client.get("/audit/", {"action": "call.open"}).content.decode()
    assert "<strong>Call opened</strong>" in by_action and "<strong>Grant signed</strong>" not in by_action
    today = timezone.localdate().isoformat()
    recent = client.get("/audit/", {"since": today, "until": today}).content.decode()
    assert "<strong>Call created</strong>" not in recent and "<strong>Call opened</strong>" in recent


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"actor": "nobody"}, "No user is called &#x27;nobody&#x27;."),
        ({"since": "2026-12-10", "until": "2026-12-01"}, "The last day comes on or after the first."),
        ({"since": "0001-01-01"}, "Must be between the years 2000 and 2100."),
    ],
)
def test_audit_filters_refuse_what_cannot_be_a_filter(client, programme_officer, params, message):
    client.force_login(programme_officer)
    response = client.get("/audit/", params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_audit_export_is_the_filtered_trail_as_csv(client, programme_officer, finance_officer, trail):
    client.force_login(programme_officer)
    response = client.get("/audit/export.csv", {"actor": programme_officer.username})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:6] == ["seq", "time (Europe/Luxembourg)", "actor username", "actor", "action", "verb"]
    assert [row[5] for row in rows[1:]] == ["call.open", "call.create"]
    assert rows[1][3] == programme_officer.display_name
    assert rows[2][9] == f"{programme_officer.display_name} created the call —."
    assert rows[2][10] == '{"eu_contribution": "1.00"}'


def test_audit_export_refused_with_a_bad_filter(client, programme_officer):
    client.force_login(programme_officer)
    response = client.get("/audit/export.csv", {"actor": "nobody"})
    assert response.status_code == 400
    assert response.content.decode() == "Who (username): No user is called 'nobody'."


def test_audit_pages_refused_for_applicant(client, applicant):
    client.force_login(applicant)
    for response in (client.get("/audit/export.csv"), client.post("/audit/verify/")):
        assert response.status_code == 403
        assert "Only officers and administrators can read the audit trail." in response.content.decode()


def test_chain_verification_is_recorded_and_shown(client, programme_officer, trail, django_capture_on_commit_callbacks):
    client.force_login(programme_officer)
    assert "The chain has not been verified yet." in client.get("/audit/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/audit/verify/")
    assert response.status_code == 302
    check = AuditChainCheck.objects.get()
    events = AuditEvent.objects.count()  # the users' creation and the three events of the trail
    assert (check.ok, check.events, check.first_bad_seq) == (True, events, None) and events >= 3
    page = client.get("/audit/").content.decode()
    assert f"Intact: {events} events verified on {check.checked_at.astimezone(LUX):%d %b %Y %H:%M}" in page


def test_broken_chain_is_shown_with_the_first_bad_event(client, programme_officer, trail):
    from tests.eurohpc.test_audit import tamper

    first = AuditEvent.objects.order_by("seq").first()
    tamper("UPDATE eurohpc_auditevent SET verb = 'call.open' WHERE seq = %s", [first.seq])
    check = audit_chain_verify()
    assert (check.ok, check.first_bad_seq, check.events) == (False, first.seq, 0)
    client.force_login(programme_officer)
    assert f"Broken at event #{first.seq}:" in client.get("/audit/").content.decode()


def test_verify_audit_command_records_its_check(capsys, trail):
    from django.core.management import call_command

    call_command("verify_audit")
    assert AuditChainCheck.objects.get().ok is True
    assert datetime.now(LUX).date() == timezone.localdate(AuditChainCheck.objects.get().checked_at)


def test_audit_trail_lists_events_by_when_they_happened_even_when_recorded_out_of_order(freezer):
    from eurohpc.selectors import audit_events

    lux = ZoneInfo("Europe/Luxembourg")
    freezer(datetime(2025, 3, 12, 10, 0, tzinfo=lux))
    later = audit_record(actor=None, verb="call.create", target=None, changes={"n": 1})
    freezer(datetime(2024, 12, 10, 10, 0, tzinfo=lux))  # a history replayed after the fact
    earlier = audit_record(actor=None, verb="call.create", target=None, changes={"n": 2})
    assert earlier.seq > later.seq
    assert list(audit_events(verb="call.create").values_list("seq", flat=True))[:2] == [later.seq, earlier.seq]
