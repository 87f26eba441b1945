"""The technical assessment API: the queue and the expert's list (with query counts), an assessment, the
declaration, the assessment itself, the assignment, and the decision refused without a technical pass."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.evaluation.services import feasibility_assign, feasibility_declare
from eurohpc.models import Role
from tests.calls.evaluation_factories import (
    assess_technical,
    batch_of,
    evaluate,
    feasibility_answers,
    technical_expert,
)
from tests.conftest import api_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/evaluation/technical/"


@pytest.fixture
def expert():
    return technical_expert()


@pytest.fixture
def assigned(proposal, expert, programme_officer):
    return feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)


def _assessment(pk: int) -> str:
    return f"/api/v1/evaluation/technical/assessments/{pk}/"


def test_api_queue_lists_hosting_proposals_with_their_state(assigned, proposal, programme_officer, expert):
    response = api_for(programme_officer).get(LIST)
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["proposal"]["reference"] == proposal.reference and row["state"] == "missing"
    assert row["assessment"]["expert"]["username"] == expert.username
    assert row["assessment"]["declaration"] == "pending" and row["assessment"]["draft"] == {}


def test_api_queue_query_count_is_the_same_for_one_and_several_rows(
    call, applicant, programme_officer, freezer, expert
):
    client = api_for(programme_officer)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    first = batch_of(call, applicant, programme_officer, freezer, ["1.00"])
    feasibility_assign(proposal=first[0], expert=expert, actor=programme_officer)
    client.get(LIST)  # the user's roles are read once per client
    one = count()
    more = batch_of(call, applicant, programme_officer, freezer, ["1.00", "1.00", "1.00"])
    feasibility_assign(proposal=more[0], expert=expert, actor=programme_officer)
    assert count() == one
    assert client.get(LIST).json()["count"] == 4


def test_api_expert_list_query_count_is_the_same_for_one_and_several_rows(
    call, applicant, programme_officer, freezer, expert
):
    client = api_for(expert)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    first = batch_of(call, applicant, programme_officer, freezer, ["1.00"])
    feasibility_assign(proposal=first[0], expert=expert, actor=programme_officer)
    client.get(LIST)  # the user's roles are read once per client
    one = count()
    for p in batch_of(call, applicant, programme_officer, freezer, ["1.00", "1.00"]):
        feasibility_assign(proposal=p, expert=expert, actor=programme_officer)
    assert count() == one
    assert [r["assessment"]["actions"] for r in client.get(LIST).json()["results"]] == [["declare"]] * 3


def test_api_list_is_refused_to_an_applicant(applicant):
    response = api_for(applicant).get(LIST)
    assert response.status_code == 403
    assert response.json()["detail"] == "Only programme officers and technical experts see technical assessments."


def test_api_declare_save_and_submit(assigned, expert):
    client = api_for(expert)
    declared = client.post(f"{_assessment(assigned.pk)}declaration/", {"conflict": False}, format="json")
    assert declared.status_code == 200 and declared.json()["actions"] == ["save", "submit"]
    draft = client.post(
        f"{_assessment(assigned.pk)}assessment/",
        {"items": {"tco": "fail"}, "comments": {"tco": "Open."}},
        format="json",
    )
    assert draft.status_code == 200
    assert draft.json()["draft"] == {"items": {"tco": "fail"}, "comments": {"tco": "Open."}}
    incomplete = client.post(f"{_assessment(assigned.pk)}assessment/", {"submit": True}, format="json")
    assert incomplete.status_code == 400
    assert incomplete.json()["code"] == "feasibility_invalid"
    assert incomplete.json()["errors"]["items.site_power"] == ["Power: choose pass or fail."]
    body = {**feasibility_answers(), "summary": "Feasible.", "submit": True}
    submitted = client.post(f"{_assessment(assigned.pk)}assessment/", body, format="json")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted" and submitted.json()["passed"] is True
    assert len(submitted.json()["items"]) == 7 and submitted.json()["actions"] == []
    locked = client.post(f"{_assessment(assigned.pk)}assessment/", body, format="json")
    assert locked.status_code == 409 and locked.json()["code"] == "assessment_locked"


def test_api_save_before_declaring_is_403(assigned, expert, proposal):
    response = api_for(expert).post(f"{_assessment(assigned.pk)}assessment/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"Declare whether you have a conflict of interest with proposal {proposal} before assessing it."
    )


def test_api_assessment_of_another_expert_is_404(assigned):
    other = UserFactory(username="expert-b", roles=[Role.TECHNICAL_EXPERT])
    assert api_for(other).get(_assessment(assigned.pk)).status_code == 404


def test_api_assign_and_refusals(proposal, expert, programme_officer, evaluator):
    url = f"/api/v1/evaluation/technical/proposals/{proposal.pk}/assignment/"
    refused = api_for(evaluator).post(url, {"expert": expert.pk}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only programme officers assign technical experts."
    wrong_role = api_for(programme_officer).post(url, {"expert": evaluator.pk}, format="json")
    assert wrong_role.status_code == 400 and wrong_role.json()["code"] == "not_technical_expert"
    created = api_for(programme_officer).post(url, {"expert": expert.pk}, format="json")
    assert created.status_code == 201 and created.json()["declaration"] == "pending"
    other = UserFactory(username="expert-b", roles=[Role.TECHNICAL_EXPERT])
    second = api_for(programme_officer).post(url, {"expert": other.pk}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "assessment_in_force"


def test_api_decision_selected_without_technical_pass_is_409(proposal, experts, programme_officer, expert):
    scored = evaluate(proposal, experts, programme_officer, "4", "4", "4", technical=False)
    assessment = feasibility_assign(proposal=scored, expert=expert, actor=programme_officer)
    feasibility_declare(assessment=assessment, conflict=False, actor=expert)
    response = api_for(programme_officer).post(
        f"/api/v1/proposals/{scored.pk}/decision/", {"outcome": "selected"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "technical_assessment_missing"
    assert response.json()["detail"] == (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 cannot be selected: its technical assessment (site readiness, "
        "procurement, TCO, energy efficiency, access policy) is not submitted yet."
    )


def test_api_decision_reserve_after_a_failed_assessment_is_409(proposal, experts, programme_officer, expert):
    scored = evaluate(proposal, experts, programme_officer, "4", "4", "4", technical=False)
    assess_technical(scored, programme_officer, expert=expert, failing=("site_power",))
    client = api_for(programme_officer)
    response = client.post(f"/api/v1/proposals/{scored.pk}/decision/", {"outcome": "reserve"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "technical_assessment_failed"
    assert response.json()["detail"] == (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 cannot be put on the reserve list: its technical assessment failed on "
        "Power; a proposal whose technical assessment failed can only be rejected."
    )
    rejected = client.post(f"/api/v1/proposals/{scored.pk}/decision/", {"outcome": "rejected"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["outcome"] == "rejected"


def test_api_ranking_rows_carry_the_technical_state(proposal, experts, programme_officer):
    scored = evaluate(proposal, experts, programme_officer, "4", "4", "4", technical=False)
    response = api_for(programme_officer).get(
        f"/api/v1/calls/{scored.call_id}/ranking/", {"cut_off": scored.cut_off_id}
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["technical"] == "missing"
    assert response.json()["actions"] == []
