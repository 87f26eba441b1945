from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Proposal
from calls.services import cut_off_process
from eurohpc.models import Role
from tests.calls.factories import NEW_SYSTEM_BUDGET, make_call, make_draft, make_submitted, pdf_upload
from tests.conftest import api_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def proposal_payload(call, **overrides):
    return {
        "call": call.pk,
        "type": "new_system",
        "title": "NORDAI",
        "acronym": "NORDAI",
        "machine": None,
        "planned_machine_name": "NORDAI-1",
        "planned_machine_country": "FI",
        "abstract": "Models.",
        "budget_lines": NEW_SYSTEM_BUDGET,
        **overrides,
    }


def test_call_list_is_public_with_cut_offs(api):
    call = make_call()
    body = api.get("/api/v1/calls/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["id"], row["identifier"], row["prong"], row["status"]) == (
        call.pk,
        "EUROHPC-2026-CEI-AI-03",
        "new_host",
        "open",
    )
    assert [c["id"] for c in row["cut_offs"]] == list(call.cut_offs.order_by("closes_at").values_list("pk", flat=True))


def test_call_list_hides_drafts_from_public(api):
    make_call(status="draft", identifier="DRAFT-CALL")
    assert api.get("/api/v1/calls/").json()["count"] == 0


def test_call_create_by_officer(programme_officer):
    now = timezone.now()
    payload = {
        "identifier": "EUROHPC-2027-CEI-AI-01",
        "title": "Next call",
        "prong": "existing_host",
        "opens_at": now.isoformat(),
        "cut_offs": [{"closes_at": (now + timedelta(days=40)).isoformat()}],
        "status": "open",
    }
    response = api_for(programme_officer).post("/api/v1/calls/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "open"
    assert response.json()["allowed_types"] == ["activities"]


def test_call_create_refused_for_applicant(applicant):
    response = api_for(applicant).post("/api/v1/calls/", {"identifier": "X"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only programme officers can open calls."


def test_call_create_duplicate_identifier_conflict(programme_officer):
    make_call()
    now = timezone.now()
    payload = {
        "identifier": "EUROHPC-2026-CEI-AI-03",
        "title": "Again",
        "prong": "new_host",
        "opens_at": now.isoformat(),
        "cut_offs": [{"closes_at": (now + timedelta(days=1)).isoformat()}],
    }
    response = api_for(programme_officer).post("/api/v1/calls/", payload, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "A call with the identifier EUROHPC-2026-CEI-AI-03 already exists."


def test_cut_off_add_refuses_past_date(programme_officer):
    call = make_call()
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = api_for(programme_officer).post(f"/api/v1/calls/{call.pk}/cut-offs/", {"closes_at": past}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("A new cut-off must lie in the future;")


def test_cut_off_add_by_officer(programme_officer):
    call = make_call()
    later = (timezone.now() + timedelta(days=300)).isoformat()
    response = api_for(programme_officer).post(
        f"/api/v1/calls/{call.pk}/cut-offs/", {"closes_at": later}, format="json"
    )
    assert response.status_code == 201
    assert call.cut_offs.count() == 3


def test_proposal_create_returns_draft(applicant):
    call = make_call()
    response = api_for(applicant).post("/api/v1/proposals/", proposal_payload(call), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["organisation"] == "CSC"
    assert [line["eu_contribution"] for line in body["budget_lines"]] == ["100000000.00", "30000000.00", "10000000.00"]


def test_proposal_create_refused_for_evaluator(evaluator):
    response = api_for(evaluator).post("/api/v1/proposals/", proposal_payload(make_call()), format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only applicants (staff of a hosting entity) file proposals."


def test_proposal_create_refuses_budget_over_cap(applicant):
    lines = [
        {
            "category": "acquisition",
            "total_cost": "100.00",
            "eu_contribution": "60.00",
            "national_contribution": "40.00",
        }
    ]
    response = api_for(applicant).post(
        "/api/v1/proposals/", proposal_payload(make_call(), budget_lines=lines), format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "acquisition": [
            "Acquisition: the EU may contribute at most 50% of the cost (EUR 50.00); EUR 60.00 requested exceeds it by "
            "EUR 10.00."
        ]
    }
    assert Proposal.objects.count() == 0


def test_proposal_create_refused_on_closed_call(applicant, freezer):
    call = make_call()
    freezer(timezone.now() + timedelta(days=200))
    from calls.services import cut_offs_process_due

    cut_offs_process_due()
    response = api_for(applicant).post("/api/v1/proposals/", proposal_payload(call), format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "EUROHPC-2026-CEI-AI-03 is not open for proposals."


def test_proposal_patch_while_draft(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    response = api_for(applicant).patch(f"/api/v1/proposals/{proposal.pk}/", {"title": "Renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"


def test_proposal_patch_after_submit_conflict(applicant):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    response = api_for(applicant).patch(f"/api/v1/proposals/{proposal.pk}/", {"title": "Renamed"}, format="json")
    assert response.status_code == 409
    assert (
        response.json()["detail"] == "Proposal EUROHPC-2026-CEI-AI-03-0001 is submitted: only a draft can be changed."
    )


def test_proposal_submit_api_returns_reference_and_cut_off(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    response = api_for(applicant).post(f"/api/v1/proposals/{proposal.pk}/submit/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reference"]) == ("submitted", "EUROHPC-2026-CEI-AI-03-0001")
    assert body["cut_off"]["id"] == proposal.call.cut_offs.order_by("closes_at").first().pk


def test_proposal_submit_api_lists_each_violation(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant, documents=False, planned_machine_country="TR")
    response = api_for(applicant).post(f"/api/v1/proposals/{proposal.pk}/submit/")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "The proposal cannot be submitted: 2 rule(s) not met."
    assert sorted(body["errors"]) == ["document_proposal_form", "machine_country"]


def test_proposal_submit_late_conflict(applicant, freezer):
    proposal = make_draft(call=make_call(), applicant=applicant)
    freezer(timezone.now() + timedelta(days=365))
    response = api_for(applicant).post(f"/api/v1/proposals/{proposal.pk}/submit/")
    assert response.status_code == 409
    assert response.json()["code"] == "late"
    assert "submissions are no longer accepted" in response.json()["detail"]


def test_document_upload_api(applicant):
    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    response = api_for(applicant).post(
        f"/api/v1/proposals/{proposal.pk}/documents/",
        {"kind": "proposal_form", "file": pdf_upload()},
        format="multipart",
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "proposal_form"
    assert len(response.json()["sha256"]) == 64


def test_document_upload_api_refuses_non_pdf(applicant):
    from django.core.files.uploadedfile import SimpleUploadedFile

    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    fake = SimpleUploadedFile("budget.pdf", b"PK\x03\x04 a zip archive", content_type="application/pdf")
    response = api_for(applicant).post(
        f"/api/v1/proposals/{proposal.pk}/documents/", {"kind": "other", "file": fake}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "document_not_pdf"


def test_withdraw_and_eligibility_api(applicant, programme_officer, freezer):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    early = api_for(programme_officer).post(
        f"/api/v1/proposals/{proposal.pk}/eligibility/", {"eligible": True, "reason": "ok"}, format="json"
    )
    assert early.status_code == 409
    freezer(proposal.cut_off.closes_at + timedelta(seconds=1))
    cut_off_process(cut_off=proposal.cut_off)
    late_withdraw = api_for(applicant).post(f"/api/v1/proposals/{proposal.pk}/withdraw/")
    assert late_withdraw.status_code == 409
    decided = api_for(programme_officer).post(
        f"/api/v1/proposals/{proposal.pk}/eligibility/", {"eligible": True, "reason": "All rules met."}, format="json"
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "eligible"


def test_eligibility_refused_for_applicant(applicant):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    response = api_for(applicant).post(
        f"/api/v1/proposals/{proposal.pk}/eligibility/", {"eligible": True, "reason": "mine is fine"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Only programme officers record eligibility."


# --- role x endpoint x foreign object -----------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/v1/proposals/{pk}/", None),
    ("patch", "/api/v1/proposals/{pk}/", {"title": "x"}),
    ("post", "/api/v1/proposals/{pk}/submit/", None),
    ("post", "/api/v1/proposals/{pk}/withdraw/", None),
    ("post", "/api/v1/proposals/{pk}/copy/", None),
    ("get", "/api/v1/proposals/{pk}/checks/", None),
    ("post", "/api/v1/proposals/{pk}/consortium/", {"organisation": 1, "role": "partner"}),
    ("post", "/api/v1/proposals/{pk}/eligibility/", {"eligible": True, "reason": "x"}),
]


@pytest.mark.parametrize(("method", "path", "payload"), ENDPOINTS)
def test_foreign_organisation_proposal_is_not_found(method, path, payload, applicant, other_applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    response = getattr(api_for(other_applicant), method)(path.format(pk=proposal.pk), payload, format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


@pytest.mark.parametrize(("method", "path", "payload"), ENDPOINTS)
@pytest.mark.parametrize("role", [Role.EVALUATOR, Role.FINANCE_OFFICER, Role.HOSTING_OPERATOR])
def test_other_roles_do_not_see_proposals(method, path, payload, role, applicant, organisation):
    proposal = make_draft(call=make_call(), applicant=applicant)
    user = UserFactory(organisation=organisation, roles=[role])
    response = getattr(api_for(user), method)(path.format(pk=proposal.pk), payload, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "path", "payload"), ENDPOINTS)
def test_anonymous_refused_with_401(api, method, path, payload, applicant):
    proposal = make_draft(call=make_call(), applicant=applicant)
    response = getattr(api, method)(path.format(pk=proposal.pk), payload, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "payload"), [e for e in ENDPOINTS if e[0] != "get" and "eligibility" not in e[1]]
)
def test_officer_sees_but_cannot_change_applicant_proposal(method, path, payload, applicant, programme_officer):
    proposal = make_submitted(call=make_call(), applicant=applicant)
    response = getattr(api_for(programme_officer), method)(path.format(pk=proposal.pk), payload, format="json")
    assert response.status_code == 403
    assert "Only applicant staff of the proposal's organisation" in response.json()["detail"]


def test_applicant_list_shows_only_own_organisation(applicant, other_applicant):
    call = make_call()
    mine = make_draft(call=call, applicant=applicant)
    make_draft(call=call, applicant=other_applicant, acronym="OTHER")
    body = api_for(applicant).get("/api/v1/proposals/").json()
    assert [row["id"] for row in body["results"]] == [mine.pk]


def test_officer_list_excludes_drafts_and_filters(applicant, programme_officer):
    call = make_call()
    make_draft(call=call, applicant=applicant, acronym="DRAFT")
    submitted = make_submitted(call=call, applicant=applicant, acronym="SENT")
    body = api_for(programme_officer).get(f"/api/v1/proposals/?call={call.pk}&status=submitted").json()
    assert [row["reference"] for row in body["results"]] == [submitted.reference]
    assert body["results"][0]["eu_requested"] == "140000000.00"


def test_list_refuses_bad_filter(programme_officer):
    response = api_for(programme_officer).get("/api/v1/proposals/?status=lost")
    assert response.status_code == 400
    assert response.json()["errors"] == {"status": ["Unknown status 'lost'."]}


@pytest.mark.parametrize("rows", [1, 4])
def test_officer_proposal_list_query_count_is_constant(applicant, programme_officer, django_assert_num_queries, rows):
    call = make_call()
    for i in range(rows):
        make_submitted(call=call, applicant=applicant, acronym=f"P{i}")
    client = api_for(programme_officer)
    # roles of the officer; count; page with call, cut-off and organisation joined in; budget totals of the page
    with django_assert_num_queries(4):
        response = client.get("/api/v1/proposals/")
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [1, 4])
def test_applicant_proposal_list_query_count_is_constant(applicant, django_assert_num_queries, rows):
    call = make_call()
    for i in range(rows):
        make_draft(call=call, applicant=applicant, acronym=f"P{i}")
    client = api_for(applicant)
    # roles; the model backend's two permission look-ups (the officer rule fails first); count; page; totals
    with django_assert_num_queries(6):
        response = client.get("/api/v1/proposals/")
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [1, 4])
def test_call_list_query_count_is_constant(api, django_assert_num_queries, rows):
    for i in range(rows):
        make_call(identifier=f"CALL-{i}")
    # count; page of calls with next/last cut-off; cut-offs prefetch
    with django_assert_num_queries(3):
        response = api.get("/api/v1/calls/")
    assert response.json()["count"] == rows


@pytest.mark.parametrize("documents", [1, 4])
def test_proposal_detail_query_count_is_constant(applicant, django_assert_num_queries, documents):
    proposal = make_draft(call=make_call(), applicant=applicant, documents=False)
    from calls.services import document_upload

    for _ in range(documents):
        document_upload(proposal=proposal, kind="other", uploaded_file=pdf_upload(), actor=applicant)
    client = api_for(applicant)
    # the proposal with its call and cut-off, budget lines, members, documents, roles; whether a cut-off lies
    # ahead (the submit action)
    with django_assert_num_queries(6):
        response = client.get(f"/api/v1/proposals/{proposal.pk}/")
    assert response.json()["actions"] == ["edit", "submit"]
