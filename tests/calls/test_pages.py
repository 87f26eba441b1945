from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, Proposal
from calls.services import cut_off_process
from tests.calls.factories import make_call, make_draft, make_submitted, pdf_upload
from tests.conftest import queries_of_page

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_public_call_list_shows_open_call_with_countdown(client):
    call = make_call()
    page = text(client.get("/calls/"))
    assert "EUROHPC-2026-CEI-AI-03" in page
    next_cut_off = call.cut_offs.order_by("closes_at").first().closes_at
    assert f'data-deadline="{timezone.localtime(next_cut_off).isoformat()}"' in page


def test_applicant_dashboard_lists_drafts_with_their_deadline(client, applicant):
    call = make_call()
    draft = make_draft(call=call, applicant=applicant, acronym="DRAFTY", documents=False)
    make_submitted(call=call, applicant=applicant, acronym="SENT")
    client.force_login(applicant)
    page = text(client.get("/dashboard/"))
    deadline = timezone.localtime(call.cut_offs.order_by("closes_at").first().closes_at)
    drafts = page[page.index("Drafts to submit") : page.index("Open calls")]
    assert f'href="/proposals/{draft.pk}/"><strong>DRAFTY</strong></a> for {call.identifier}' in drafts
    assert f"submit before {deadline:%d %b %Y %H:%M} " in drafts
    assert "SENT" not in drafts and "SENT" in page


def test_applicant_dashboard_query_count_does_not_grow_with_drafts(client, applicant):
    call = make_call()

    make_draft(call=call, applicant=applicant, acronym="D0", documents=False)
    one = queries_of_page(client, applicant, "/dashboard/")
    for i in range(1, 4):
        make_draft(call=call, applicant=applicant, acronym=f"D{i}", documents=False)
    assert queries_of_page(client, applicant, "/dashboard/") == one


def test_call_page_names_proposal_types_in_words(client):
    call = make_call()
    page = text(client.get(f"/calls/{call.identifier}/"))
    assert '<span class="badge">Acquisition of a new AI-optimised supercomputer</span>' in page
    assert ">new_system<" not in page


def test_budget_inputs_are_labelled_in_words(client, applicant):
    draft = make_draft(call=make_call(), applicant=applicant, documents=False)
    client.force_login(applicant)
    page = text(client.get(f"/proposals/{draft.pk}/budget/"))
    assert ">Acquisition: EU contribution</label>" in page
    assert "eu_contribution</label>" not in page


def test_public_call_page_in_luxembourg_time(client, freezer):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    lux = ZoneInfo("Europe/Luxembourg")
    make_call(cut_offs=[datetime(2027, 7, 9, 17, 0, tzinfo=lux)], opens_at=datetime(2026, 1, 1, tzinfo=lux))
    page = text(client.get("/calls/EUROHPC-2026-CEI-AI-03/"))
    assert "Fri 09 Jul 2027 17:00 CEST" in page


def test_draft_call_page_not_found_for_public(client):
    make_call(status="draft", identifier="HIDDEN-1")
    assert client.get("/calls/HIDDEN-1/").status_code == 404


def test_applicant_creates_draft_through_form(client, applicant):
    call = make_call()
    client.force_login(applicant)
    response = client.post(
        f"/proposals/new/?call={call.pk}",
        {
            "type": "new_system",
            "acronym": "NORDAI",
            "title": "Nordic AI",
            "abstract": "Models",
            "planned_machine_name": "NORDAI-1",
            "planned_machine_country": "FI",
        },
    )
    proposal = Proposal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/proposals/{proposal.pk}/"
    assert proposal.status == Proposal.Status.DRAFT


def test_new_proposal_form_refused_for_officer(client, programme_officer):
    call = make_call()
    client.force_login(programme_officer)
    response = client.get(f"/proposals/new/?call={call.pk}")
    assert response.status_code == 403
    assert "Only applicants (staff of a hosting entity) file proposals." in text(response)


def test_budget_page_refuses_over_cap_with_message(client, applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    client.force_login(applicant)
    response = client.post(
        f"/proposals/{proposal.pk}/budget/",
        {
            "acquisition-total_cost": "1000.00",
            "acquisition-eu_contribution": "600.00",
            "acquisition-national_contribution": "400.00",
        },
    )
    assert response.status_code == 400
    page = text(response)
    assert "The budget breaks the co-funding rules." in page
    assert (
        "Acquisition: the EU may contribute at most 50% of the cost (EUR 500.00); "
        "EUR 600.00 requested exceeds it by EUR 100.00." in page
    )
    assert proposal.budget_lines.count() == 3


def test_budget_page_saves_lines(client, applicant):
    proposal = make_draft(call=make_call(), applicant=applicant, budget=[])
    client.force_login(applicant)
    response = client.post(
        f"/proposals/{proposal.pk}/budget/",
        {
            "activities-total_cost": "1000.00",
            "activities-eu_contribution": "500.00",
            "activities-national_contribution": "500.00",
        },
    )
    assert response.status_code == 302
    assert list(proposal.budget_lines.values_list("category", "eu_contribution")) == [("activities", 500)]


def test_document_page_refuses_non_pdf(client, applicant):
    from django.core.files.uploadedfile import SimpleUploadedFile

    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    client.force_login(applicant)
    response = client.post(
        f"/proposals/{proposal.pk}/documents/",
        {"kind": "proposal_form", "file": SimpleUploadedFile("x.pdf", b"GIF89a")},
    )
    assert response.status_code == 400
    assert "Only PDF documents are accepted" in text(response)


def test_submit_page_shows_reference(client, applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    client.force_login(applicant)
    response = client.post(f"/proposals/{proposal.pk}/submit/", follow=True)
    assert "Submitted. Your reference is EUROHPC-2026-CEI-AI-03-0001" in text(response)


def test_submit_page_lists_broken_rules_with_400(client, applicant):
    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    client.force_login(applicant)
    response = client.post(f"/proposals/{proposal.pk}/submit/")
    assert response.status_code == 400
    assert "Proposal form attached: Proposal form missing: required for every proposal." in text(response)


def test_late_submit_page_409(client, applicant, freezer):
    proposal = make_draft(call=make_call(), applicant=applicant)
    freezer(timezone.now() + timedelta(days=400))
    client.force_login(applicant)
    response = client.post(f"/proposals/{proposal.pk}/submit/")
    assert response.status_code == 409
    assert "submissions are no longer accepted" in text(response)


def test_other_organisation_proposal_page_is_404(client, applicant, other_applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    client.force_login(other_applicant)
    for path in ("", "edit/", "budget/", "documents/", "consortium/"):
        assert client.get(f"/proposals/{proposal.pk}/{path}").status_code == 404
    assert client.post(f"/proposals/{proposal.pk}/submit/").status_code == 404


def test_officer_cannot_edit_applicant_draft(client, applicant, programme_officer):
    proposal = make_draft(call=make_call(), applicant=applicant)
    client.force_login(programme_officer)
    response = client.get(f"/proposals/{proposal.pk}/edit/")
    assert response.status_code == 403
    assert "Only applicant staff of the proposal&#x27;s organisation can change it." in text(response)


def test_eligibility_screen_records_decision(client, applicant, programme_officer, freezer):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    freezer(proposal.cut_off.closes_at + timedelta(seconds=1))
    cut_off_process(cut_off=proposal.cut_off)
    client.force_login(programme_officer)
    page = client.get(f"/officer/proposals/{proposal.pk}/eligibility/")
    assert "The machine sits in an EU Member State (Article 9 of Regulation (EU) 2021/1173)" in text(page)
    response = client.post(f"/officer/proposals/{proposal.pk}/eligibility/", {"eligible": "true", "reason": "All met."})
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.ELIGIBLE


def test_eligibility_screen_before_cut_off_409(client, applicant, programme_officer):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    client.force_login(programme_officer)
    response = client.post(f"/officer/proposals/{proposal.pk}/eligibility/", {"eligible": "true", "reason": "ok"})
    assert response.status_code == 409
    assert "Eligibility is recorded once the cut-off has passed" in text(response)
    # Before the cut-off the page shows the checks and the date, and no decision form the service would refuse.
    page = text(client.get(f"/officer/proposals/{proposal.pk}/eligibility/"))
    assert "not passed yet: eligibility can be recorded once it has" in page
    assert "Record eligibility</button>" not in page


def test_eligibility_screen_refused_for_applicant(client, applicant):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    client.force_login(applicant)
    response = client.get(f"/officer/proposals/{proposal.pk}/eligibility/")
    assert response.status_code == 403
    assert "Only programme officers record eligibility." in text(response)


def test_submission_counts_name_statuses_in_words(client, applicant, programme_officer):
    from calls.templatetags.calls_labels import proposal_status

    make_submitted(call=make_call(), applicant=applicant)
    client.force_login(programme_officer)
    page = text(client.get("/officer/submissions/"))
    assert ">Submitted: 1</span>" in page and "submitted: 1" not in page
    assert "Under evaluation: 1" not in page
    assert proposal_status("evaluation") == "Under evaluation"
    assert proposal_status("screening") == "Eligibility screening"


def test_submission_list_refused_for_applicant(client, applicant):
    client.force_login(applicant)
    response = client.get("/officer/submissions/")
    assert response.status_code == 403
    assert "Only programme officers see the submissions." in text(response)


def test_call_create_page_refuses_naive_order(client, programme_officer):
    client.force_login(programme_officer)
    response = client.post(
        "/officer/calls/new/",
        {
            "identifier": "EUROHPC-2027-X",
            "title": "X",
            "prong": "new_host",
            "opens_at": "2027-01-10T10:00",
            "cut_offs": "2027-01-01 17:00",
        },
    )
    assert response.status_code == 400
    assert "Every cut-off must fall after the call opens (10 Jan 2027 10:00 CET)." in text(response)


def test_call_create_page_refuses_a_cut_off_in_an_implausible_year(client, programme_officer):
    client.force_login(programme_officer)
    response = client.post(
        "/officer/calls/new/",
        {
            "identifier": "EUROHPC-2027-X",
            "title": "X",
            "prong": "new_host",
            "opens_at": "0212-01-10T10:00",
            "cut_offs": "2027-01-01 17:00\n9999-01-01 17:00",
        },
    )
    assert response.status_code == 400
    page = text(response)
    assert "Line 2 (&#x27;9999-01-01 17:00&#x27;): Must be between the years 2000 and 2100." in page
    assert page.count("Must be between the years 2000 and 2100.") == 2  # the opening date too
    assert not Call.objects.filter(identifier="EUROHPC-2027-X").exists()


@pytest.mark.parametrize("rows", [1, 5])
def test_submission_list_page_query_count_is_constant(
    client, applicant, programme_officer, django_assert_num_queries, rows
):
    call = make_call()
    for i in range(rows):
        make_submitted(call=call, applicant=applicant, acronym=f"P{i}")
    client.force_login(programme_officer)
    # session, user, roles; page; budget totals; calls with cut-offs (2); counts per status and type (which give
    # the paginator its count); the model backend's two permission look-ups (navigation)
    with django_assert_num_queries(10):
        response = client.get("/officer/submissions/")
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 5])
def test_my_proposals_page_query_count_is_constant(client, applicant, django_assert_num_queries, rows):
    call = make_call()
    for i in range(rows):
        make_draft(call=call, applicant=applicant, acronym=f"P{i}")
    client.force_login(applicant)
    with django_assert_num_queries(9):
        response = client.get("/proposals/")
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 5])
def test_call_list_page_query_count_is_constant(client, django_assert_num_queries, rows):
    for i in range(rows):
        make_call(identifier=f"CALL-{i}")
    with django_assert_num_queries(2):
        response = client.get("/calls/")
    assert response.status_code == 200


@pytest.mark.parametrize("documents", [1, 4])
def test_proposal_page_query_count_is_constant(client, applicant, django_assert_num_queries, documents):
    from calls.services import document_upload

    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    for _ in range(documents):
        document_upload(proposal=proposal, kind="other", uploaded_file=pdf_upload(), actor=applicant)
    client.force_login(applicant)
    # 12 with the question whether a cut-off of the call lies ahead (the Submit button)
    with django_assert_num_queries(12):
        response = client.get(f"/proposals/{proposal.pk}/")
    assert response.status_code == 200


def test_submission_total_agrees_with_the_rows_it_stands_for(applicant, programme_officer, organisation, freezer):
    from calls.selectors import submission_counts, submission_tally, submission_total, submissions
    from tests.calls.access_factories import make_access_call, make_gpu_machine, submitted_application

    call, other = make_call(), make_call(identifier="EUROHPC-2026-CEI-AI-04")
    make_draft(call=call, applicant=applicant, acronym="D0")
    make_submitted(call=call, applicant=applicant, acronym="S1")
    make_submitted(call=call, applicant=applicant, acronym="S2")
    make_submitted(call=other, applicant=applicant, acronym="S3")
    _machine, partition, _period = make_gpu_machine(hosting_entity=organisation)
    submitted_application(call=make_access_call(), partition=partition, applicant=applicant)
    cases = [{}, {"call_id": call.pk}, {"call_id": other.pk}, {"status": "submitted"}, {"status": "eligible"},
             {"type": "new_system"}, {"type": "access"}, {"call_id": call.pk, "status": "submitted"}]  # fmt: skip
    for filters in cases:
        tally = submission_tally(call_id=filters.get("call_id"))
        assert submission_total(tally, **filters) == submissions(**filters).count(), filters
    assert submission_total(submission_tally(), cut_off_id=call.cut_offs.first().pk) is None
    assert submission_total(submission_tally(), search="S1") is None
    assert submission_counts() == {"submitted": 4}  # the access application too, as the badges always counted
