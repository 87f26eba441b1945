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


def test_seed_demo_twice_changes_nothing(seeded_demo, capsys):
    first = row_counts()
    assert "Demo data loaded." in seeded_demo
    call_command("seed_demo")
    assert row_counts() == first
    out = capsys.readouterr().out
    assert "Demo data already there: kept as it was (make clean-demo starts afresh)." in out
    assert "applicant   Applicant (CSC)" in out


def test_seed_demo_walks_the_applicant_journey(seeded_demo):
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


def test_seed_demo_admin_is_not_superuser(seeded_demo):
    admin = User.objects.get(username="admin")
    assert admin.is_staff is True
    assert admin.is_superuser is False
    assert admin.has_perm("eurohpc.change_user") is True


# What is planned may lie ahead (a cut-off, a review deadline, a grant's or a period's end); what happened may not.
SCHEDULE_FIELDS = {
    ("calls.CutOff", "closes_at"),
    ("calls.Assignment", "deadline"),
    ("calls.Assignment", "declaration_deadline"),  # a replacement assigned the day before seeding declares later
    ("calls.FeasibilityAssessment", "deadline"),
    ("grants.Grant", "end_date"),
    ("hosting.AllocationPeriod", "start"),
    ("hosting.AllocationPeriod", "end"),
    ("hosting.UserProject", "starts_on"),
    ("hosting.UserProject", "ends_on"),
    ("calls.AccessApplication", "start_month"),  # access asked from a coming month
    ("calls.AccessApplication", "reply_deadline"),  # the applicant's reply window, open at seeding
    ("calls.RedressRequest", "deadline"),  # the end of the window in which the request could be made
    ("eurohpc.ApiToken", "expires_at"),  # a token in use expires later
}


def test_seed_demo_history_lies_in_the_past(seeded_demo):
    from django.db import models
    from django.utils import timezone

    now, today = timezone.now(), timezone.localdate()
    future = []
    for model in apps.get_models():
        if model._meta.app_label not in {"eurohpc", "calls", "grants", "hosting"}:
            continue
        for field in model._meta.concrete_fields:
            if (model._meta.label, field.name) in SCHEDULE_FIELDS:
                continue
            if isinstance(field, models.DateTimeField):
                limit = now
            elif isinstance(field, models.DateField):
                limit = today
            else:
                continue
            if model.objects.filter(**{f"{field.name}__gt": limit}).exists():
                future.append(f"{model._meta.label}.{field.name}")
    assert future == []


def test_seed_demo_documents_are_dated_by_their_decision(seeded_demo):
    from django.db.models import F
    from django.utils import timezone

    from calls.models import Assignment, Review, SummaryReport
    from grants.models import AwardLetter

    day = timezone.localdate
    reports = list(SummaryReport.objects.select_related("decision"))
    letters = list(AwardLetter.objects.select_related("grant"))
    from calls.seed.demo_redress import PROPOSALS

    # The historic selections, and the evaluation reviews' demo cut-off (one report per proposal).
    assert len(reports) == 19 + len(PROPOSALS) and len(letters) >= 1
    assert [r.pk for r in reports if day(r.requested_at) != day(r.decision.decided_at)] == []
    assert [lt.pk for lt in letters if day(lt.requested_at) != day(lt.grant.signed_at)] == []
    # Rendered that same day too: the proposal's status history shows no report prepared years later.
    assert [r.pk for r in reports if r.rendered_at is None or day(r.rendered_at) != day(r.requested_at)] == []
    assert [lt.pk for lt in letters if lt.rendered_at is None or day(lt.rendered_at) != day(lt.requested_at)] == []
    assert not Review.objects.filter(created_at__gt=F("submitted_at")).exists()
    # Review deadlines fall at the end of a working day, as an officer sets them.
    hours = {
        timezone.localtime(deadline).strftime("%H:%M")
        for deadline in Assignment.objects.values_list("deadline", flat=True)
    }
    assert hours == {"17:00"}


def test_replayed_at_refuses_a_moment_after_now():
    from datetime import timedelta

    from django.utils import timezone

    from eurohpc.seed.demo import replayed_at

    ahead = timezone.now() + timedelta(hours=1)
    with pytest.raises(ValueError, match=r"^The demo replays the past only: .* is after now\.$"):
        with replayed_at(ahead):
            pass


def test_seed_demo_selected_proposals_have_budgets_and_submitted_ones_their_documents(seeded_demo):
    from calls.checks import document_checks
    from calls.models import Proposal

    # Access applications ask for GPU-hours, not money: they carry neither budget lines nor documents.
    proposals = Proposal.objects.exclude(type=Proposal.Type.ACCESS)
    selected = proposals.filter(status=Proposal.Status.SELECTED).prefetch_related("budget_lines")
    assert [p.acronym for p in selected if sum(line.eu_contribution for line in p.budget_lines.all()) <= 0] == []
    submitted = proposals.filter(submitted_at__isnull=False).prefetch_related("documents", "consortium_members")
    missing = [
        (p.acronym, check.detail)
        for p in submitted
        for check in document_checks(p, list(p.documents.all()), p.consortium_members.exists())
        if not check.ok
    ]
    assert missing == []


def test_seed_demo_shows_each_state_of_an_api_token(seeded_demo):
    from eurohpc.identity.selectors.tokens import api_token_list
    from eurohpc.models import User

    tokens = api_token_list(user=User.objects.get(username="finance"))
    assert sorted((t.name, t.state) for t in tokens) == [
        ("Laptop test script", "revoked"),
        ("Monthly budget report", "active"),
        ("Quarterly ledger export", "expired"),
    ]
