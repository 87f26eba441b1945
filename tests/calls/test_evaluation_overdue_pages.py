"""The overdue evaluation work on pages and in the API: the officer's list and reassignment, the board's and the
evaluator's deadlines, the refusals with their status and message, and the query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from calls.evaluation.services import assignment_reassign, review_save
from calls.models import Assignment
from eurohpc.formatting import local
from eurohpc.models import Role
from tests.calls.evaluation_factories import assign_all, make_batch, make_evaluators, scores_of
from tests.calls.factories import make_call
from tests.conftest import api_for, queries_of_page
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REF = "EUROHPC-2026-CEI-AI-03-0001"
OVERDUE = "/officer/evaluation/overdue/"
API_OVERDUE = "/api/v1/evaluation/overdue/"


@pytest.fixture
def spare(db):
    return UserFactory(username="spare", first_name="Sara", last_name="Spare", roles=[Role.EVALUATOR])


@pytest.fixture
def late(proposal, experts, programme_officer, freezer) -> Assignment:
    """The first expert declared no conflict and saved a draft; the clock is a day past the review deadline."""
    assignments = assign_all(proposal, experts, programme_officer)
    review_save(assignment=assignments[0], scores=scores_of("4", "", ""), comments={}, actor=experts[0])
    freezer(assignments[0].deadline + timedelta(days=1))
    return assignments[0]


# --- the officer's page -------------------------------------------------------------------------------------


def test_overdue_page_lists_late_work_with_a_reassign_form(client, programme_officer, late, spare):
    client.force_login(programme_officer)
    response = client.get(OVERDUE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Individual review" in page and REF in page
    assert f'action="/officer/evaluation/assignments/{late.pk}/reassign/"' in page
    assert "Sara Spare (load 0)" in page
    assert "Test User" not in page.split("Replacement expert")[1].split("</select>")[0]  # the assigned experts


def test_overdue_page_is_for_officers(client, evaluator):
    client.force_login(evaluator)
    response = client.get(OVERDUE)
    assert response.status_code == 403
    assert "Only programme officers manage the evaluation." in response.content.decode()


def test_reassign_through_the_page(client, programme_officer, late, spare):
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/assignments/{late.pk}/reassign/", {"evaluator": spare.pk})
    assert (response.status_code, response["Location"]) == (302, OVERDUE)
    late.refresh_from_db()
    assert late.close_reason == "reassigned" and late.replacement.evaluator == spare


def test_reassign_page_refuses_work_not_overdue_with_409(client, programme_officer, proposal, experts, spare):
    a = assign_all(proposal, experts, programme_officer, declare=False)[0]
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/assignments/{a.pk}/reassign/", {"evaluator": spare.pk})
    assert response.status_code == 409
    message = (
        f"The assignment of {experts[0].display_name} to proposal {REF} is not overdue: its declaration is due by "
        f"{local(a.declaration_deadline)}."
    )
    assert escape(message) in response.content.decode()


def test_reassign_page_refuses_a_conflict_of_interest_with_400(client, programme_officer, late, organisation):
    insider = UserFactory(
        username="insider", first_name="Ines", last_name="Insider", organisation=organisation, roles=[Role.EVALUATOR]
    )
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/assignments/{late.pk}/reassign/", {"evaluator": insider.pk})
    assert response.status_code == 400
    message = f"Conflict of interest: Ines Insider works for {organisation.short_name}, the applicant of {REF}."
    assert escape(message) in response.content.decode()


def test_reassign_page_refuses_an_evaluator_with_403(client, late, spare, experts):
    client.force_login(experts[1])
    response = client.post(f"/officer/evaluation/assignments/{late.pk}/reassign/", {"evaluator": spare.pk})
    assert response.status_code == 403
    assert "Only programme officers reassign overdue evaluation work." in response.content.decode()


@pytest.mark.parametrize("url", [OVERDUE, API_OVERDUE])
def test_overdue_lists_cost_the_same_queries_for_one_row_and_several(
    client, url, applicant, programme_officer, freezer, spare
):
    call = make_call()
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=4)
    experts = make_evaluators(3, prefix="slow")
    assign_all(proposals[0], experts[:1], programme_officer, declare=False)
    moment = proposals[0].cut_off.closes_at + timedelta(days=4)
    freezer(moment)
    one = queries_of_page(client, programme_officer, url)
    freezer(proposals[0].cut_off.closes_at + timedelta(seconds=2))
    for p in proposals[1:]:
        assign_all(p, experts, programme_officer, declare=False)
    freezer(moment)
    assert client.get(url).content.decode().count("/reassign/") == (10 if url == OVERDUE else 0)
    assert queries_of_page(client, programme_officer, url) == one


# --- the board, the cut-offs and the dashboard --------------------------------------------------------------


def test_board_flags_overdue_work_first_with_its_deadlines(client, programme_officer, late):
    client.force_login(programme_officer)
    page = client.get(f"/officer/evaluation/cut-offs/{late.proposal.cut_off_id}/assignments/").content.decode()
    assert '<span class="badge badge-bad">Overdue</span>' in page
    assert "overdue: review" in page
    assert "consensus due" in page


def test_board_shows_a_reassigned_assignment_as_closed(client, programme_officer, late, spare):
    assignment_reassign(assignment=late, evaluator=spare, actor=programme_officer)
    client.force_login(programme_officer)
    page = client.get(f"/officer/evaluation/cut-offs/{late.proposal.cut_off_id}/assignments/").content.decode()
    assert "closed — reassigned" in page


def test_dashboard_counts_overdue_work_and_links_the_page(client, programme_officer, late):
    client.force_login(programme_officer)
    page = client.get("/dashboard/").content.decode()
    assert f'<a href="{OVERDUE}"><strong>3</strong> overdue declarations or reviews</a>' in page


def test_cut_off_list_shows_the_consensus_due_date(client, programme_officer, late):
    client.force_login(programme_officer)
    page = client.get("/officer/evaluation/").content.decode()
    due = late.proposal.cut_off.closes_at + timedelta(days=35)
    assert "Consensus due" in page and f"{timezone.localtime(due):%d %b %Y}" in page


# --- the late expert's pages --------------------------------------------------------------------------------


def test_evaluator_list_shows_both_deadlines_and_overdue(client, late, experts):
    client.force_login(experts[0])
    page = client.get("/evaluation/").content.decode()
    assert "overdue" in page
    client.force_login(experts[1])
    assert "Review " in client.get("/evaluation/").content.decode()


def test_reassigned_expert_sees_closed_and_no_form(client, programme_officer, late, spare, experts):
    assignment_reassign(assignment=late, evaluator=spare, actor=programme_officer)
    client.force_login(experts[0])
    assert "Closed — reassigned" in client.get("/evaluation/").content.decode()
    page = client.get(f"/evaluation/assignments/{late.pk}/").content.decode()
    assert "Assignment closed" in page
    assert f'action="/evaluation/assignments/{late.pk}/review/"' not in page


def test_review_after_reassignment_answers_409_with_the_reason(client, programme_officer, late, spare, experts):
    assignment_reassign(assignment=late, evaluator=spare, actor=programme_officer)
    late.refresh_from_db()
    client.force_login(experts[0])
    response = client.post(
        f"/evaluation/assignments/{late.pk}/review/",
        {"action": "submit", "excellence": "4", "excellence_comment": "Good."},
    )
    assert response.status_code == 409
    message = (
        f"Your assignment to proposal {REF} was reassigned on {local(late.closed_at)} after its deadline of "
        f"{local(late.deadline)}: your draft is kept but no longer accepted."
    )
    assert escape(message) in response.content.decode()


# --- the API ------------------------------------------------------------------------------------------------


def test_api_overdue_lists_late_work_with_candidates(programme_officer, late, spare):
    response = api_for(programme_officer).get(API_OVERDUE)
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert (row["assignment"], row["step"], row["days_late"]) == (late.pk, "review", 1)
    assert row["proposal"]["reference"] == REF
    assert [c["username"] for c in row["candidates"]] == ["spare"]


def test_api_overdue_is_for_officers(evaluator):
    response = api_for(evaluator).get(API_OVERDUE)
    assert response.status_code == 403
    assert response.json()["detail"] == "Only programme officers manage the evaluation."


def test_api_reassign_answers_the_new_assignment(programme_officer, late, spare):
    response = api_for(programme_officer).post(
        f"/api/v1/assignments/{late.pk}/reassign/", {"evaluator": spare.pk, "reason": "Late."}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["evaluator"]["username"], body["replaces"], body["overdue"], body["closed_at"]) == (
        "spare", late.pk, False, None,
    )  # fmt: skip
    old = api_for(programme_officer).get(f"/api/v1/assignments/{late.pk}/").json()
    assert (old["close_reason"], old["overdue"]) == ("reassigned", False)


def test_api_reassign_refusals(programme_officer, late, spare, experts, proposal):
    officer = api_for(programme_officer)
    response = api_for(experts[1]).post(f"/api/v1/assignments/{late.pk}/reassign/", {"evaluator": spare.pk})
    assert (response.status_code, response.json()["detail"]) == (
        403, "Only programme officers reassign overdue evaluation work.",
    )  # fmt: skip
    on_time = Assignment.objects.get(proposal=proposal, evaluator=experts[1])
    review_save(
        assignment=on_time, scores=scores_of("4", "4", "4"),
        comments={"excellence": "a", "impact": "b", "implementation": "c"}, actor=experts[1], submit=True,
    )  # fmt: skip
    response = officer.post(f"/api/v1/assignments/{on_time.pk}/reassign/", {"evaluator": spare.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "review_submitted"
    officer.post(f"/api/v1/assignments/{late.pk}/reassign/", {"evaluator": spare.pk})
    response = api_for(experts[0]).post(
        f"/api/v1/assignments/{late.pk}/review/",
        {"scores": scores_of("4", "4", "4"), "comments": {"excellence": "x"}},
        format="json",
    )
    late.refresh_from_db()
    assert response.status_code == 409
    assert response.json()["code"] == "assignment_closed"
    assert response.json()["detail"] == (
        f"Your assignment to proposal {REF} was reassigned on {local(late.closed_at)} after its deadline of "
        f"{local(late.deadline)}: your draft is kept but no longer accepted."
    )


def test_declaration_after_reassignment_answers_409_on_the_page(
    client, proposal, experts, programme_officer, freezer, spare
):
    a = assign_all(proposal, experts, programme_officer, declare=False)[0]
    freezer(a.declaration_deadline + timedelta(hours=2))
    assignment_reassign(assignment=a, evaluator=spare, actor=programme_officer)
    a.refresh_from_db()
    client.force_login(experts[0])
    message = (
        f"Your assignment to proposal {REF} was reassigned on {local(a.closed_at)} after its deadline of "
        f"{local(a.declaration_deadline)}: your draft is kept but no longer accepted."
    )
    for url, data in (
        (f"/evaluation/assignments/{a.pk}/declaration/", {"declaration": "no_conflict"}),
        (f"/evaluation/assignments/{a.pk}/review/", {"action": "save", "excellence": "4"}),
    ):
        response = client.post(url, data)
        assert response.status_code == 409
        assert escape(message) in response.content.decode()
