import pytest
from django.core.management import call_command

from calls.models import Assignment, Consensus, Decision, DecisionPublication, Proposal, Review
from eurohpc.models import User
from eurohpc.selectors import audit_chain_report

pytestmark = pytest.mark.django_db


def test_seed_demo_evaluations_give_every_role_work(seeded_demo, client):
    historic = Proposal.objects.filter(status="selected", call__identifier__startswith="EUROHPC-2024-CEI")
    assert Consensus.objects.filter(proposal__in=historic).count() == historic.count() == 19
    assert Decision.objects.filter(proposal__in=historic, outcome="selected").count() == 19
    assert DecisionPublication.objects.filter(cut_off__call__identifier__startswith="EUROHPC-2024-CEI").count() == 5
    assert not Assignment.objects.filter(proposal__acronym="AI:AT", evaluator__username="evaluator3").exists()

    demo = Assignment.objects.filter(proposal__call__identifier="EUROHPC-DEMO-AIF-2026")
    assert set(demo.values_list("declaration", flat=True)) == {"pending", "no_conflict", "conflict"}
    assert Review.objects.filter(assignment__in=demo, status="draft").exists()
    assert Consensus.objects.filter(proposal__call__identifier="EUROHPC-DEMO-AIF-2026").count() == 1
    assert audit_chain_report().ok

    for username, url in [
        ("evaluator1", "/evaluation/"),
        ("evaluator3", "/dashboard/"),
        ("officer", "/officer/evaluation/"),
        ("officer", f"/officer/evaluation/cut-offs/{demo.first().proposal.cut_off_id}/assignments/"),
        ("officer", f"/officer/evaluation/cut-offs/{demo.first().proposal.cut_off_id}/ranking/"),
        ("applicant", f"/proposals/{Proposal.objects.get(acronym='LUMI AIF').pk}/outcome/"),
    ]:
        client.force_login(User.objects.get(username=username))
        assert client.get(url).status_code == 200, (username, url)
    counts = (Assignment.objects.count(), Review.objects.count(), Decision.objects.count())
    call_command("seed_demo")
    assert (Assignment.objects.count(), Review.objects.count(), Decision.objects.count()) == counts
