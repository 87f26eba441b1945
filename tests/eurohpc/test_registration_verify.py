"""The verification link: it activates the account once, for 48 hours; a link refused names why and offers a new
one, which the page promises in the same words whatever the address."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from eurohpc.errors import RuleViolation
from eurohpc.identity.services.registration import email_verify, verification_link_resend, verification_token
from eurohpc.models import AuditEvent, Notification, User
from tests.eurohpc.registration_factories import PASSWORD, register

pytestmark = pytest.mark.django_db

RESENT = (
    "If an account registered with this address awaits verification, a new link is on its way; it works for 48 "
    "hours. An address receives at most 3 links an hour."
)


@pytest.fixture
def registrant(organisation):
    return register(organisation=organisation, verified=False).user


def _path(token: str) -> str:
    return f"/accounts/verify/{token}/"


def test_the_link_activates_the_account_without_signing_in(client, registrant):
    response = client.get(_path(verification_token(user=registrant)))
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    user = User.objects.get(pk=registrant.pk)
    assert user.is_active is True and user.email_verified_at is not None
    event = AuditEvent.objects.get(verb="user.verify_email")
    assert (event.actor_repr, event.changes) == ("lena", {"email": "lena@example.eu"})
    page = client.get("/accounts/login/").content.decode()
    assert "Your e-mail address lena@example.eu is verified and your account lena is active: log in." in page
    assert client.post("/accounts/login/", {"username": "lena", "password": PASSWORD}).status_code == 302


def test_the_link_of_the_e_mail_works(client, organisation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        register(organisation=organisation, verified=False)
    path = re.search(r"https?://[^/]+(/accounts/verify/\S+/)", mail.outbox[0].body).group(1)
    assert client.get(path).status_code == 302
    assert User.objects.get(username="lena").is_active is True


def test_a_used_link_is_refused(client, registrant):
    token = verification_token(user=registrant)
    client.get(_path(token))
    response = client.get(_path(token))
    page = response.content.decode()
    assert response.status_code == 400
    assert "This verification link has been used already: your e-mail address is verified. Log in." in page


def test_an_expired_link_is_refused_and_a_new_one_offered(client, registrant, freezer):
    token = verification_token(user=registrant)
    freezer(timezone.now() + timedelta(hours=48, seconds=1))
    response = client.get(_path(token))
    page = response.content.decode()
    assert response.status_code == 400
    assert "This verification link has expired: a link works for 48 hours after it is sent. Ask for a new one." in page
    assert 'action="/accounts/verify/new-link/"' in page
    assert User.objects.get(pk=registrant.pk).is_active is False


def test_a_link_just_within_48_hours_works(registrant, freezer):
    token = verification_token(user=registrant)
    freezer(timezone.now() + timedelta(hours=47, minutes=59))
    assert email_verify(token=token).is_active is True


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "x" + t,
                                    lambda t: t.split(":")[0], lambda t: "garbage"])  # fmt: skip
def test_a_tampered_link_is_refused(client, registrant, tamper):
    response = client.get(_path(tamper(verification_token(user=registrant))))
    assert response.status_code == 400
    assert (
        "This verification link is not valid: it was changed or cut short. Open the whole link from the e-mail, or ask "
        "for a new one." in response.content.decode()
    )
    assert User.objects.get(pk=registrant.pk).is_active is False


def test_a_link_sent_to_an_address_since_changed_is_refused(registrant):
    token = verification_token(user=registrant)
    User.objects.filter(pk=registrant.pk).update(email="new@example.eu")
    with pytest.raises(RuleViolation) as refused:
        email_verify(token=token)
    assert refused.value.code == "link_invalid"


def test_another_purpose_signature_is_not_a_verification_link(client, registrant):
    from django.core import signing

    token = signing.Signer(salt="another.purpose").sign_object({"u": registrant.pk, "e": "lena@example.eu", "t": 0})
    assert client.get(_path(token)).status_code == 400


# --- a new link ------------------------------------------------------------------------------------------------


def test_a_new_link_is_sent_to_an_unverified_account(client, registrant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/verify/new-link/", {"email": "LENA@example.eu"})
    assert response.status_code == 302 and response["Location"] == "/accounts/register/sent/"
    assert RESENT in client.get(response["Location"]).content.decode()
    assert [m.to for m in mail.outbox] == [["lena@example.eu"]]
    assert "confirms that you act for CSC" in mail.outbox[0].body


def test_the_answer_is_the_same_for_an_unknown_address(client, registrant):
    response = client.post("/accounts/verify/new-link/", {"email": "nobody@example.eu"}, follow=True)
    assert RESENT in response.content.decode()
    assert Notification.objects.filter(recipient=registrant).count() == 1  # the registration's only


def test_no_new_link_for_a_verified_account(client, organisation):
    user = register(organisation=organisation).user
    response = client.post("/accounts/verify/new-link/", {"email": user.email}, follow=True)
    assert RESENT in response.content.decode()
    assert Notification.objects.filter(recipient=user).count() == 1


def test_an_address_receives_at_most_three_links_an_hour(registrant, freezer):
    assert [verification_link_resend(email="lena@example.eu") for _ in range(3)] == [True, True, False]
    assert Notification.objects.filter(recipient=registrant).count() == 3
    freezer(timezone.now() + timedelta(hours=1, seconds=1))
    assert verification_link_resend(email="lena@example.eu") is True


def test_the_new_link_form_refuses_what_is_not_an_address(client):
    response = client.post("/accounts/verify/new-link/", {"email": "not an address"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_the_new_link_page_asks_the_address(client):
    page = client.get("/accounts/verify/new-link/").content.decode()
    assert "E-mail address you registered with" in page
