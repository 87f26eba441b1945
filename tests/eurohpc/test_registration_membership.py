"""A signed-in user without an organisation asks to act for one (one request at a time), and the dashboard of an
account without a role says where it stands."""

import pytest

from eurohpc.identity.services.registration import membership_request_refuse
from eurohpc.models import MembershipRequest
from tests.eurohpc.registration_factories import LIST, form_data, proposed_data, register
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ORG_FIELDS = ("source", "organisation", "proposed_legal_name", "proposed_short_name", "proposed_country",
              "proposed_kind", "proposed_pic")  # fmt: skip


def _org(data: dict) -> dict:
    return {k: v for k, v in data.items() if k in ORG_FIELDS}


@pytest.fixture
def newcomer(db):
    """An account without organisation nor role, as single sign-on creates it."""
    return UserFactory(username="newcomer", first_name="Nora", last_name="Berg")


def test_an_account_without_a_role_is_offered_to_ask_for_its_organisation(client, newcomer):
    client.force_login(newcomer)
    page = client.get("/dashboard/").content.decode()
    assert "Your account has no role yet. To apply to the calls for your organisation," in page
    assert 'href="/accounts/organisation/">ask to act for your organisation</a>' in page


def test_a_request_for_an_organisation_of_the_register(client, newcomer, organisation):
    client.force_login(newcomer)
    response = client.post("/accounts/organisation/", _org(form_data(organisation=organisation.pk)))
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    request = MembershipRequest.objects.get()
    assert (request.user, request.organisation, request.status) == (newcomer, organisation, "pending")
    page = client.get("/dashboard/").content.decode()
    assert "Your request is sent: the programme office confirms it and you are told by e-mail." in page
    assert "Your request to act for an organisation awaits the programme office." in page
    assert "CSC — CSC - IT Center for Science Ltd." in page and "Awaiting confirmation" in page


def test_a_request_proposing_an_organisation(client, newcomer):
    client.force_login(newcomer)
    assert client.post("/accounts/organisation/", _org(proposed_data())).status_code == 302
    assert MembershipRequest.objects.get().proposed_short_name == "LIST"
    assert "LIST — Luxembourg Institute of Science and Technology (proposed for the register)" in (
        client.get("/dashboard/").content.decode()
    )


def test_one_pending_request_at_a_time(client, newcomer, organisation, other_organisation):
    client.force_login(newcomer)
    client.post("/accounts/organisation/", _org(form_data(organisation=organisation.pk)))
    response = client.post("/accounts/organisation/", _org(form_data(organisation=other_organisation.pk)))
    assert response.status_code == 409
    assert "awaits the programme office: one request at a time." in response.content.decode()
    assert MembershipRequest.objects.count() == 1
    page = client.get("/accounts/organisation/").content.decode()
    assert "Your request awaits the programme office: one request at a time." in page
    assert 'action="/accounts/organisation/"' not in page


def test_a_member_of_an_organisation_cannot_ask(client, applicant, other_organisation):
    client.force_login(applicant)
    response = client.post("/accounts/organisation/", _org(form_data(organisation=other_organisation.pk)))
    assert response.status_code == 409
    assert (
        "You already act for CSC: a request to join an organisation is for accounts without one."
        in response.content.decode()
    )
    assert (
        "You act for CSC - IT Center for Science Ltd. (CSC)." in client.get("/accounts/organisation/").content.decode()
    )


def test_after_a_refusal_the_reason_shows_and_a_new_request_is_possible(
    client, newcomer, organisation, programme_officer
):
    client.force_login(newcomer)
    client.post("/accounts/organisation/", _org(form_data(organisation=organisation.pk)))
    membership_request_refuse(request=MembershipRequest.objects.get(), reason="Not staff of CSC.",
                              actor=programme_officer)  # fmt: skip
    page = client.get("/dashboard/").content.decode()
    assert "Not staff of CSC." in page and "Refused" in page
    assert 'href="/accounts/organisation/"' in page
    assert client.post("/accounts/organisation/", _org(proposed_data())).status_code == 302
    assert MembershipRequest.objects.filter(status="pending").get().proposed_short_name == LIST.short_name


def test_the_request_form_refuses_a_proposed_organisation_of_the_register(client, newcomer, organisation):
    client.force_login(newcomer)
    response = client.post("/accounts/organisation/", _org(proposed_data(proposed_short_name="CSC", proposed_pic="")))
    assert response.status_code == 400
    assert "CSC is already in the register: choose it from the list." in response.content.decode()


def test_the_request_page_needs_a_signed_in_user(client):
    response = client.get("/accounts/organisation/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/accounts/organisation/"


def test_a_registrant_whose_request_waits_sees_it_on_the_dashboard(client, organisation):
    user = register(organisation=organisation).user
    client.force_login(user)
    page = client.get("/dashboard/").content.decode()
    assert "Your request to act for an organisation awaits the programme office." in page
