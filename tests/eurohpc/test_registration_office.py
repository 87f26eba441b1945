"""The programme office's queue of registrations: who may see it, what it shows, confirming (for an organisation of
the register or a proposed one, corrected) and refusing, every refusal with its status and message, the e-mails."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from eurohpc.identity.services.registration import (
    ProposedOrganisation,
    membership_request_confirm,
    membership_request_refuse,
)
from eurohpc.models import AuditEvent, MembershipRequest, Organisation, Role, User
from tests.conftest import queries_of_page
from tests.eurohpc.registration_factories import LIST, PASSWORD, register
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/officer/registrations/"
DENIED = "Only programme officers and administrators can confirm who acts for an organisation."


def _detail(request) -> str:
    return f"{QUEUE}{request.pk}/"


# --- who may ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["applicant", "finance_officer", "evaluator", "hosting_operator"])
def test_the_queue_is_refused_to_others(client, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(QUEUE)
    assert response.status_code == 403
    assert DENIED in response.content.decode()


def test_a_decision_is_refused_to_others(client, applicant, organisation):
    pending = register(organisation=organisation)
    client.force_login(applicant)
    assert client.post(f"{_detail(pending)}confirm/").status_code == 403
    assert client.post(f"{_detail(pending)}refuse/", {"refuse-reason": "No."}).status_code == 403
    assert MembershipRequest.objects.get().status == "pending"


@pytest.mark.parametrize("who", ["programme_officer", "admin_user"])
def test_the_queue_is_open_to_programme_officers_and_administrators(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(QUEUE).status_code == 200


def test_an_unknown_request_is_not_found(client, programme_officer):
    client.force_login(programme_officer)
    assert client.get(f"{QUEUE}999/").status_code == 404
    assert client.post(f"{QUEUE}999/confirm/").status_code == 404


# --- the queue --------------------------------------------------------------------------------------------------


def test_the_queue_lists_pending_requests_oldest_first_with_their_verification(
    client, programme_officer, organisation, freezer
):
    now = timezone.now()
    freezer(now - timedelta(days=2))
    older = register("older", organisation=organisation, verified=False)
    freezer(now - timedelta(days=1))
    newer = register("newer")
    decided = register("decided", organisation=organisation)
    membership_request_refuse(request=decided, reason="Not staff.", actor=programme_officer)
    freezer(now)
    client.force_login(programme_officer)
    page = client.get(QUEUE).content.decode()
    assert page.index("older@example.eu") < page.index("newer@example.eu")
    assert "decided@example.eu" not in page
    assert "not verified yet</span>" in page[page.index("older@example.eu") : page.index("newer@example.eu")]
    assert "verified</span>" in page[page.index("newer@example.eu") :]
    assert f'href="{_detail(older)}"' in page and f'href="{_detail(newer)}"' in page
    assert "proposed</span> LIST" in page


def test_the_queue_shows_the_register_s_organisations_like_a_proposed_one(client, programme_officer):
    OrganisationFactory(short_name="LuxProvide", legal_name="LuxProvide S.A.", pic="999999999")
    OrganisationFactory(short_name="LIST-RD", legal_name="Luxembourg Institute of Science & Technology S.A.")
    OrganisationFactory(short_name="BSC", legal_name="Barcelona Supercomputing Center")
    register(proposed=ProposedOrganisation(legal_name=LIST.legal_name, short_name="LIST", country="LU",
                                           kind="public_body", pic="999999998"))  # fmt: skip
    client.force_login(programme_officer)
    page = client.get(QUEUE).content.decode()
    assert "Same PIC or a similar name: <strong>LIST-RD</strong>" in page
    assert "<strong>LuxProvide</strong>" not in page and "<strong>BSC</strong>" not in page


def test_the_queue_shows_a_register_organisation_with_the_same_pic(client, programme_officer):
    OrganisationFactory(short_name="LuxProvide", legal_name="LuxProvide S.A.", pic="999999999")
    pending = MembershipRequest.objects.create(
        user=UserFactory(username="lena"), proposed_legal_name="Lux Compute", proposed_short_name="LXC",
        proposed_country="LU", proposed_kind="company", proposed_pic="999999999", created_at=timezone.now(),
    )  # fmt: skip
    client.force_login(programme_officer)
    assert "<strong>LuxProvide</strong> (LuxProvide S.A., PIC 999999999)" in client.get(QUEUE).content.decode()
    assert "<strong>LuxProvide</strong>" in client.get(_detail(pending)).content.decode()


def test_the_queue_costs_the_same_queries_for_one_row_or_several(client, programme_officer, organisation):
    def proposed(i: int) -> ProposedOrganisation:
        return ProposedOrganisation(legal_name=f"Institute {i}", short_name=f"I{i}", country="LU", kind="public_body")

    register("lena0", proposed=proposed(0))
    one = queries_of_page(client, programme_officer, QUEUE)
    for i in range(1, 6):
        register(f"lena{i}", **({"proposed": proposed(i)} if i % 2 else {"organisation": organisation}),
                 verified=i % 3 != 0)  # fmt: skip
    assert queries_of_page(client, programme_officer, QUEUE) == one


def test_the_officer_dashboard_counts_the_registrations_waiting(client, programme_officer, organisation):
    register("lena", organisation=organisation)
    register("nora", organisation=organisation, verified=False)
    client.force_login(programme_officer)
    page = client.get("/dashboard/").content.decode()
    assert (
        f'href="{QUEUE}"><strong>2</strong> registrations to confirm</a> — 1 with its e-mail address verified' in page
    )


# --- confirming -------------------------------------------------------------------------------------------------


def test_confirming_for_an_organisation_of_the_register_makes_an_applicant(
    client, programme_officer, organisation, django_capture_on_commit_callbacks, settings
):
    settings.GRANTS_PUBLIC_BASE_URL = "https://aif-grants.example.eu"
    pending = register(organisation=organisation)
    client.force_login(programme_officer)
    page = client.get(_detail(pending)).content.decode()
    assert "Lena Hoffmann becomes an applicant of CSC." in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{_detail(pending)}confirm/")
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert "Lena Hoffmann now acts for CSC as an applicant; they are told by e-mail." in (
        client.get(QUEUE).content.decode()
    )
    user = User.objects.get(username="lena")
    assert user.organisation == organisation and user.roles == frozenset({Role.APPLICANT})
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("confirmed", programme_officer)
    event = AuditEvent.objects.get(verb="membership.confirm")
    assert (event.actor_repr, event.changes) == ("officer", {"organisation": "CSC", "added_to_register": False})
    message = mail.outbox[-1]
    assert (message.to, message.subject) == (["lena@example.eu"], "Your account is confirmed for CSC")
    assert "The programme office confirmed that you act for CSC - IT Center for Science Ltd. (CSC). You are an " \
        "applicant: log in to prepare proposals and access applications for it." in message.body  # fmt: skip
    assert "https://aif-grants.example.eu/accounts/login/" in message.body


def test_confirming_a_proposed_organisation_adds_it_to_the_register_as_corrected(
    client, programme_officer, django_capture_on_commit_callbacks
):
    pending = register()
    client.force_login(programme_officer)
    page = client.get(_detail(pending)).content.decode()
    assert 'value="Luxembourg Institute of Science and Technology"' in page
    data = {"confirm-legal_name": "Luxembourg Institute of Science and Technology (LIST)", "confirm-short_name": "LIST",
            "confirm-country": "LU", "confirm-kind": "public_body", "confirm-pic": ""}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{_detail(pending)}confirm/", data)
    assert response.status_code == 302
    created = Organisation.objects.get(short_name="LIST")
    assert (created.legal_name, created.country, created.kind, created.pic) == (
        "Luxembourg Institute of Science and Technology (LIST)", "LU", "public_body", "",
    )  # fmt: skip
    user = User.objects.get(username="lena")
    assert user.organisation == created and Role.APPLICANT in user.roles
    assert AuditEvent.objects.filter(verb="organisation.create", actor_repr="officer").count() == 1
    assert AuditEvent.objects.get(verb="membership.confirm").changes == {
        "organisation": "LIST", "added_to_register": True,
    }  # fmt: skip
    assert "(LIST), now in the register. You are an applicant" in mail.outbox[-1].body


def test_the_confirmed_applicant_logs_in_to_the_applicant_dashboard(client, programme_officer, organisation):
    pending = register(organisation=organisation)
    membership_request_confirm(request=pending, actor=programme_officer)
    assert client.post("/accounts/login/", {"username": "lena", "password": PASSWORD}).status_code == 302
    page = client.get("/dashboard/").content.decode()
    assert 'id="panel-1">Applicant</h2>' in page
    assert "Your account has no role yet" not in page


def test_confirming_twice_is_refused(client, programme_officer, admin_user, organisation):
    pending = register(organisation=organisation)
    membership_request_confirm(request=pending, actor=admin_user)
    client.force_login(programme_officer)
    response = client.post(f"{_detail(pending)}confirm/")
    assert response.status_code == 409
    decided = timezone.localtime(MembershipRequest.objects.get().decided_at).strftime("%d %b %Y %H:%M %Z")
    assert (
        f"This request was confirmed on {decided} by {admin_user.display_name}: a request is decided once."
        in response.content.decode()
    )


def test_confirming_before_the_address_is_verified_is_refused(client, programme_officer, organisation):
    pending = register(organisation=organisation, verified=False)
    client.force_login(programme_officer)
    response = client.post(f"{_detail(pending)}confirm/")
    page = response.content.decode()
    assert response.status_code == 409
    assert (
        "Lena Hoffmann has not verified the e-mail address lena@example.eu yet: a request is confirmed once its "
        "address is verified." in page
    )
    assert MembershipRequest.objects.get().status == "pending"
    assert User.objects.get(username="lena").organisation_id is None


def test_confirming_for_a_user_already_in_an_organisation_is_refused(
    client, programme_officer, organisation, other_organisation
):
    pending = register(organisation=organisation)
    User.objects.filter(pk=pending.user_id).update(organisation=other_organisation)
    client.force_login(programme_officer)
    response = client.post(f"{_detail(pending)}confirm/")
    assert response.status_code == 409
    assert "Lena Hoffmann already acts for CINECA: refuse this request." in response.content.decode()
    assert MembershipRequest.objects.get().status == "pending"


def test_confirming_a_proposed_organisation_now_in_the_register_is_refused(client, programme_officer):
    pending = register()
    OrganisationFactory(short_name="LIST")
    client.force_login(programme_officer)
    data = {"confirm-legal_name": LIST.legal_name, "confirm-short_name": "LIST", "confirm-country": "LU",
            "confirm-kind": "public_body", "confirm-pic": ""}  # fmt: skip
    response = client.post(f"{_detail(pending)}confirm/", data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "LIST is already in the register: choose it from the list." in page
    assert page.count("LIST is already in the register") == 2  # the message, and under the short name
    assert MembershipRequest.objects.get().status == "pending"


def test_confirming_with_a_bad_pic_is_refused(client, programme_officer):
    pending = register()
    client.force_login(programme_officer)
    data = {"confirm-legal_name": LIST.legal_name, "confirm-short_name": "LIST", "confirm-country": "LU",
            "confirm-kind": "public_body", "confirm-pic": "12 34"}  # fmt: skip
    response = client.post(f"{_detail(pending)}confirm/", data)
    assert response.status_code == 400
    assert "A PIC (EU Participant Identification Code) is 9 digits, got &#x27;1234&#x27;." in response.content.decode()
    assert not Organisation.objects.filter(short_name="LIST").exists()


# --- refusing ---------------------------------------------------------------------------------------------------


def test_refusing_needs_a_reason(client, programme_officer, organisation):
    pending = register(organisation=organisation)
    client.force_login(programme_officer)
    response = client.post(f"{_detail(pending)}refuse/", {"refuse-reason": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert MembershipRequest.objects.get().status == "pending"


def test_the_refusal_service_needs_a_reason(programme_officer, organisation):
    from eurohpc.errors import RuleViolation

    with pytest.raises(RuleViolation, match="^A refusal gives its reason: the applicant reads it.$"):
        membership_request_refuse(request=register(organisation=organisation), reason=" ", actor=programme_officer)


def test_refusing_tells_the_user_the_reason(
    client, programme_officer, organisation, django_capture_on_commit_callbacks
):
    pending = register(organisation=organisation, verified=False)  # an unverified request may be refused
    client.force_login(programme_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{_detail(pending)}refuse/", {"refuse-reason": "The address is not of CSC."})
    assert response.status_code == 302 and response["Location"] == QUEUE
    pending.refresh_from_db()
    assert (pending.status, pending.reason, pending.decided_by) == ("refused", "The address is not of CSC.",
                                                                    programme_officer)  # fmt: skip
    assert User.objects.get(username="lena").organisation_id is None
    assert AuditEvent.objects.get(verb="membership.refuse").changes == {"reason": "The address is not of CSC."}
    message = mail.outbox[-1]
    assert message.subject == "Your request to act for CSC is refused"
    assert "refused your request to act for CSC - IT Center for Science Ltd. (CSC), for this reason:\n\n" \
        "The address is not of CSC.\n" in message.body  # fmt: skip
    assert "/accounts/organisation/" in message.body


def test_refusing_a_decided_request_is_refused(client, programme_officer, organisation):
    pending = register(organisation=organisation)
    membership_request_refuse(request=pending, reason="Not staff.", actor=programme_officer)
    client.force_login(programme_officer)
    response = client.post(f"{_detail(pending)}refuse/", {"refuse-reason": "Again."})
    assert response.status_code == 409
    assert "This request was refused on" in response.content.decode()
    page = client.get(_detail(pending)).content.decode()
    assert 'action="/officer/registrations/' not in page and "Not staff." in page
