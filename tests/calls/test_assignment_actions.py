"""An evaluation assignment and a cut-off's decisions offer only what the services accept: the exact actions per
role and state, in the API and on the assignment page; each one listed is accepted when sent, and one not listed
is refused by its service with the rule it breaks."""

import pytest
from django.db import transaction

from calls.evaluation.actions import assignment_actions, cut_off_actions
from calls.evaluation.selectors import assignment_list
from calls.evaluation.services import (
    assignment_create,
    assignment_declare,
    decision_record,
    decisions_confirm,
    decisions_publish,
    review_save,
)
from calls.models import Assignment, CutOff, DecisionPublication, Review
from eurohpc.formatting import local
from eurohpc.models import User
from tests.calls.evaluation_factories import (
    assign_all,
    comments_for,
    evaluate,
    make_batch,
    make_evaluators,
    scores_of,
    submit_review,
)
from tests.conftest import api_for, queries_of_page

pytestmark = pytest.mark.django_db

REFERENCE = "EUROHPC-2026-CEI-AI-03-0001"


def _fresh(assignment: Assignment) -> Assignment:
    """The assignment as the API and the page read it (proposal, review, consensus joined)."""
    return assignment_list().select_related("proposal__consensus").get(pk=assignment.pk)


def _actions(assignment: Assignment, user) -> list[str]:
    return assignment_actions(assignment=_fresh(assignment), user=User.objects.get(pk=user.pk))


def _error(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["detail"]


def _state(name: str, proposal, experts, officer) -> Assignment:
    """The first expert's assignment to `proposal` in the state `name`."""
    if name == "consensus recorded, not reviewed":
        evaluate(proposal, experts, officer, "4", "4", "4")
        late = make_evaluators(1, prefix="late")[0]
        assignment = assignment_create(proposal=proposal, evaluator=late, actor=officer)
        assignment_declare(assignment=assignment, conflict=False, actor=late)
        return assignment
    if name == "pending, proposal decided":
        evaluate(proposal, experts, officer, "4", "4", "4")
        late = make_evaluators(1, prefix="late")[0]
        assignment = assignment_create(proposal=proposal, evaluator=late, actor=officer)
        decision_record(proposal=proposal, outcome="rejected", actor=officer)
        return assignment
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=officer)
    if name == "pending":
        return assignment
    if name == "recused":
        return assignment_declare(assignment=assignment, conflict=True, reason="My former employer.", actor=experts[0])
    assignment_declare(assignment=assignment, conflict=False, actor=experts[0])
    if name == "draft saved":
        review_save(assignment=assignment, scores=scores_of("4", "", ""), comments={}, actor=experts[0])
    elif name == "review submitted":
        submit_review(assignment, "4", "4", "4")
    return assignment


EVALUATOR_ACTIONS = {
    "pending": ["declare"],
    "declared no conflict": ["save_review", "submit_review"],
    "draft saved": ["save_review", "submit_review"],
    "review submitted": [],
    "recused": [],
    "consensus recorded, not reviewed": ["save_review"],
    "pending, proposal decided": [],
}


@pytest.mark.parametrize("state", list(EVALUATOR_ACTIONS))
def test_assignment_actions_of_the_assigned_evaluator(proposal, experts, programme_officer, state):
    assignment = _state(state, proposal, experts, programme_officer)
    assert _actions(assignment, assignment.evaluator) == EVALUATOR_ACTIONS[state]


@pytest.mark.parametrize("state", ["pending", "declared no conflict", "draft saved"])
def test_assignment_actions_are_none_for_officers_and_other_evaluators(
    proposal, experts, programme_officer, admin_user, state
):
    assignment = _state(state, proposal, experts, programme_officer)
    for user in (programme_officer, admin_user, experts[1]):
        assert _actions(assignment, user) == []


def test_assignment_api_detail_lists_the_actions(proposal, experts, programme_officer):
    assignment = _state("pending", proposal, experts, programme_officer)
    url = f"/api/v1/assignments/{assignment.pk}/"
    assert api_for(experts[0]).get(url).json()["actions"] == ["declare"]
    assert api_for(programme_officer).get(url).json()["actions"] == []
    declared = api_for(experts[0]).post(f"{url}declaration/", {"conflict": False}, format="json")
    assert declared.json()["actions"] == ["save_review", "submit_review"]


def test_assignment_api_list_and_creation_list_the_actions(proposal, experts, programme_officer):
    created = api_for(programme_officer).post(
        f"/api/v1/proposals/{proposal.pk}/assignments/", {"evaluator": experts[0].pk}, format="json"
    )
    assert created.json()["actions"] == []  # the officer who assigned: nothing to do on it
    [row] = api_for(experts[0]).get("/api/v1/assignments/").json()["results"]
    assert row["actions"] == ["declare"]


def _send(client, assignment: Assignment, action: str):
    url = f"/api/v1/assignments/{assignment.pk}/"
    if action == "declare":
        return client.post(f"{url}declaration/", {"conflict": False}, format="json")
    if action == "save_review":
        return client.post(f"{url}review/", {"scores": scores_of("4", "", "")}, format="json")
    return client.post(
        f"{url}review/", {"scores": scores_of("4", "4", "4"), "comments": comments_for(), "submit": True}, format="json"
    )


@pytest.mark.parametrize("state", list(EVALUATOR_ACTIONS))
def test_every_assignment_action_listed_by_the_api_is_accepted(proposal, experts, programme_officer, state):
    assignment = _state(state, proposal, experts, programme_officer)
    client = api_for(assignment.evaluator)
    listed = client.get(f"/api/v1/assignments/{assignment.pk}/").json()["actions"]
    assert listed == EVALUATOR_ACTIONS[state]
    refused = []
    for action in listed:
        savepoint = transaction.savepoint()
        try:
            response = _send(client, assignment, action)
            if response.status_code not in (200, 201):
                refused.append((action, response.status_code, response.json()["detail"]))
        finally:
            transaction.savepoint_rollback(savepoint)
    assert refused == []


def test_submitted_review_offers_no_saving_and_the_service_refuses_it(proposal, experts, programme_officer):
    assignment = _state("review submitted", proposal, experts, programme_officer)
    assert "save_review" not in _actions(assignment, experts[0])
    submitted_at = Review.objects.get(assignment=assignment).submitted_at
    response = _send(api_for(experts[0]), assignment, "save_review")
    assert _error(response) == (
        409,
        "review_locked",
        f"Your review of proposal {REFERENCE} was submitted on {local(submitted_at)}: a submitted review is locked.",
    )


def test_recorded_consensus_offers_no_submission_and_the_service_refuses_it(proposal, experts, programme_officer):
    assignment = _state("consensus recorded, not reviewed", proposal, experts, programme_officer)
    assert "submit_review" not in _actions(assignment, assignment.evaluator)
    response = _send(api_for(assignment.evaluator), assignment, "submit_review")
    assert _error(response) == (
        409,
        "consensus_recorded",
        f"The consensus on proposal {REFERENCE} is already recorded.",
    )


def test_decided_proposal_offers_no_declaration_and_the_service_refuses_it(proposal, experts, programme_officer):
    assignment = _state("pending, proposal decided", proposal, experts, programme_officer)
    assert "declare" not in _actions(assignment, assignment.evaluator)
    response = _send(api_for(assignment.evaluator), assignment, "declare")
    assert _error(response) == (409, "decided", f"Proposal {REFERENCE} is rejected: its evaluation is over.")


# --- the assignment page ------------------------------------------------------------------------------------

DECLARE_FORM = 'action="/evaluation/assignments/{pk}/declaration/"'
SAVE_BUTTON = 'name="action" value="save"'
SUBMIT_BUTTON = 'name="action" value="submit"'


def _offered(client, assignment: Assignment) -> list[str]:
    client.force_login(assignment.evaluator)
    html = client.get(f"/evaluation/assignments/{assignment.pk}/").content.decode()
    marks = {
        "declare": DECLARE_FORM.format(pk=assignment.pk),
        "save_review": SAVE_BUTTON,
        "submit_review": SUBMIT_BUTTON,
    }
    return [name for name, mark in marks.items() if mark in html]


@pytest.mark.parametrize("state", list(EVALUATOR_ACTIONS))
def test_assignment_page_offers_exactly_the_actions(client, proposal, experts, programme_officer, state):
    assignment = _state(state, proposal, experts, programme_officer)
    assert _offered(client, assignment) == EVALUATOR_ACTIONS[state]


def test_assignment_page_of_a_decided_proposal_says_the_evaluation_is_over(
    client, proposal, experts, programme_officer
):
    assignment = _state("pending, proposal decided", proposal, experts, programme_officer)
    client.force_login(assignment.evaluator)
    html = client.get(f"/evaluation/assignments/{assignment.pk}/").content.decode()
    assert "The evaluation of this proposal is over." in html
    assert "Record my declaration" not in html


@pytest.mark.parametrize("state", ["pending", "draft saved", "consensus recorded, not reviewed"])
def test_every_action_the_assignment_page_offers_is_accepted(client, proposal, experts, programme_officer, state):
    assignment = _state(state, proposal, experts, programme_officer)
    scores = {"score_excellence": "4", "score_impact": "4", "score_implementation": "4",
              "comment_excellence": "a", "comment_impact": "b", "comment_implementation": "c"}  # fmt: skip
    posts = {
        "declare": ("declaration/", {"declaration": "no_conflict"}),
        "save_review": ("review/", {**scores, "action": "save"}),
        "submit_review": ("review/", {**scores, "action": "submit"}),
    }
    refused = []
    for action in _offered(client, assignment):
        path, data = posts[action]
        savepoint = transaction.savepoint()
        try:
            response = client.post(f"/evaluation/assignments/{assignment.pk}/{path}", data)
            if response.status_code != 302:
                refused.append((action, response.status_code))
        finally:
            transaction.savepoint_rollback(savepoint)
    assert refused == []


# --- query counts -----------------------------------------------------------------------------------------


def _assign(proposals, evaluator, officer, *, declared: bool) -> None:
    for p in proposals:
        assignment = assignment_create(proposal=p, evaluator=evaluator, actor=officer)
        if declared:
            assignment_declare(assignment=assignment, conflict=False, actor=evaluator)


@pytest.mark.parametrize("declared", [False, True])
def test_assignments_list_with_actions_keeps_a_constant_number_of_queries(
    client, call, applicant, programme_officer, freezer, experts, declared
):
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=4)
    readers = (experts[0], programme_officer)

    def queries() -> dict[str, int]:
        return {user.username: queries_of_page(client, user, "/api/v1/assignments/") for user in readers}

    _assign(proposals[:1], experts[0], programme_officer, declared=declared)
    one = queries()
    _assign(proposals[1:], experts[0], programme_officer, declared=declared)
    assert api_for(experts[0]).get("/api/v1/assignments/").json()["count"] == 4
    assert queries() == one


# --- a cut-off's decisions --------------------------------------------------------------------------------


@pytest.fixture
def two(call, applicant, programme_officer, freezer):
    return make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=2,
                      budgets=["1000000.00", "2000000.00"])  # fmt: skip


def _cut_off_state(name: str, proposals, experts, officer) -> CutOff:
    cut_off = proposals[0].cut_off
    if name == "consensus missing":
        evaluate(proposals[0], experts, officer, "4", "4", "4")
        assign_all(proposals[1], experts, officer)
        return cut_off
    for p in proposals:
        evaluate(p, experts, officer, "4.5", "4.5", "4.5")
    if name in ("decided", "published"):
        decisions_confirm(cut_off=cut_off, actor=officer)
    if name == "published":
        decisions_publish(cut_off=cut_off, actor=officer)
    return cut_off


CUT_OFF_ACTIONS_BY_STATE = {
    "consensus missing": [],
    "every consensus recorded": ["confirm_decisions"],
    "decided": ["confirm_decisions", "publish_decisions"],
    "published": [],
}


@pytest.mark.parametrize("state", list(CUT_OFF_ACTIONS_BY_STATE))
def test_cut_off_actions_per_state(two, experts, programme_officer, admin_user, state):
    cut_off = _cut_off_state(state, two, experts, programme_officer)
    officer = User.objects.get(pk=programme_officer.pk)
    assert cut_off_actions(cut_off=cut_off, user=officer) == CUT_OFF_ACTIONS_BY_STATE[state]
    assert cut_off_actions(cut_off=cut_off, user=admin_user) == []  # sees the ranking, decides nothing


@pytest.mark.parametrize("state", list(CUT_OFF_ACTIONS_BY_STATE))
def test_every_cut_off_action_listed_by_the_ranking_is_accepted(call, two, experts, programme_officer, state):
    cut_off = _cut_off_state(state, two, experts, programme_officer)
    client = api_for(programme_officer)
    listed = client.get(f"/api/v1/calls/{call.pk}/ranking/?cut_off={cut_off.pk}").json()["actions"]
    assert listed == CUT_OFF_ACTIONS_BY_STATE[state]
    paths = {"confirm_decisions": "confirm", "publish_decisions": "publish"}
    refused = []
    for action in listed:
        savepoint = transaction.savepoint()
        try:
            response = client.post(f"/api/v1/cut-offs/{cut_off.pk}/decisions/{paths[action]}/")
            if response.status_code != 200:
                refused.append((action, response.status_code, response.json()["detail"]))
        finally:
            transaction.savepoint_rollback(savepoint)
    assert refused == []


def test_missing_consensus_offers_no_confirmation_and_the_service_refuses_it(call, two, experts, programme_officer):
    cut_off = _cut_off_state("consensus missing", two, experts, programme_officer)
    assert "confirm_decisions" not in cut_off_actions(cut_off=cut_off, user=programme_officer)
    response = api_for(programme_officer).post(f"/api/v1/cut-offs/{cut_off.pk}/decisions/confirm/")
    assert _error(response) == (409, "no_consensus", "The consensus is missing for: EUROHPC-2026-CEI-AI-03-0002.")


def test_published_decisions_offer_no_second_publication_and_the_service_refuses_it(
    call, two, experts, programme_officer
):
    cut_off = _cut_off_state("published", two, experts, programme_officer)
    body = api_for(programme_officer).get(f"/api/v1/calls/{call.pk}/ranking/?cut_off={cut_off.pk}").json()
    assert "publish_decisions" not in body["actions"]
    published_at = DecisionPublication.objects.get(cut_off=cut_off).published_at
    response = api_for(programme_officer).post(f"/api/v1/cut-offs/{cut_off.pk}/decisions/publish/")
    assert _error(response) == (
        409,
        "published",
        f"The decisions of this cut-off were published on {local(published_at)}: they change only by promotion "
        "from the reserve list or withdrawal after selection.",
    )
