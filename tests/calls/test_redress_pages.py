"""Evaluation review pages: the applicant's window, form and receipt; the office's list and request page, each step
and its refusals with their status and message."""

from datetime import timedelta

import pytest
from django.utils.html import escape

from calls.evaluation.services import (
    decisions_confirm,
    decisions_publish,
    redress_admissibility_record,
    redress_committee_declare,
)
from calls.models import Proposal, RedressRequest
from eurohpc.formatting import local
from tests.calls.evaluation_factories import batch_of, evaluate
from tests.calls.redress_factories import (
    GROUNDS,
    admit,
    declare_all,
    make_committee,
    publish_three,
    published_at,
    re_evaluate,
    send_to_re_evaluation,
    submit,
)
from tests.conftest import queries_of_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(call, applicant, programme_officer, freezer, experts):
    return publish_three(call, applicant, programme_officer, freezer, experts)


@pytest.fixture
def committee(db):
    return make_committee()


def page(response) -> str:
    return response.content.decode()


# --- applicant ----------------------------------------------------------------------------------------------


def test_outcome_page_shows_the_window_and_the_link(client, published, applicant, freezer):
    freezer(published_at(published[2]) + timedelta(days=2))
    client.force_login(applicant)
    response = client.get(f"/proposals/{published[2].pk}/outcome/")
    assert response.status_code == 200
    deadline = published_at(published[2]) + timedelta(days=30)
    assert "you may request an evaluation review until" in page(response)
    assert f"/proposals/{published[2].pk}/evaluation-review/" in page(response)
    assert escape(local(deadline)[:11]) in page(response)


def test_outcome_page_of_a_selection_offers_no_request(client, published, applicant, freezer):
    freezer(published_at(published[0]) + timedelta(days=2))
    client.force_login(applicant)
    response = client.get(f"/proposals/{published[0].pk}/outcome/")
    assert "evaluation-review/" not in page(response)


def test_redress_request_page_sends_the_request_and_shows_the_receipt(client, published, applicant, freezer):
    freezer(published_at(published[2]) + timedelta(days=2))
    client.force_login(applicant)
    assert client.get(f"/proposals/{published[2].pk}/evaluation-review/").status_code == 200
    response = client.post(f"/proposals/{published[2].pk}/evaluation-review/", {"grounds": GROUNDS})
    request = RedressRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/evaluation-reviews/{request.pk}/"
    receipt = client.get(response.url)
    assert receipt.status_code == 200
    assert request.reference in page(receipt) and "met" in page(receipt)


def test_redress_request_page_refuses_a_late_request_with_the_deadline(client, published, applicant, freezer):
    notified = published_at(published[2])
    freezer(notified + timedelta(days=31))
    client.force_login(applicant)
    response = client.post(f"/proposals/{published[2].pk}/evaluation-review/", {"grounds": GROUNDS})
    assert response.status_code == 409
    assert escape(f"could be requested until {local(notified + timedelta(days=30))}") in page(response)
    assert not RedressRequest.objects.exists()


def test_redress_request_page_refuses_a_second_request(client, published, applicant, freezer):
    first = submit(published[2], applicant, freezer)
    client.force_login(applicant)
    response = client.post(f"/proposals/{published[2].pk}/evaluation-review/", {"grounds": "Again."})
    assert response.status_code == 409
    assert escape(f"was already requested ({first.reference}): one request per proposal and outcome.") in page(response)


def test_redress_pages_are_not_found_for_another_organisation(client, published, applicant, other_applicant, freezer):
    request = submit(published[2], applicant, freezer)
    client.force_login(other_applicant)
    assert client.get(f"/proposals/{published[2].pk}/evaluation-review/").status_code == 404
    assert client.get(f"/evaluation-reviews/{request.pk}/").status_code == 404


def test_redress_receipt_never_names_the_committee(client, published, applicant, freezer, programme_officer, committee):
    request = send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    client.force_login(applicant)
    response = client.get(f"/evaluation-reviews/{request.pk}/")
    assert response.status_code == 200
    assert "Re-evaluation by new experts" in page(response)
    for member in [*committee, programme_officer]:
        assert member.display_name not in page(response)


def test_applicant_dashboard_lists_the_requests(client, published, applicant, freezer):
    request = submit(published[2], applicant, freezer)
    client.force_login(applicant)
    assert request.reference in page(client.get("/dashboard/"))


# --- programme office ---------------------------------------------------------------------------------------


def test_redress_list_query_count_is_constant(client, published, applicant, freezer, programme_officer):
    submit(published[2], applicant, freezer)
    one = queries_of_page(client, programme_officer, "/officer/evaluation/redress/")
    submit(published[1], applicant, freezer)
    request = RedressRequest.objects.order_by("pk").first()
    redress_admissibility_record(request=request, admissible=False, reason="Judgement.", actor=programme_officer)
    several = queries_of_page(client, programme_officer, "/officer/evaluation/redress/")
    assert one == several


def test_redress_list_is_for_programme_officers(client, published, applicant):
    client.force_login(applicant)
    response = client.get("/officer/evaluation/redress/")
    assert response.status_code == 403
    assert "Only programme officers handle evaluation reviews." in page(response)


def test_redress_admissibility_form_refuses_inadmissible_without_reason(
    client, published, applicant, freezer, programme_officer
):
    request = submit(published[2], applicant, freezer)
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/redress/{request.pk}/admissibility/", {"admissible": "no"})
    assert response.status_code == 400
    assert "Give the reason why the request is not admissible." in page(response)


def test_redress_committee_form_offers_only_uninvolved_officers(
    client, published, applicant, freezer, programme_officer, committee
):
    request = submit(published[2], applicant, freezer)
    redress_admissibility_record(request=request, admissible=True, reason="", actor=committee[0])
    other = make_committee(prefix="other", count=1)[0]
    client.force_login(committee[1])
    response = client.get(f"/officer/evaluation/redress/{request.pk}/")
    assert response.status_code == 200
    form = page(response).split(f'action="/officer/evaluation/redress/{request.pk}/committee/"')[1].split("</form>")[0]
    assert other.display_name in form and committee[1].display_name in form
    assert programme_officer.display_name not in form and committee[0].display_name not in form


def test_redress_committee_post_refuses_the_officer_who_ran_the_evaluation(
    client, published, applicant, freezer, programme_officer, committee
):
    request = submit(published[2], applicant, freezer)
    redress_admissibility_record(request=request, admissible=True, reason="", actor=committee[0])
    client.force_login(committee[1])
    response = client.post(
        f"/officer/evaluation/redress/{request.pk}/committee/", {"members": [programme_officer.pk, committee[1].pk]}
    )
    assert response.status_code == 400  # not a choice of the form: the office never sees them offered
    assert not request.committee.exists()


def test_redress_declaration_is_refused_to_an_officer_off_the_committee(
    client, published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    client.force_login(programme_officer)
    response = client.post(f"/officer/evaluation/redress/{request.pk}/declaration/", {"declaration": "no_conflict"})
    assert response.status_code == 403
    assert "Only the committee member declares and gives an opinion on this seat." in page(response)


def test_redress_member_declares_then_gives_the_opinion(
    client, published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    client.force_login(committee[0])
    detail = page(client.get(f"/officer/evaluation/redress/{request.pk}/"))
    assert "Your declaration" in detail and "Record the opinion" not in detail
    url = f"/officer/evaluation/redress/{request.pk}/"
    assert client.post(url + "declaration/", {"declaration": "no_conflict"}).status_code == 302
    assert "Record the opinion" in page(client.get(url))
    response = client.post(url + "opinion/", {"opinion": "confirm", "reason": "The procedure was followed."})
    assert response.status_code == 302
    assert RedressRequest.objects.get().status == RedressRequest.Status.CONFIRMED


def test_redress_opinion_refused_before_the_members_declaration(
    client, published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    client.force_login(committee[0])
    response = client.post(
        f"/officer/evaluation/redress/{request.pk}/opinion/", {"opinion": "confirm", "reason": "Fine."}
    )
    assert response.status_code == 409
    assert escape(
        f"Declare whether you have a conflict of interest with {request.reference} before giving the opinion."
    ) in page(response)


def test_redress_conclude_button_appears_with_the_new_consensus(
    client, published, applicant, freezer, programme_officer, committee
):
    request = send_to_re_evaluation(submit(published[2], applicant, freezer), programme_officer, committee)
    url = f"/officer/evaluation/redress/{request.pk}/"
    client.force_login(programme_officer)
    before = page(client.get(url))
    assert "Conclude the evaluation review" not in before and "No new consensus yet." in before
    response = client.post(url + "conclude/")
    assert response.status_code == 409
    re_evaluate(published[2], programme_officer, "5", "5", "5")
    assert "Conclude the evaluation review" in page(client.get(url))
    assert client.post(url + "conclude/").status_code == 302
    assert Proposal.objects.get(pk=published[2].pk).status == Proposal.Status.SELECTED
    client.force_login(applicant)
    receipt = page(client.get(f"/evaluation-reviews/{request.pk}/"))
    assert "Outcome after the evaluation review" in receipt and "changed" in receipt


def test_officer_dashboard_shows_pending_redress_work(
    client, published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    declare_all(request, committee[:1])
    client.force_login(committee[1])
    dashboard = page(client.get("/dashboard/"))
    assert f"Review committee: {request.reference}" in dashboard


def test_redress_opinion_form_is_not_offered_below_the_committees_minimum(
    client, published, applicant, freezer, programme_officer, committee
):
    request = admit(submit(published[2], applicant, freezer), programme_officer, committee)
    seats = {s.member_id: s for s in request.committee.all()}
    redress_committee_declare(seat=seats[committee[0].pk], conflict=False, reason="", actor=committee[0])
    redress_committee_declare(seat=seats[committee[1].pk], conflict=True, reason="Former adviser.", actor=committee[1])
    message = (
        f"The review committee of {request.reference} has 1 member without a conflict of interest: it gives its "
        f"opinion with at least 2. The programme office must appoint another member first."
    )
    url = f"/officer/evaluation/redress/{request.pk}/"
    client.force_login(committee[0])
    detail = page(client.get(url))
    assert "Record the opinion" not in detail and escape(message) in detail
    response = client.post(url + "opinion/", {"opinion": "confirm", "reason": "Fine."})
    assert response.status_code == 409 and escape(message) in page(response)
    assert RedressRequest.objects.get().status == RedressRequest.Status.IN_REVIEW


def test_redress_conclude_button_gives_way_to_the_technical_refusal(
    client, call, applicant, freezer, programme_officer, experts, committee
):
    # Rejected at the first evaluation, never assessed technically: the re-evaluation would now select it.
    proposal = batch_of(call, applicant, programme_officer, freezer, ["30000000.00"])[0]
    evaluate(proposal, experts, programme_officer, "2", "2", "2", technical=False)
    decisions_confirm(cut_off=proposal.cut_off, actor=programme_officer)
    decisions_publish(cut_off=proposal.cut_off, actor=programme_officer)
    request = send_to_re_evaluation(submit(proposal, applicant, freezer), programme_officer, committee)
    re_evaluate(proposal, programme_officer, "5", "5", "5")
    message = (
        f"Proposal {proposal} cannot be selected: its technical assessment (site readiness, procurement, TCO, "
        f"energy efficiency, access policy) is not submitted yet. Concluding {request.reference} would "
        f"select it: the technical assessment comes first."
    )
    url = f"/officer/evaluation/redress/{request.pk}/"
    client.force_login(programme_officer)
    detail = page(client.get(url))
    assert "Conclude the evaluation review" not in detail and escape(message) in detail
    response = client.post(url + "conclude/")
    assert response.status_code == 409 and escape(message) in page(response)
    assert RedressRequest.objects.get().status == RedressRequest.Status.RE_EVALUATION
