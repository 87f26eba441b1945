import pytest
from django.apps import apps
from django.core.management import call_command

from calls.models import Call, Proposal
from eurohpc.models import User
from eurohpc.selectors import audit_chain_report

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"eurohpc", "calls", "grants", "hosting"}
    }


def test_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo")
    first = row_counts()
    assert "Demo data loaded." in capsys.readouterr().out
    call_command("seed_demo")
    assert row_counts() == first
    out = capsys.readouterr().out
    assert "Demo data already there: kept as it was (make clean-demo starts afresh)." in out
    assert "applicant   Applicant (CSC)" in out


def test_seed_demo_walks_the_applicant_journey():
    call_command("seed_demo")
    assert set(User.objects.values_list("username", flat=True)) >= {
        "applicant",
        "applicant2",
        "evaluator1",
        "evaluator2",
        "evaluator3",
        "officer",
        "finance",
        "operator",
        "admin",
    }
    demo = Call.objects.get(identifier="EUROHPC-DEMO-AIF-2026")
    assert demo.is_demo is True
    assert demo.status == Call.Status.OPEN
    statuses = set(Proposal.objects.filter(call=demo).values_list("status", flat=True))
    assert {"draft", "submitted", "withdrawn", "ineligible"} <= statuses
    assert Proposal.objects.filter(status="selected", call__identifier__startswith="EUROHPC-2024-CEI").count() == 19
    assert audit_chain_report().ok


def test_seed_demo_admin_is_not_superuser():
    call_command("seed_demo")
    admin = User.objects.get(username="admin")
    assert admin.is_staff is True
    assert admin.is_superuser is False
    assert admin.has_perm("eurohpc.change_user") is True
