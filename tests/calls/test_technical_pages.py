"""Pages of the technical assessment: the office's queue and its assignment form, the expert's list and
assessment page, the ranking's technical column, the consensus page and the selection refused without a pass."""

import pytest

from calls.evaluation.services import feasibility_assign, feasibility_declare
from calls.models import FeasibilityAssessment
from eurohpc.models import Role
from tests.calls.evaluation_factories import assess_technical, batch_of, evaluate, make_batch, technical_expert
from tests.conftest import queries_of_page
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/officer/evaluation/technical/"


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    return response, response.content.decode()


@pytest.fixture
def expert():
    return technical_expert()


@pytest.fixture
def assigned(proposal, expert, programme_officer):
    return feasibility_assign(proposal=proposal, expert=expert, actor=programme_officer)


# --- the office's queue -------------------------------------------------------------------------------------


def test_technical_queue_offers_the_experts_without_conflict(client, proposal, expert, programme_officer):
    UserFactory(username="insider", organisation=proposal.organisation, roles=[Role.TECHNICAL_EXPERT])
    response, html = _page(client, programme_officer, QUEUE)
    assert response.status_code == 200
    assert proposal.reference in html
    assert f'<option value="{expert.pk}">' in html
    assert "Conflict: " in html and "not submitted" in html


def test_technical_queue_is_refused_to_an_expert(client, expert):
    response, html = _page(client, expert, QUEUE)
    assert response.status_code == 403
    assert "Only programme officers manage the evaluation." in html


def test_technical_queue_query_count_is_the_same_for_one_and_several_rows(
    client, call, applicant, programme_officer, freezer, expert
):
    first = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=1)
    feasibility_assign(proposal=first[0], expert=expert, actor=programme_officer)
    one = queries_of_page(client, programme_officer, QUEUE)
    more = batch_of(call, applicant, programme_officer, freezer, ["1.00", "1.00", "1.00"])
    feasibility_assign(proposal=more[0], expert=expert, actor=programme_officer)
    several = queries_of_page(client, programme_officer, QUEUE)
    assert several == one
    assert client.get(QUEUE).content.decode().count("<tr>") == 1 + 4


def test_technical_assign_form_assigns_the_expert(client, proposal, expert, programme_officer):
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/technical/proposals/{proposal.pk}/assign/", {"expert": expert.pk})
    assert response.status_code == 302
    assert FeasibilityAssessment.objects.get(proposal=proposal).expert == expert


def test_technical_assign_form_refuses_a_second_expert_with_409(client, assigned, proposal, programme_officer):
    other = UserFactory(username="expert-b", roles=[Role.TECHNICAL_EXPERT])
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/technical/proposals/{proposal.pk}/assign/", {"expert": other.pk})
    assert response.status_code == 409
    assert "already has its technical expert" in response.content.decode()


# --- the expert ---------------------------------------------------------------------------------------------


def test_expert_list_and_dashboard_show_the_assessment_to_declare(client, assigned, expert):
    response, html = _page(client, expert, "/evaluation/technical/")
    assert response.status_code == 200
    assert "Declare conflict of interest" in html
    response, html = _page(client, expert, "/dashboard/")
    assert response.status_code == 200
    assert "1 to declare" in html and "Technical assessments" in html


def test_expert_list_is_refused_to_an_evaluator(client, evaluator):
    response, html = _page(client, evaluator, "/evaluation/technical/")
    assert response.status_code == 403
    assert "Only technical experts have technical assessments." in html


def test_another_experts_assessment_is_404(client, assigned):
    other = UserFactory(username="expert-b", roles=[Role.TECHNICAL_EXPERT])
    response, _ = _page(client, other, f"/evaluation/technical/{assigned.pk}/")
    assert response.status_code == 404


def test_the_proposal_opens_to_the_expert_only_after_declaring_no_conflict(client, assigned, proposal, expert):
    response, _ = _page(client, expert, f"/proposals/{proposal.pk}/")
    assert response.status_code == 404
    feasibility_declare(assessment=assigned, conflict=False, actor=expert)
    response, _ = _page(client, expert, f"/proposals/{proposal.pk}/")
    assert response.status_code == 200


def test_expert_declares_then_submits_through_the_form(client, assigned, expert):
    page = f"/evaluation/technical/{assigned.pk}/"
    _, html = _page(client, expert, page)
    assert "Record my declaration" in html and "Submit assessment" not in html
    declared = client.post(f"{page}declaration/", {"declaration": "no_conflict", "reason": ""})
    assert declared.status_code == 302
    html = client.get(page).content.decode()
    assert "Submit assessment" in html and 'name="item-site_power"' in html
    incomplete = client.post(
        f"{page}assessment/", {"item-site_power": "pass", "comment-site_power": "Fine.", "action": "submit"}
    )
    assert incomplete.status_code == 400
    body = incomplete.content.decode()
    assert "The technical assessment cannot be accepted: 13 problem(s)." in body
    assert "Cooling: choose pass or fail." in body and "Summarise the assessment." in body
    form = {"action": "submit", "summary": "Feasible."}
    for code in ("site_power", "site_cooling", "site_floor_space", "procurement", "tco", "energy_efficiency"):
        form |= {f"item-{code}": "pass", f"comment-{code}": "Checked."}
    form |= {"item-access_policy": "fail", "comment-access_policy": "No Union share offered."}
    assert client.post(f"{page}assessment/", form).status_code == 302
    assessment = FeasibilityAssessment.objects.get(pk=assigned.pk)
    assert assessment.status == "submitted" and assessment.passed is False
    html = client.get(page).content.decode()
    assert "Submit assessment" not in html and "No Union share offered." in html
    again = client.post(f"{page}assessment/", form)
    assert again.status_code == 409
    assert "a submitted assessment is locked." in again.content.decode()


# --- ranking, consensus, decision ---------------------------------------------------------------------------


@pytest.fixture
def scored(proposal, experts, programme_officer):
    return evaluate(proposal, experts, programme_officer, "4", "4", "4", technical=False)


def test_ranking_page_shows_the_technical_column_and_offers_no_confirmation(client, scored, programme_officer):
    response, html = _page(client, programme_officer, f"/officer/evaluation/cut-offs/{scored.cut_off_id}/ranking/")
    assert response.status_code == 200
    assert '<th scope="col">Technical</th>' in html
    assert '<span class="badge badge-warn">not submitted</span>' in html
    assert "Confirm the proposed decisions" not in html
    assert '<option value="selected"' not in html
    assert "has its technical assessment: EUROHPC-2026-CEI-AI-03-0001" in html


def test_ranking_page_offers_selection_once_the_assessment_passed(client, scored, programme_officer):
    assess_technical(scored, programme_officer)
    _, html = _page(client, programme_officer, f"/officer/evaluation/cut-offs/{scored.cut_off_id}/ranking/")
    assert "Confirm the proposed decisions" in html and '<option value="selected"' in html


def test_ranking_page_offers_only_rejection_after_a_failed_assessment(client, scored, programme_officer):
    assess_technical(scored, programme_officer, failing=("tco",))
    _, html = _page(client, programme_officer, f"/officer/evaluation/cut-offs/{scored.cut_off_id}/ranking/")
    select = html.split(f'id="outcome-{scored.pk}"')[1].split("</select>")[0]
    assert '<option value="rejected"' in select
    assert '<option value="reserve"' not in select and '<option value="selected"' not in select


def test_ranking_page_offers_the_reserve_list_while_the_assessment_is_missing(client, scored, programme_officer):
    _, html = _page(client, programme_officer, f"/officer/evaluation/cut-offs/{scored.cut_off_id}/ranking/")
    select = html.split(f'id="outcome-{scored.pk}"')[1].split("</select>")[0]
    assert '<option value="reserve"' in select and '<option value="rejected"' in select


def test_decision_page_refuses_reserve_after_a_failed_assessment(client, scored, programme_officer):
    assess_technical(scored, programme_officer, failing=("tco",))
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/proposals/{scored.pk}/decision/", {"outcome": "reserve"})
    assert response.status_code == 409
    assert (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 cannot be put on the reserve list: its technical assessment failed on "
        "Total cost of ownership and its split; a proposal whose technical assessment failed can only be rejected."
    ) in response.content.decode()


def test_decision_page_refuses_selection_without_technical_pass(client, scored, programme_officer):
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/proposals/{scored.pk}/decision/", {"outcome": "selected"})
    assert response.status_code == 409
    assert (
        "Proposal EUROHPC-2026-CEI-AI-03-0001 cannot be selected: its technical assessment (site readiness, "
        "procurement, TCO, energy efficiency, access policy) is not submitted yet."
    ) in response.content.decode()


def test_consensus_page_shows_the_technical_result_per_item(client, scored, programme_officer):
    assess_technical(scored, programme_officer, failing=("tco",))
    response, html = _page(client, programme_officer, f"/officer/evaluation/proposals/{scored.pk}/consensus/")
    assert response.status_code == 200
    assert "Technical assessment" in html
    assert "Total cost of ownership and its split" in html
    assert html.count('<span class="badge badge-bad">fail</span>') == 1
    assert html.count('<span class="badge badge-ok">pass</span>') == 6


# --- the demo -----------------------------------------------------------------------------------------------


def test_demo_historic_hosting_selections_carry_their_passed_assessment(seeded_demo, client):
    from calls.models import TECHNICAL_TYPES, Proposal

    historic = Proposal.objects.filter(
        call__identifier="EUROHPC-2024-CEI-AI-02", type__in=TECHNICAL_TYPES, status="selected"
    )
    assert historic.exists()
    assert historic.filter(feasibility_assessments__passed=True).count() == historic.count()
    for assessment in FeasibilityAssessment.objects.filter(proposal__in=historic).select_related("proposal"):
        decision = assessment.proposal.decisions.order_by("id").first()
        assert assessment.assigned_at < assessment.submitted_at < decision.decided_at
        assert assessment.items.count() == 7
    # The demo call's cut-off: the office has a proposal to assign, the expert a declaration to make.
    from eurohpc.models import User

    response, html = _page(client, User.objects.get(username="officer"), QUEUE)
    assert response.status_code == 200 and "NORDAI" in html
    if Proposal.objects.filter(acronym="LUMI-AI-UP", status="eligible").exists():  # an upgrade only 1-3 years on
        assert "LUMI-AI-UP" in html and "Assign</button>" in html
    response, html = _page(client, User.objects.get(username="techexpert"), "/evaluation/technical/")
    assert response.status_code == 200 and "IT4LIA-UP" in html and "Declare conflict of interest" in html
