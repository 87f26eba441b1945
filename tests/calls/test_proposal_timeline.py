"""A proposal's history on its page: the programme office reads every step of the evaluation and who took it;
the applicant and the technical expert do not learn the experts' names or a decision before it is published."""

import pytest

from calls.evaluation.services import decision_record, decisions_publish, selection_withdraw
from calls.selectors import PUBLIC_EVALUATION_VERBS, proposal_timeline
from tests.calls.evaluation_factories import evaluate, technical_expert

pytestmark = pytest.mark.django_db

EXPERT_NAMES = ("Test User",)  # UserFactory's names: the evaluators' and the technical expert's


@pytest.fixture
def decided(proposal, experts, programme_officer):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    decision_record(proposal=proposal, outcome="selected", actor=programme_officer)
    return proposal


def _timeline(client, user, proposal) -> list[str]:
    client.force_login(user)
    response = client.get(f"/proposals/{proposal.pk}/")
    assert response.status_code == 200
    return [event.verb for event in response.context["timeline"]]


def test_proposal_timeline_shows_the_office_every_evaluation_step(client, decided, programme_officer, experts):
    verbs = _timeline(client, programme_officer, decided)
    assert verbs.count("evaluation.review_submit") == 3
    assert {"evaluation.assign", "evaluation.declare", "evaluation.technical_submit", "evaluation.consensus"} <= set(
        verbs
    )
    assert "evaluation.decision" in verbs
    page = client.get(f"/proposals/{decided.pk}/").content.decode()
    assert experts[0].display_name in page


def test_proposal_timeline_hides_the_evaluation_from_the_applicant(client, decided, applicant, experts):
    verbs = _timeline(client, applicant, decided)
    assert [v for v in verbs if v.startswith("evaluation.")] == []
    assert {"proposal.create", "proposal.submit"} <= set(verbs)
    page = client.get(f"/proposals/{decided.pk}/").content.decode()
    for expert in [*experts, technical_expert()]:
        assert expert.display_name not in page
    assert "Decision recorded" not in page


def test_proposal_timeline_hides_the_evaluators_from_the_technical_expert(client, decided, experts):
    verbs = _timeline(client, technical_expert(), decided)
    assert [v for v in verbs if v.startswith("evaluation.")] == []
    page = client.get(f"/proposals/{decided.pk}/").content.decode()
    assert all(expert.display_name not in page for expert in experts)


def test_proposal_timeline_keeps_the_steps_taken_after_publication_public(decided, applicant, programme_officer):
    decisions_publish(cut_off=decided.cut_off, actor=programme_officer)
    selection_withdraw(proposal=decided, reason="The hosting site is no longer available.", actor=applicant)
    verbs = [e.verb for e in proposal_timeline(proposal=decided, user=applicant)]
    assert [v for v in verbs if v.startswith("evaluation.")] == ["evaluation.withdrawal"]
    assert {"evaluation.promotion", "evaluation.withdrawal"} == PUBLIC_EVALUATION_VERBS
