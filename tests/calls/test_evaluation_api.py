import pytest

from calls.evaluation.services import (
    assignment_create,
    assignment_declare,
    consensus_record,
    decisions_confirm,
    decisions_publish,
)
from calls.models import Assignment, Proposal, SummaryReport
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
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

COI_MESSAGE = (
    "Declare whether you have a conflict of interest with proposal EUROHPC-2026-CEI-AI-03-0001 before reading it."
)


def _error(response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]


# --- assignments ------------------------------------------------------------------------------------


def test_api_assignment_create_returns_201_with_id(proposal, experts, programme_officer):
    response = api_for(programme_officer).post(
        f"/api/v1/proposals/{proposal.pk}/assignments/", {"evaluator": experts[0].pk}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == Assignment.objects.get().pk
    assert body["declaration"] == "pending"
    assert body["proposal"]["reference"] == "EUROHPC-2026-CEI-AI-03-0001"


def test_api_assignment_create_refused_for_applicant(proposal, experts, applicant):
    response = api_for(applicant).post(
        f"/api/v1/proposals/{proposal.pk}/assignments/", {"evaluator": experts[0].pk}, format="json"
    )
    assert _error(response) == (403, "Only programme officers assign evaluators.")


def test_api_assignment_create_refused_twice_with_409(proposal, experts, programme_officer):
    client = api_for(programme_officer)
    client.post(f"/api/v1/proposals/{proposal.pk}/assignments/", {"evaluator": experts[0].pk}, format="json")
    response = client.post(f"/api/v1/proposals/{proposal.pk}/assignments/", {"evaluator": experts[0].pk}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_assigned"
    assert response.json()["detail"] == (
        f"{experts[0].display_name} is already assigned to proposal EUROHPC-2026-CEI-AI-03-0001."
    )


def test_api_assignment_create_refused_for_conflict_with_400(proposal, organisation, programme_officer):
    from eurohpc.models import Role
    from tests.factories import UserFactory

    insider = UserFactory(username="insider", first_name="Ilse", last_name="Insider", organisation=organisation,
                          roles=[Role.EVALUATOR])  # fmt: skip
    response = api_for(programme_officer).post(
        f"/api/v1/proposals/{proposal.pk}/assignments/", {"evaluator": insider.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Conflict of interest: Ilse Insider works for CSC, the applicant of EUROHPC-2026-CEI-AI-03-0001.",
        "code": "conflict_of_interest",
        "errors": {"evaluator": ["Ilse Insider works for CSC, the applicant of EUROHPC-2026-CEI-AI-03-0001."]},
    }


def test_api_auto_assign_reports_created_and_shortfall(proposal, programme_officer):
    make_evaluators(2)
    response = api_for(programme_officer).post(f"/api/v1/cut-offs/{proposal.cut_off_id}/auto-assign/", {},
                                               format="json")  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert len(body["created"]) == 2
    assert body["shortfall"] == [{"proposal": proposal.pk, "reference": proposal.reference, "missing": 1}]


def test_api_auto_assign_refused_for_evaluator(proposal, experts):
    response = api_for(experts[0]).post(f"/api/v1/cut-offs/{proposal.cut_off_id}/auto-assign/", {}, format="json")
    assert _error(response) == (403, "Only programme officers manage the evaluation.")


def test_api_assignments_lists_only_the_evaluators_own(proposal, experts, programme_officer):
    assign_all(proposal, experts, programme_officer, declare=False)
    response = api_for(experts[1]).get("/api/v1/assignments/")
    assert response.status_code == 200
    assert [a["evaluator"]["username"] for a in response.json()["results"]] == ["expert2"]


def test_api_assignments_refused_for_applicant(applicant):
    response = api_for(applicant).get("/api/v1/assignments/")
    assert _error(response) == (403, "Only evaluators and programme officers see evaluation assignments.")


def test_api_assignment_of_another_evaluator_is_not_found(proposal, experts, programme_officer):
    assignments = assign_all(proposal, experts[:2], programme_officer, declare=False)
    response = api_for(experts[1]).get(f"/api/v1/assignments/{assignments[0].pk}/")
    assert response.status_code == 404


@pytest.mark.parametrize("rows", [1, 4])
def test_api_assignments_query_count_is_constant(
    call, applicant, programme_officer, freezer, experts, django_assert_num_queries, rows
):
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=rows)
    for p in proposals:
        assignment_create(proposal=p, evaluator=experts[0], actor=programme_officer)
    client = api_for(User.objects.get(pk=experts[0].pk))
    # roles, count, page of assignments (with proposal, call, organisation, review), consortium members
    with django_assert_num_queries(4):
        response = client.get("/api/v1/assignments/")
    assert response.json()["count"] == rows


# --- conflict of interest closes every door --------------------------------------------------------------


@pytest.fixture
def undeclared(proposal, experts, programme_officer):
    return assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)


def test_api_coi_closes_the_review_before_declaration(undeclared, experts):
    client = api_for(experts[0])
    expected = (
        403,
        "Declare whether you have a conflict of interest with proposal EUROHPC-2026-CEI-AI-03-0001 before scoring it.",
    )
    assert _error(client.get(f"/api/v1/assignments/{undeclared.pk}/review/")) == expected
    response = client.post(f"/api/v1/assignments/{undeclared.pk}/review/", {"scores": {}}, format="json")
    assert _error(response) == expected


def test_api_coi_closes_scores_and_outcome_before_declaration(undeclared, proposal, experts):
    client = api_for(experts[0])
    assert _error(client.get(f"/api/v1/proposals/{proposal.pk}/reviews/")) == (403, COI_MESSAGE)
    assert _error(client.get(f"/api/v1/proposals/{proposal.pk}/outcome/")) == (403, COI_MESSAGE)


def test_api_coi_closes_the_proposal_and_its_documents_before_declaration(undeclared, proposal, experts):
    client = api_for(experts[0])
    document = proposal.documents.get()
    closed = [
        client.get(f"/api/v1/proposals/{proposal.pk}/").status_code,
        client.get(f"/api/v1/proposals/{proposal.pk}/documents/{document.pk}/").status_code,
    ]
    assert all(status in (403, 404) for status in closed), closed
    assignment_declare(assignment=undeclared, conflict=False, actor=experts[0])
    assert client.get(f"/api/v1/proposals/{proposal.pk}/").status_code == 200
    download = client.get(f"/api/v1/proposals/{proposal.pk}/documents/{document.pk}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"


def test_api_coi_conflict_keeps_the_proposal_closed(undeclared, proposal, experts):
    client = api_for(experts[0])
    response = client.post(f"/api/v1/assignments/{undeclared.pk}/declaration/",
                           {"conflict": True, "reason": "My former employer."}, format="json")  # fmt: skip
    assert response.status_code == 200
    assert response.json()["declaration"] == "conflict"
    assert _error(client.get(f"/api/v1/proposals/{proposal.pk}/reviews/")) == (
        403,
        "You declared a conflict of interest with proposal EUROHPC-2026-CEI-AI-03-0001: it is closed to you.",
    )


def test_api_declaration_refused_for_another_evaluator(undeclared, experts, programme_officer):
    response = api_for(programme_officer).post(
        f"/api/v1/assignments/{undeclared.pk}/declaration/", {"conflict": False}, format="json"
    )
    assert _error(response) == (403, "Only the assigned evaluator makes this declaration.")


def test_api_declaration_conflict_without_reason_is_400(undeclared, experts):
    response = api_for(experts[0]).post(
        f"/api/v1/assignments/{undeclared.pk}/declaration/", {"conflict": True}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"reason": ["Describe the conflict of interest."]}


# --- reviews ------------------------------------------------------------------------------------------


def test_api_review_draft_then_submit(undeclared, experts):
    client = api_for(experts[0])
    client.post(f"/api/v1/assignments/{undeclared.pk}/declaration/", {"conflict": False}, format="json")
    body = {"scores": {"excellence": "4.5"}, "comments": {"excellence": "Strong."}}
    draft = client.post(f"/api/v1/assignments/{undeclared.pk}/review/", body, format="json")
    assert draft.status_code == 201
    assert draft.json()["status"] == "draft"
    submitted = client.post(f"/api/v1/assignments/{undeclared.pk}/review/",
                            {"scores": scores_of("4.5", "4", "3"), "comments": comments_for(), "submit": True},
                            format="json")  # fmt: skip
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["scores"] == {"excellence": "4.5", "impact": "4", "implementation": "3"}
    locked = client.post(f"/api/v1/assignments/{undeclared.pk}/review/", {"scores": scores_of("1", "1", "1")},
                         format="json")  # fmt: skip
    assert locked.status_code == 409
    assert locked.json()["code"] == "review_locked"


def test_api_review_off_step_is_400_with_field_errors(undeclared, experts):
    client = api_for(experts[0])
    assignment_declare(assignment=undeclared, conflict=False, actor=experts[0])
    response = client.post(f"/api/v1/assignments/{undeclared.pk}/review/",
                           {"scores": scores_of("4.25", "4", "9"), "comments": comments_for(), "submit": True},
                           format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The scores cannot be accepted: 2 problem(s).",
        "code": "scores_invalid",
        "errors": {
            "scores.excellence": ["Excellence: 4.25 is not on the scale: scores go in steps of 0.5."],
            "scores.implementation": ["Implementation: 9 is outside the range 0 to 5."],
        },
    }


def test_api_reviews_are_blind_before_consensus(proposal, experts, programme_officer):
    assignments = assign_all(proposal, experts, programme_officer)
    for a in assignments:
        submit_review(a, "4", "4", "4")
    client = api_for(experts[0])
    response = client.get(f"/api/v1/proposals/{proposal.pk}/reviews/")
    assert _error(response) == (
        403,
        "Individual reviews stay blind until the consensus: you see only your own review before it.",
    )
    own = client.get(f"/api/v1/assignments/{assignments[0].pk}/review/").json()
    assert set(own) == {"id", "assignment", "status", "scores", "comments", "submitted_at", "updated_at"}
    consensus_record(proposal=proposal, scores=scores_of("4", "4", "4"), comments=comments_for(),
                     actor=programme_officer)  # fmt: skip
    after = client.get(f"/api/v1/proposals/{proposal.pk}/reviews/")
    assert after.status_code == 200
    assert [r["evaluator"] for r in after.json()] == ["You", "Evaluator B", "Evaluator C"]


def test_api_reviews_visible_to_officer_with_names(proposal, experts, programme_officer):
    assignments = assign_all(proposal, experts, programme_officer)
    submit_review(assignments[0], "4", "4", "4")
    response = api_for(programme_officer).get(f"/api/v1/proposals/{proposal.pk}/reviews/")
    assert response.status_code == 200
    assert [r["evaluator"] for r in response.json()] == [experts[0].display_name]


# --- consensus ----------------------------------------------------------------------------------------


def test_api_consensus_shows_spread_and_flags_disagreement(proposal, experts, programme_officer):
    assignments = assign_all(proposal, experts, programme_officer)
    submit_review(assignments[0], "5", "4", "3")
    submit_review(assignments[1], "2.5", "4", "3")
    submit_review(assignments[2], "4", "3.5", "3")
    response = api_for(programme_officer).get(f"/api/v1/proposals/{proposal.pk}/consensus/")
    assert response.status_code == 200
    spread = {row["criterion"]: (row["spread"], row["flagged"]) for row in response.json()["spread"]}
    assert spread == {"excellence": ("2.50", True), "impact": ("0.50", False), "implementation": ("0.00", False)}
    assert response.json()["recorded"] is False


def test_api_consensus_records_and_refuses_evaluator(proposal, experts, programme_officer):
    for a in assign_all(proposal, experts, programme_officer):
        submit_review(a, "4", "4", "4")
    body = {"scores": scores_of("4", "4", "3.5"), "comments": comments_for("Agreed.")}
    refused = api_for(experts[0]).post(f"/api/v1/proposals/{proposal.pk}/consensus/", body, format="json")
    assert _error(refused) == (403, "Only programme officers record the consensus.")
    response = api_for(programme_officer).post(f"/api/v1/proposals/{proposal.pk}/consensus/", body, format="json")
    assert response.status_code == 200
    assert response.json()["total"] == "11.50"
    assert response.json()["passed_thresholds"] is True


def test_api_consensus_refused_before_enough_reviews(proposal, experts, programme_officer):
    assign_all(proposal, experts, programme_officer)
    body = {"scores": scores_of("4", "4", "4"), "comments": comments_for()}
    response = api_for(programme_officer).post(f"/api/v1/proposals/{proposal.pk}/consensus/", body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "reviews_missing"


# --- ranking and decisions ----------------------------------------------------------------------------


@pytest.fixture
def ranked(call, applicant, programme_officer, freezer, experts):
    p = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=3,
                   budgets=["60000000.00", "50000000.00", "1000.00"])  # fmt: skip
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4.5", "4.5", "4.5")
    evaluate(p[2], experts, programme_officer, "2", "3", "3")
    return p


def test_api_ranking_returns_the_funding_line(ranked, call, programme_officer):
    response = api_for(programme_officer).get(f"/api/v1/calls/{call.pk}/ranking/?cut_off={ranked[0].cut_off_id}")
    assert response.status_code == 200
    body = response.json()
    assert [(r["proposal"], r["rank"], r["total"], r["passed_thresholds"], r["funding"]) for r in body["results"]] == [
        (ranked[0].pk, 1, "15.00", True, "above_line"),
        (ranked[1].pk, 2, "13.50", True, "reserve"),
        (ranked[2].pk, 3, "8.00", False, "below_threshold"),
    ]
    assert body["available_amount"] == "100000000.00"


def test_api_ranking_requires_the_cut_off(call, programme_officer):
    response = api_for(programme_officer).get(f"/api/v1/calls/{call.pk}/ranking/")
    assert response.status_code == 400
    assert response.json()["errors"] == {"cut_off": ["Give the cut-off to rank: ?cut_off=<id>."]}


def test_api_ranking_refused_for_evaluator(call, experts):
    response = api_for(experts[0]).get(f"/api/v1/calls/{call.pk}/ranking/?cut_off=1")
    assert _error(response) == (403, "Only programme officers manage the evaluation.")


@pytest.mark.parametrize("rows", [1, 4])
def test_api_ranking_query_count_is_constant(
    call, applicant, programme_officer, freezer, experts, django_assert_num_queries, rows
):
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=rows,
                           budgets=["1000.00"] * rows)  # fmt: skip
    for p in proposals:
        evaluate(p, experts, programme_officer, "4", "4", "4")
    client = api_for(User.objects.get(pk=programme_officer.pk))
    url = f"/api/v1/calls/{call.pk}/ranking/?cut_off={proposals[0].cut_off_id}"
    # roles, call, cut-off, proposals with their consensus scores, the call's money (selected, uncommitted,
    # envelope), publication
    with django_assert_num_queries(6):
        response = client.get(url)
    assert response.json()["count"] == rows


def test_api_decision_selected_and_limit_refusal(ranked, programme_officer):
    client = api_for(programme_officer)
    ok = client.post(f"/api/v1/proposals/{ranked[0].pk}/decision/", {"outcome": "selected"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["outcome"] == "selected"
    assert ok.json()["eu_contribution"] == "60000000.00"
    refused = client.post(f"/api/v1/proposals/{ranked[1].pk}/decision/", {"outcome": "selected"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "Selecting proposal EUROHPC-2026-CEI-AI-03-0002 needs EUR 50,000,000.00; EUR 40,000,000.00 is available "
        "in EUROHPC-2026-CEI-AI-03: short by EUR 10,000,000.00."
    )


def test_api_decision_refused_for_evaluator(ranked, experts):
    response = api_for(experts[0]).post(f"/api/v1/proposals/{ranked[0].pk}/decision/", {"outcome": "selected"},
                                        format="json")  # fmt: skip
    assert _error(response) == (403, "Only programme officers record decisions.")


def test_api_decision_unknown_outcome_is_400(ranked, programme_officer):
    response = api_for(programme_officer).post(f"/api/v1/proposals/{ranked[0].pk}/decision/", {"outcome": "maybe"},
                                               format="json")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"] == {"outcome": ['"maybe" is not a valid choice.']}


def test_api_confirm_publish_promote_and_withdraw(ranked, programme_officer, applicant):
    client = api_for(programme_officer)
    cut_off = ranked[0].cut_off_id
    assert client.post(f"/api/v1/cut-offs/{cut_off}/decisions/confirm/").status_code == 200
    published = client.post(f"/api/v1/cut-offs/{cut_off}/decisions/publish/")
    assert published.status_code == 200
    again = client.post(f"/api/v1/cut-offs/{cut_off}/decisions/publish/")
    assert again.status_code == 409
    withdrawal = api_for(applicant).post(f"/api/v1/proposals/{ranked[0].pk}/selection-withdrawal/",
                                         {"reason": "Declined."}, format="json")  # fmt: skip
    assert withdrawal.status_code == 200
    assert withdrawal.json()["outcome"] == "withdrawn"
    promotion = client.post(f"/api/v1/proposals/{ranked[1].pk}/promotion/", {"reason": "Funds freed."}, format="json")
    assert promotion.status_code == 200
    assert promotion.json()["kind"] == "promotion"
    assert Proposal.objects.get(pk=ranked[1].pk).status == Proposal.Status.SELECTED


# --- outcome and summary report -------------------------------------------------------------------------


@pytest.fixture
def published(proposal, experts, programme_officer, django_capture_on_commit_callbacks):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    return proposal


def test_api_outcome_refused_before_publication(proposal, experts, programme_officer, applicant):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    response = api_for(applicant).get(f"/api/v1/proposals/{proposal.pk}/outcome/")
    assert _error(response) == (
        403,
        "The outcome of this proposal is shown to its applicant once the decisions are published.",
    )


def test_api_outcome_after_publication(published, applicant):
    response = api_for(applicant).get(f"/api/v1/proposals/{published.pk}/outcome/")
    assert response.status_code == 200
    body = response.json()
    assert body["decision"]["outcome"] == "selected"
    assert body["scores"] == {"excellence": "4", "impact": "4", "implementation": "4"}
    assert body["summary_report"]["status"] == "ready"
    assert body["summary_report"]["download_url"] == f"/api/v1/proposals/{published.pk}/evaluation-summary-report/"


def test_api_summary_report_downloads_for_the_applicant(published, applicant):
    response = api_for(applicant).get(f"/api/v1/proposals/{published.pk}/evaluation-summary-report/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_api_summary_report_refused_for_officer(published, programme_officer):
    response = api_for(programme_officer).get(f"/api/v1/proposals/{published.pk}/evaluation-summary-report/")
    assert _error(response) == (
        403,
        "The evaluation summary report is for the applicant, once the decision is published.",
    )


def test_api_summary_report_of_another_organisation_is_not_found(published, other_applicant):
    response = api_for(other_applicant).get(f"/api/v1/proposals/{published.pk}/evaluation-summary-report/")
    assert response.status_code == 404


def test_api_summary_report_pending_is_409(published, applicant):
    SummaryReport.objects.filter(proposal=published).update(status=SummaryReport.Status.PENDING)
    response = api_for(applicant).get(f"/api/v1/proposals/{published.pk}/evaluation-summary-report/")
    assert _error(response) == (409, "The evaluation summary report is being prepared: try again in a few minutes.")
