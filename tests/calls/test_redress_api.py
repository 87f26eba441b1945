"""The evaluation review API: the applicant's request, receipt and window; the office's list (constant queries)
and steps; refusals with their status and message."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.evaluation.services import redress_admissibility_record
from calls.models import RedressRequest
from eurohpc.formatting import local
from tests.calls.redress_factories import (
    GROUNDS,
    admit,
    make_committee,
    publish_three,
    published_at,
    re_evaluate,
    send_to_re_evaluation,
    submit,
)
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(call, applicant, programme_officer, freezer, experts):
    return publish_three(call, applicant, programme_officer, freezer, experts)


@pytest.fixture
def committee(db):
    return make_committee()


def test_redress_api_creates_the_request_for_the_applicant(published, applicant, freezer):
    freezer(published_at(published[2]) + timedelta(days=1))
    response = api_for(applicant).post(
        "/api/v1/evaluation/redress/", {"proposal": published[2].pk, "grounds": GROUNDS}, format="json"
    )
    assert response.status_code == 201
    assert response.data["reference"] == "RED-EUROHPC-2026-CEI-AI-03-0003-1"
    assert response.data["status"] == "submitted" and "committee" not in response.data


def test_redress_api_refuses_a_late_request_with_the_deadline(published, applicant, freezer):
    notified = published_at(published[2])
    freezer(notified + timedelta(days=40))
    response = api_for(applicant).post(
        "/api/v1/evaluation/redress/", {"proposal": published[2].pk, "grounds": GROUNDS}, format="json"
    )
    assert response.status_code == 409
    assert response.data["code"] == "redress_late"
    assert f"could be requested until {local(notified + timedelta(days=30))}." in response.data["detail"]


def test_redress_api_refuses_a_second_request(published, applicant, freezer):
    first = submit(published[2], applicant, freezer)
    response = api_for(applicant).post(
        "/api/v1/evaluation/redress/", {"proposal": published[2].pk, "grounds": "Again."}, format="json"
    )
    assert response.status_code == 409 and response.data["code"] == "redress_exists"
    assert first.reference in response.data["detail"]


def test_redress_api_hides_another_organisations_proposal_and_request(published, applicant, other_applicant, freezer):
    request = submit(published[2], applicant, freezer)
    client = api_for(other_applicant)
    response = client.post(
        "/api/v1/evaluation/redress/", {"proposal": published[2].pk, "grounds": GROUNDS}, format="json"
    )
    assert response.status_code == 404
    assert client.get(f"/api/v1/evaluation/redress/{request.pk}/").status_code == 404
    assert client.get("/api/v1/evaluation/redress/").data["results"] == []


def test_redress_api_window_says_until_when(published, applicant, freezer):
    freezer(published_at(published[1]) + timedelta(days=1))
    response = api_for(applicant).get(f"/api/v1/proposals/{published[1].pk}/redress-window/")
    assert response.status_code == 200
    assert response.data["is_open"] is True and response.data["decision"]["outcome"] == "reserve"


def test_redress_api_list_query_count_is_constant(published, applicant, freezer, programme_officer):
    client = api_for(programme_officer)
    submit(published[2], applicant, freezer)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/evaluation/redress/").status_code == 200
    submit(published[1], applicant, freezer)
    redress_admissibility_record(
        request=RedressRequest.objects.order_by("pk").first(), admissible=False, reason="Judgement.",
        actor=programme_officer,
    )  # fmt: skip
    with CaptureQueriesContext(connection) as several:
        response = client.get("/api/v1/evaluation/redress/")
    assert len(response.data["results"]) == 2
    assert len(one) == len(several)


def test_redress_api_committee_refuses_an_involved_officer(published, applicant, freezer, programme_officer, committee):
    request = submit(published[2], applicant, freezer)
    redress_admissibility_record(request=request, admissible=True, reason="", actor=committee[0])
    response = api_for(committee[1]).post(
        f"/api/v1/evaluation/redress/{request.pk}/committee/",
        {"members": [programme_officer.pk, committee[1].pk]},
        format="json",
    )
    assert response.status_code == 400 and response.data["code"] == "committee_involved"
    assert response.data["detail"].startswith(
        f"{programme_officer.display_name} assigned experts to proposal EUROHPC-2026-CEI-AI-03-0003."
    )


def test_redress_api_opinion_refused_off_the_committee(published, applicant, freezer, programme_officer, committee):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    response = api_for(programme_officer).post(
        f"/api/v1/evaluation/redress/{request.pk}/opinion/", {"opinion": "confirm", "reason": "Fine."}, format="json"
    )
    assert response.status_code == 403 and response.data["code"] == "not_committee"


def test_redress_api_runs_the_re_evaluation_to_its_end(published, applicant, freezer, programme_officer, committee):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    member = api_for(committee[0])
    url = f"/api/v1/evaluation/redress/{request.pk}/"
    assert member.get(url).data["actions"] == ["declare"]
    assert member.post(url + "declaration/", {"conflict": False}, format="json").status_code == 200
    response = member.post(url + "opinion/", {"opinion": "re_evaluate", "reason": "Overlooked annex."}, format="json")
    assert response.status_code == 200 and response.data["status"] == "re_evaluation"
    officer = api_for(programme_officer)
    assert officer.post(url + "conclude/").status_code == 409
    re_evaluate(published[2], programme_officer, "5", "5", "5")
    assert officer.get(url).data["actions"] == ["conclude"]
    response = officer.post(url + "conclude/")
    assert response.status_code == 200
    assert response.data["outcome_decision"]["outcome"] == "selected" and response.data["outcome_changed"] is True
    receipt = api_for(applicant).get(url).data
    assert receipt["status"] == "re_evaluated" and "committee" not in receipt and "opinion_by" not in receipt


def test_redress_api_detail_for_the_applicant_names_no_one(published, applicant, freezer, programme_officer, committee):
    request = send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    data = api_for(applicant).get(f"/api/v1/evaluation/redress/{request.pk}/").data
    assert data["opinion"] == "re_evaluate"
    assert not {"committee", "submitted_by", "admissibility_by", "opinion_by"} & set(data)


def test_redress_api_lists_no_opinion_below_the_committees_minimum(
    published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    url = f"/api/v1/evaluation/redress/{request.pk}/"
    assert (
        api_for(committee[1])
        .post(url + "declaration/", {"conflict": True, "reason": "Adviser."}, format="json")
        .status_code
        == 200
    )
    member = api_for(committee[0])
    assert member.post(url + "declaration/", {"conflict": False}, format="json").status_code == 200
    assert member.get(url).data["actions"] == []
    response = member.post(url + "opinion/", {"opinion": "confirm", "reason": "Fine."}, format="json")
    assert response.status_code == 409 and response.data["code"] == "committee_too_small"
    assert response.data["detail"] == (
        f"The review committee of {request.reference} has 1 member without a conflict of interest: it gives its "
        f"opinion with at least 2. The programme office must appoint another member first."
    )
