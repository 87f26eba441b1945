"""Self-registration: the form, every refusal with its status and message, the inactive account and its pending
request, the verification e-mail."""

import re

import pytest
from django.core import mail

from eurohpc.identity.services.registration import user_register
from eurohpc.models import AuditEvent, MembershipRequest, Role
from tests.eurohpc.registration_factories import LIST, PASSWORD, form_data, proposed_data
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_register_page_lists_the_register_by_short_name(client, organisation, other_organisation):
    page = client.get("/accounts/register/").content.decode()
    assert page.index(">CINECA — CINECA Consorzio Interuniversitario (Italy)<") < page.index(
        ">CSC — CSC - IT Center for Science Ltd. (Finland)<"
    )
    assert 'name="proposed_legal_name"' in page


def test_register_page_sends_a_signed_in_user_to_the_dashboard(client, applicant):
    client.force_login(applicant)
    response = client.get("/accounts/register/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_login_page_links_to_registration(client):
    assert 'href="/accounts/register/"' in client.get("/accounts/login/").content.decode()


def test_register_for_an_organisation_of_the_register_makes_an_inactive_account_and_a_pending_request(
    client, organisation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/register/", form_data(organisation=organisation.pk))
    assert response.status_code == 302 and response["Location"] == "/accounts/register/sent/"
    request = MembershipRequest.objects.select_related("user").get()
    user = request.user
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "lena", "lena@example.eu", "Lena", "Hoffmann",
    )  # fmt: skip
    assert user.is_active is False and user.email_verified_at is None
    assert user.organisation_id is None and user.roles == frozenset()
    assert user.check_password(PASSWORD)
    assert (request.status, request.organisation_id, request.proposed_legal_name) == ("pending", organisation.pk, "")
    assert list(AuditEvent.objects.filter(verb__in=["user.register", "membership.request"]).values_list(
        "verb", "actor_repr")) == [("user.register", "lena"), ("membership.request", "lena")]  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert "We sent a link to lena@example.eu: open it within 48 hours" in page
    assert "Check your e-mail" in page


def test_register_proposing_an_organisation_keeps_its_fields(client, organisation):
    response = client.post("/accounts/register/", proposed_data())
    assert response.status_code == 302
    request = MembershipRequest.objects.get()
    assert request.organisation_id is None
    assert (request.proposed_legal_name, request.proposed_short_name, request.proposed_country,
            request.proposed_kind, request.proposed_pic) == (LIST.legal_name, "LIST", "LU", "public_body",
                                                             "999999999")  # fmt: skip


def test_verification_e_mail_names_the_link_its_life_and_the_organisation(
    organisation, settings, django_capture_on_commit_callbacks
):
    settings.GRANTS_PUBLIC_BASE_URL = "https://aif-grants.example.eu/"
    with django_capture_on_commit_callbacks(execute=True):
        user_register(username="lena", email="lena@example.eu", first_name="Lena", last_name="Hoffmann",
                      password=PASSWORD, organisation=organisation)  # fmt: skip
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lena@example.eu"]
    assert message.subject == "Verify your e-mail address: AI Factories Grants"
    assert message.body.startswith("Hello Lena,\n\nYou registered on AI Factories Grants with the username lena.")
    assert "Open this link within 48 hours to verify your e-mail address and activate your account:" in message.body
    assert re.search(r"^https://aif-grants\.example\.eu/accounts/verify/[^/\s]+/$", message.body, re.M)
    assert "confirms that you act for CSC - IT Center for Science Ltd. (CSC)" in message.body
    assert "If you did not register, ignore this message: the account stays inactive." in message.body


# --- refusals: each a 400 with the rule on the page and under its field --------------------------------------


def _refused(client, data, message: str, field: str):
    response = client.post("/accounts/register/", data)
    page = response.content.decode()
    assert response.status_code == 400, page
    assert message in page
    if field:  # under its field too
        start = page.index(f'id="id_{field}_error"')
        assert message in page[start : start + 800], page[start : start + 800]
    assert MembershipRequest.objects.count() == 0
    return page


def test_register_refuses_a_username_taken(client, organisation):
    UserFactory(username="lena")
    _refused(client, form_data(organisation=organisation.pk, email="other@example.eu"),
             "The username &#x27;lena&#x27; is taken: choose another.", "username")  # fmt: skip


def test_register_refuses_a_username_taken_in_another_case(client, organisation):
    UserFactory(username="Lena")
    _refused(client, form_data(organisation=organisation.pk, email="other@example.eu"),
             "The username &#x27;lena&#x27; is taken: choose another.", "username")  # fmt: skip


def test_register_refuses_an_e_mail_address_registered_in_another_case(client, organisation):
    UserFactory(username="someone", email="Lena@Example.eu")
    _refused(client, form_data(organisation=organisation.pk),
             "The e-mail address lena@example.eu is already registered: log in, or ask for a new verification link "
             "if you have not used yours.", "email")  # fmt: skip


def test_register_refuses_a_proposed_short_name_of_the_register(client, organisation):
    _refused(client, proposed_data(proposed_short_name="csc", proposed_pic=""),
             "CSC is already in the register: choose it from the list.", "proposed_short_name")  # fmt: skip


def test_register_refuses_a_proposed_pic_of_the_register(client):
    OrganisationFactory(short_name="LuxProvide", pic="999999999")
    _refused(client, proposed_data(),
             "The PIC 999999999 is already in the register, as LuxProvide: choose it from the list.",
             "proposed_pic")  # fmt: skip


@pytest.mark.parametrize("pic", ["12345678", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩"])
def test_register_refuses_a_pic_that_is_not_9_digits(client, pic):
    message = f"A PIC (EU Participant Identification Code) is 9 digits, got &#x27;{pic}&#x27;."
    _refused(client, proposed_data(proposed_pic=pic), message, "proposed_pic")


def test_register_refuses_a_proposed_organisation_without_its_names(client):
    page = _refused(client, proposed_data(proposed_legal_name="", proposed_short_name=""),
                    "A proposed organisation needs its legal name.", "proposed_legal_name")  # fmt: skip
    assert "A proposed organisation needs a short name." in page


def test_register_refuses_no_organisation(client):
    _refused(client, form_data(),
             "Choose your organisation from the register, or propose it: one of the two.", "organisation")  # fmt: skip


def test_register_refuses_a_weak_password(client, organisation):
    _refused(client, form_data(organisation=organisation.pk, password="12345678", password_again="12345678"),
             "The password is refused: This password is entirely numeric.", "password")  # fmt: skip


def test_register_refuses_two_different_passwords(client, organisation):
    response = client.post("/accounts/register/", form_data(organisation=organisation.pk, password_again="x" * 20))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Your registration is not sent yet: correct the fields marked below." in page
    assert "The two passwords differ: type the same password twice." in page


def test_a_refused_registration_keeps_what_was_typed_but_the_passwords(client, organisation):
    UserFactory(username="lena")
    page = client.post("/accounts/register/", form_data(organisation=organisation.pk, email="x@example.eu")).content
    page = page.decode()
    assert 'value="x@example.eu"' in page and f'value="{PASSWORD}"' not in page


def test_register_refuses_several_problems_at_once(client, organisation):
    UserFactory(username="lena", email="lena@example.eu")
    page = _refused(client, form_data(organisation=organisation.pk), "The username &#x27;lena&#x27; is taken", "")
    assert "The e-mail address lena@example.eu is already registered" in page


def test_user_register_refuses_both_an_organisation_and_a_proposed_one(organisation):
    from eurohpc.errors import RuleViolation

    with pytest.raises(
        RuleViolation, match="^Choose your organisation from the register, or propose it: one of the two.$"
    ):
        user_register(username="lena", email="lena@example.eu", first_name="Lena", last_name="Hoffmann",
                      password=PASSWORD, organisation=organisation, proposed=LIST)  # fmt: skip


def test_a_registered_user_cannot_log_in_before_verifying(client, organisation):
    client.post("/accounts/register/", form_data(organisation=organisation.pk))
    response = client.post("/accounts/login/", {"username": "lena", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_registration_grants_no_role(organisation):
    request = user_register(username="lena", email="lena@example.eu", first_name="Lena", last_name="Hoffmann",
                            password=PASSWORD, organisation=organisation)  # fmt: skip
    assert Role.APPLICANT not in request.user.roles
