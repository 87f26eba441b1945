import pytest

from calls.evaluation.services import (
    assignment_create,
    assignment_declare,
    decisions_confirm,
    decisions_publish,
)
from calls.models import Review
from eurohpc.models import User
from tests.calls.evaluation_factories import (
    assign_all,
    evaluate,
    make_batch,
    submit_review,
)
from tests.conftest import queries_of_page

pytestmark = pytest.mark.django_db


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    return response, response.content.decode()


# --- evaluator ---------------------------------------------------------------------------------------


def test_dashboard_evaluator_panel_lists_open_assignments(client, proposal, experts, programme_officer):
    assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    response, html = _page(client, experts[0], "/dashboard/")
    assert response.status_code == 200
    assert "1 to declare" in html
    assert "EUROHPC-2026-CEI-AI-03-0001 AIF1" in html
    assert "Declare conflict of interest" in html


def test_evaluator_assignments_page_refused_for_applicant(client, applicant):
    response, html = _page(client, applicant, "/evaluation/")
    assert response.status_code == 403
    assert "Only evaluators have evaluation assignments." in html


@pytest.mark.parametrize("rows", [1, 4])
def test_evaluator_assignments_page_query_count_is_constant(
    client, call, applicant, programme_officer, freezer, experts, django_assert_num_queries, rows
):
    for p in make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=rows):
        assignment_create(proposal=p, evaluator=experts[0], actor=programme_officer)
    client.force_login(experts[0])
    # session, user, roles, the calls of the filter, count, Django's model permissions (user, groups: for the
    # navigation), page of assignments, consortium members
    with django_assert_num_queries(9):
        response = client.get("/evaluation/")
    assert response.content.decode().count("Declare conflict of interest") == rows


def test_evaluator_filters_assignments_by_state_and_call(client, call, applicant, programme_officer, freezer, experts):
    declared, pending = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=2)
    first = assignment_create(proposal=declared, evaluator=experts[0], actor=programme_officer)
    assignment_declare(assignment=first, conflict=False, actor=experts[0])
    assignment_create(proposal=pending, evaluator=experts[0], actor=programme_officer)

    def listed(**params) -> set[str]:
        _, html = _page(client, experts[0], "/evaluation/?" + "&".join(f"{k}={v}" for k, v in params.items()))
        return {p.acronym for p in (declared, pending) if f"{p.reference} {p.acronym}</a>" in html}

    assert listed() == {declared.acronym, pending.acronym}
    assert listed(state="to_declare") == {pending.acronym}
    assert listed(state="to_score") == {declared.acronym}
    assert listed(state="finished") == set()
    assert listed(call=call.pk, state="open") == {declared.acronym, pending.acronym}
    response, html = _page(client, experts[0], "/evaluation/?state=nonsense")
    assert response.status_code == 400
    assert "Select a valid choice. nonsense is not one of the available choices." in html


def test_assignment_page_shows_only_the_declaration_before_it(client, proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    response, html = _page(client, experts[0], f"/evaluation/assignments/{assignment.pk}/")
    assert response.status_code == 200
    assert "Record my declaration" in html
    assert proposal.abstract not in html
    assert "Documents" not in html


def test_coi_closes_pages_and_downloads_before_declaration(client, proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    document = proposal.documents.get()
    client.force_login(experts[0])
    download = client.get(f"/evaluation/assignments/{assignment.pk}/documents/{document.pk}/")
    assert download.status_code == 403
    assert (
        "Declare whether you have a conflict of interest with proposal EUROHPC-2026-CEI-AI-03-0001 before reading it."
        in download.content.decode()
    )
    assert client.get(f"/proposals/{proposal.pk}/").status_code in (403, 404)
    assert client.get(f"/proposals/{proposal.pk}/documents/{document.pk}/").status_code in (403, 404)
    outcome = client.get(f"/proposals/{proposal.pk}/outcome/")
    assert outcome.status_code == 403


def test_declaration_page_opens_proposal_and_documents(client, proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    document = proposal.documents.get()
    client.force_login(experts[0])
    response = client.post(f"/evaluation/assignments/{assignment.pk}/declaration/", {"declaration": "no_conflict"})
    assert response.status_code == 302
    html = client.get(f"/evaluation/assignments/{assignment.pk}/").content.decode()
    assert proposal.abstract in html
    assert "Save draft" in html
    download = client.get(f"/evaluation/assignments/{assignment.pk}/documents/{document.pk}/")
    assert download.status_code == 200
    assert client.get(f"/proposals/{proposal.pk}/").status_code == 200


def test_declaration_page_conflict_needs_a_reason(client, proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    client.force_login(experts[0])
    response = client.post(f"/evaluation/assignments/{assignment.pk}/declaration/", {"declaration": "conflict"})
    assert response.status_code == 400
    assert "Describe the conflict of interest." in response.content.decode()


def test_scoring_form_refuses_score_off_the_step(client, proposal, experts, programme_officer):
    assignment = assign_all(proposal, experts[:1], programme_officer)[0]
    client.force_login(experts[0])
    data = {"action": "submit", "score_excellence": "4.2", "score_impact": "4", "score_implementation": "4",
            "comment_excellence": "a", "comment_impact": "b", "comment_implementation": "c"}  # fmt: skip
    response = client.post(f"/evaluation/assignments/{assignment.pk}/review/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Excellence: 4.2 is not on the scale: scores go in steps of 0.5." in html
    assert 'value="4.2"' in html
    assert not Review.objects.filter(status="submitted").exists()


def test_scoring_form_submits_and_locks(client, proposal, experts, programme_officer):
    assignment = assign_all(proposal, experts[:1], programme_officer)[0]
    client.force_login(experts[0])
    data = {"action": "submit", "score_excellence": "4.5", "score_impact": "4", "score_implementation": "3",
            "comment_excellence": "a", "comment_impact": "b", "comment_implementation": "c"}  # fmt: skip
    assert client.post(f"/evaluation/assignments/{assignment.pk}/review/", data).status_code == 302
    html = client.get(f"/evaluation/assignments/{assignment.pk}/").content.decode()
    assert "Submitted" in html and "locked" in html
    assert "Save draft" not in html
    again = client.post(f"/evaluation/assignments/{assignment.pk}/review/", data)
    assert again.status_code == 409


def test_scoring_page_hides_other_reviews_before_consensus(client, proposal, experts, programme_officer):
    assignments = assign_all(proposal, experts, programme_officer)
    submit_review(assignments[0], "4", "4", "4")
    submit_review(assignments[1], "2", "2", "2")
    _response, html = _page(client, experts[0], f"/evaluation/assignments/{assignments[0].pk}/")
    assert "stay closed until the programme office records the consensus" in html
    assert experts[1].display_name not in html


# --- programme officer --------------------------------------------------------------------------------


def test_board_refused_for_evaluator(client, proposal, experts):
    response, html = _page(client, experts[0], f"/officer/evaluation/cut-offs/{proposal.cut_off_id}/assignments/")
    assert response.status_code == 403
    assert "Only programme officers manage the evaluation." in html


def test_board_shows_detected_conflict(client, proposal, organisation, programme_officer):
    from eurohpc.models import Role
    from tests.factories import UserFactory

    UserFactory(username="insider", organisation=organisation, roles=[Role.EVALUATOR])
    response, html = _page(client, programme_officer,
                           f"/officer/evaluation/cut-offs/{proposal.cut_off_id}/assignments/")  # fmt: skip
    assert response.status_code == 200
    assert "the applicant of EUROHPC-2026-CEI-AI-03-0001" in html


@pytest.mark.parametrize("rows", [1, 4])
def test_board_query_count_is_constant(
    client, call, applicant, programme_officer, freezer, experts, django_assert_num_queries, rows
):
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=rows)
    for p in proposals:
        assign_all(p, experts[:2], programme_officer, declare=False)
    client.force_login(programme_officer)
    url = f"/officer/evaluation/cut-offs/{proposals[0].cut_off_id}/assignments/"
    # session, user, roles, cut-off, count, page of proposals, the page's consortium members, its assignments, the
    # evaluators concerned by the page (assigned or in a conflict), the assigned ones' loads, the manual form's
    # proposals and evaluators, Django's model permissions (user, groups: navigation)
    with django_assert_num_queries(14):
        response = client.get(url)
    assert response.status_code == 200


def test_board_columns_are_the_evaluators_assigned_on_the_page(client, proposal, experts, programme_officer):
    assignment_create(proposal=proposal, evaluator=experts[1], actor=programme_officer)
    response, _ = _page(client, programme_officer,
                           f"/officer/evaluation/cut-offs/{proposal.cut_off_id}/assignments/")  # fmt: skip
    assert response.status_code == 200
    board = response.context["board"]
    assert [e.username for e in board.evaluators] == ["expert2"]
    # The others stay assignable through the manual form.
    assert list(response.context["assign_form"].fields["evaluator"].queryset) == experts


def test_board_pages_its_proposals_with_their_own_columns(
    client, call, applicant, programme_officer, freezer, experts, monkeypatch
):
    from calls.evaluation import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=3)
    assignment_create(proposal=proposals[0], evaluator=experts[0], actor=programme_officer)
    assignment_create(proposal=proposals[2], evaluator=experts[2], actor=programme_officer)
    client.force_login(programme_officer)
    url = f"/officer/evaluation/cut-offs/{proposals[0].cut_off_id}/assignments/"
    first, second = client.get(url), client.get(f"{url}?page=2")
    assert [r.row.proposal.pk for r in first.context["rows"]] == [proposals[0].pk, proposals[1].pk]
    assert [e.username for e in first.context["board"].evaluators] == ["expert1"]
    assert [r.row.proposal.pk for r in second.context["rows"]] == [proposals[2].pk]
    assert [e.username for e in second.context["board"].evaluators] == ["expert3"]
    assert f'value="{proposals[1].pk}:{experts[0].pk}"' in first.content.decode()


def test_board_cells_show_each_state_escaped(client, proposal, experts, organisation, programme_officer):
    from eurohpc.models import Role
    from tests.factories import UserFactory

    recused = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assignment_create(proposal=proposal, evaluator=experts[1], actor=programme_officer)
    assignment_declare(assignment=recused, conflict=True, reason="Co-author of <b>the lead</b>.", actor=experts[0])
    insider = UserFactory(username="insider", organisation=organisation, roles=[Role.EVALUATOR])
    response, html = _page(client, programme_officer,
                           f"/officer/evaluation/cut-offs/{proposal.cut_off_id}/assignments/")  # fmt: skip
    cells = [(c.label, c.pair) for c in response.context["rows"][0].cells]
    assert cells == [("recused", ""), ("declaration pending", "")]
    assert 'title="Co-author of &lt;b&gt;the lead&lt;/b&gt;."' in html
    assert "1 to replace" in html
    assert f'<abbr title="{insider.display_name} works for' in html
    assert insider not in response.context["board"].evaluators  # a conflict, not a column


def test_board_auto_assign_and_manual_assign(client, proposal, experts, programme_officer):
    client.force_login(programme_officer)
    cut_off = proposal.cut_off_id
    response = client.post(f"/officer/evaluation/cut-offs/{cut_off}/auto-assign/", {})
    assert response.status_code == 302
    assert proposal.assignments.count() == 3
    refused = client.post(f"/officer/evaluation/cut-offs/{cut_off}/assignments/add/",
                          {"proposal": proposal.pk, "evaluator": experts[0].pk})  # fmt: skip
    assert refused.status_code == 409
    assert f"{experts[0].display_name} is already assigned to proposal" in refused.content.decode()


def test_board_cell_assigns_its_evaluator(client, proposal, experts, programme_officer):
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/cut-offs/{proposal.cut_off_id}/assignments/add/",
                           {"pair": f"{proposal.pk}:{experts[1].pk}", "page": "1"})  # fmt: skip
    assert response.status_code == 302
    assert [a.evaluator for a in proposal.assignments.all()] == [experts[1]]


def test_consensus_page_flags_spread(client, proposal, experts, programme_officer):
    assignments = assign_all(proposal, experts, programme_officer)
    submit_review(assignments[0], "5", "4", "4")
    submit_review(assignments[1], "2.5", "4", "4")
    submit_review(assignments[2], "4", "4", "4")
    response, html = _page(client, programme_officer, f"/officer/evaluation/proposals/{proposal.pk}/consensus/")
    assert response.status_code == 200
    assert "differ by 2.5 points" in html
    data = {"score_excellence": "4", "score_impact": "4", "score_implementation": "4",
            "comment_excellence": "a", "comment_impact": "b", "comment_implementation": "c"}  # fmt: skip
    response = client.post(f"/officer/evaluation/proposals/{proposal.pk}/consensus/", data)
    assert response.status_code == 302


def test_ranking_page_draws_the_funding_line(client, call, applicant, programme_officer, freezer, experts):
    p = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=2,
                   budgets=["60000000.00", "50000000.00"])  # fmt: skip
    evaluate(p[0], experts, programme_officer, "5", "5", "5")
    evaluate(p[1], experts, programme_officer, "4", "4", "4")
    response, html = _page(client, programme_officer, f"/officer/evaluation/cut-offs/{p[0].cut_off_id}/ranking/")
    assert response.status_code == 200
    assert "Funding line — EUR 60,000,000.00 of EUR 100,000,000.00" in html
    assert "Reserve list" in html


@pytest.mark.parametrize("rows", [1, 4])
def test_ranking_page_query_count_is_constant(
    client, call, applicant, programme_officer, freezer, experts, django_assert_num_queries, rows
):
    proposals = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=rows,
                           budgets=["1000.00"] * rows)  # fmt: skip
    for p in proposals:
        evaluate(p, experts, programme_officer, "4", "4", "4")
    client.force_login(User.objects.get(pk=programme_officer.pk))
    url = f"/officer/evaluation/cut-offs/{proposals[0].cut_off_id}/ranking/"
    # session, user, roles, cut-off, proposals with their consensus scores, the call's money (selected,
    # uncommitted, envelope), publication, reports, Django's model permissions (user, groups: navigation)
    with django_assert_num_queries(10):
        response = client.get(url)
    assert response.status_code == 200


def test_ranking_page_confirm_and_publish(client, proposal, experts, programme_officer):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    client.force_login(programme_officer)
    cut_off = proposal.cut_off_id
    assert client.post(f"/officer/evaluation/cut-offs/{cut_off}/publish/").status_code == 409
    assert client.post(f"/officer/evaluation/cut-offs/{cut_off}/confirm/").status_code == 302
    assert client.post(f"/officer/evaluation/cut-offs/{cut_off}/publish/").status_code == 302
    html = client.get(f"/officer/evaluation/cut-offs/{cut_off}/ranking/").content.decode()
    assert "published" in html


def test_cut_off_list_shows_progress(client, proposal, experts, programme_officer):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    response, html = _page(client, programme_officer, "/officer/evaluation/")
    assert response.status_code == 200
    assert "EUROHPC-2026-CEI-AI-03" in html


# --- applicant ------------------------------------------------------------------------------------------


@pytest.fixture
def published(proposal, experts, programme_officer, django_capture_on_commit_callbacks):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    with django_capture_on_commit_callbacks(execute=True):
        decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    return proposal


def test_outcome_page_for_the_applicant(client, published, applicant):
    response, html = _page(client, applicant, f"/proposals/{published.pk}/outcome/")
    assert response.status_code == 200
    assert "selected for funding" in html
    assert "Download the report (PDF)" in html
    download = client.get(f"/proposals/{published.pk}/evaluation-summary-report.pdf")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="ESR-EUROHPC-2026-CEI-AI-03-0001.pdf"'


def test_outcome_page_refused_before_publication(client, proposal, experts, programme_officer, applicant):
    evaluate(proposal, experts, programme_officer, "4", "4", "4")
    response, html = _page(client, applicant, f"/proposals/{proposal.pk}/outcome/")
    assert response.status_code == 403
    assert "The outcome of this proposal is shown to its applicant once the decisions are published." in html


def test_summary_report_download_refused_for_officer(client, published, programme_officer):
    response, html = _page(client, programme_officer, f"/proposals/{published.pk}/evaluation-summary-report.pdf")
    assert response.status_code == 403
    assert "The evaluation summary report is for the applicant, once the decision is published." in html


def test_summary_report_download_of_another_organisation_is_not_found(client, published, other_applicant):
    response, _ = _page(client, other_applicant, f"/proposals/{published.pk}/evaluation-summary-report.pdf")
    assert response.status_code == 404


def test_officer_dashboard_lists_the_evaluation_work_first(
    client, call, applicant, experts, programme_officer, freezer
):
    recusal, reviewed, evaluated = make_batch(
        call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=3
    )
    first, *_others = assign_all(recusal, experts, programme_officer, declare=False)
    assignment_declare(assignment=first, conflict=True, reason="Family tie.", actor=first.evaluator)
    for assignment in assign_all(reviewed, experts, programme_officer):
        submit_review(assignment, "4", "4", "4")
    evaluate(evaluated, experts, programme_officer, "4", "4", "4")
    _, html = _page(client, programme_officer, "/dashboard/")
    waiting = html.index("Waiting for you")
    assert waiting < html.index("Open calls")
    assert "<strong>1</strong> recusal to replace" in html
    assert "<strong>2</strong> declarations of interest pending" in html
    assert "<strong>1</strong> consensus to write" in html
    assert "Decisions to confirm" not in html  # two proposals still lack their consensus


def test_officer_dashboard_query_count_does_not_grow_with_the_work(
    client, call, applicant, experts, programme_officer, freezer
):
    batch = make_batch(call=call, applicant=applicant, officer=programme_officer, freezer=freezer, count=4)
    assign_all(batch[0], experts, programme_officer, declare=False)
    one = queries_of_page(client, programme_officer, "/dashboard/")
    for proposal in batch[1:]:
        assign_all(proposal, experts, programme_officer, declare=False)
    assert queries_of_page(client, programme_officer, "/dashboard/") == one


def test_navigation_shows_evaluation_entries_by_role(client, experts, programme_officer, applicant):
    _, html = _page(client, experts[0], "/dashboard/")
    assert 'href="/evaluation/"' in html and 'href="/officer/evaluation/"' not in html
    _, html = _page(client, programme_officer, "/dashboard/")
    assert 'href="/officer/evaluation/"' in html and 'href="/evaluation/"' not in html
    _, html = _page(client, applicant, "/dashboard/")
    assert 'href="/evaluation/"' not in html


def test_declaration_after_assignment_page_uses_decl(client, proposal, experts, programme_officer):
    assignment = assignment_create(proposal=proposal, evaluator=experts[0], actor=programme_officer)
    assignment_declare(assignment=assignment, conflict=True, reason="Family tie.", actor=experts[0])
    response, html = _page(client, experts[0], f"/evaluation/assignments/{assignment.pk}/")
    assert response.status_code == 200
    assert "This proposal stays closed to you." in html
    assert proposal.abstract not in html
