"""Single sign-on against the loopback provider: which account a sign-in is for, and the refusals of an account."""

import jwt
import pytest
from django.utils.html import escape

from eurohpc.models import AuditEvent, ExternalIdentity, Role, User
from tests.eurohpc.oidc_fixtures import sso_sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AINO = "aino.virtanen@csc.fi"


def _signed_in(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def _subject(client) -> str:
    return jwt.decode(client.session["oidc_id_token"], options={"verify_signature": False})["sub"]


def _refusal(response) -> str:
    return response.content.decode()


def test_sso_sign_in_creates_an_account_without_roles_or_organisation(client, sso):
    response = sso_sign_in(client, sso, "jonas")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    user = User.objects.get(email="jonas.keller@example.eu")
    assert (user.username, user.first_name, user.last_name, user.organisation, set(user.roles)) == (
        "jonas", "Jonas", "Keller", None, set(),
    )  # fmt: skip
    assert user.email_verified_at is not None and not user.has_usable_password()
    assert _signed_in(client) == user.pk
    link = ExternalIdentity.objects.get(user=user)
    assert (link.issuer, link.subject) == (sso.issuer, _subject(client))
    events = list(AuditEvent.objects.filter(target_id=str(user.pk)).order_by("seq").values_list("verb", "changes"))
    assert events == [
        ("user.create", {"organisation": None, "signed_in_with": sso.issuer}),
        ("external_identity.link", {"issuer": sso.issuer, "subject": link.subject, "found_by": "created"}),
    ]
    dashboard = client.get("/dashboard/").content.decode()
    assert "Your account was opened from your EU Login sign-in. It has no role and no organisation yet." in dashboard
    assert "Your account has no role yet." in dashboard


def test_sso_sign_in_gives_a_taken_username_a_number(client, sso):
    UserFactory(username="jonas", email="someone.else@example.org")
    sso_sign_in(client, sso, "jonas")
    assert User.objects.get(email="jonas.keller@example.eu").username == "jonas-2"


def test_sso_sign_in_matches_an_account_by_its_verified_email_whatever_its_case(client, sso):
    officer = UserFactory(username="aino.v", email="Aino.Virtanen@CSC.fi", roles=[Role.PROGRAMME_OFFICER])
    response = sso_sign_in(client, sso, "aino")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    assert _signed_in(client) == officer.pk
    assert User.objects.count() == 1
    officer.refresh_from_db()
    assert officer.email_verified_at is not None and officer.has_usable_password()
    assert ExternalIdentity.objects.get(user=officer).subject == _subject(client)
    assert AuditEvent.objects.get(verb="external_identity.link").changes["found_by"] == "email"


def test_sso_sign_in_matches_by_subject_once_linked_even_with_another_email(client, sso):
    officer = UserFactory(username="aino.v", email=AINO)
    sso_sign_in(client, sso, "aino")
    first = ExternalIdentity.objects.get(user=officer).last_login_at
    officer.email = "a.virtanen@example.org"
    officer.save(update_fields=["email"])
    client.logout()
    response = sso_sign_in(client, sso, "aino")
    assert (response.status_code, _signed_in(client)) == (302, officer.pk)
    assert User.objects.count() == 1
    assert ExternalIdentity.objects.get(user=officer).last_login_at > first
    assert AuditEvent.objects.filter(verb="external_identity.link").count() == 1


def test_sso_sign_in_refuses_an_email_the_provider_has_not_verified(client, sso):
    UserFactory(username="luca", email="luca.bianchi@example.eu")
    response = sso_sign_in(client, sso, "luca")
    assert response.status_code == 403
    assert escape(
        "Single sign-on refused: the identity provider has not verified the e-mail address luca.bianchi@example.eu; "
        "verify it there, then sign in again."
    ) in _refusal(response)
    assert "registration/login.html" in [t.name for t in response.templates]
    assert (_signed_in(client), ExternalIdentity.objects.count(), User.objects.count()) == (None, 0, 1)


def test_sso_sign_in_refuses_an_email_two_accounts_share(client, sso):
    UserFactory(username="aino1", email=AINO)
    UserFactory(username="aino2", email=AINO.upper())
    response = sso_sign_in(client, sso, "aino")
    assert response.status_code == 409
    assert escape(
        f"Single sign-on refused: several accounts here have the e-mail address {AINO}; the programme office must "
        "merge them first."
    ) in _refusal(response)
    assert (_signed_in(client), ExternalIdentity.objects.count()) == (None, 0)


def test_sso_sign_in_refuses_a_deactivated_account(client, sso):
    officer = UserFactory(username="aino.v", email=AINO)
    officer.is_active = False
    officer.save(update_fields=["is_active"])
    response = sso_sign_in(client, sso, "aino")
    assert response.status_code == 403
    assert escape("Single sign-on refused: the account aino.v is deactivated.") in _refusal(response)
    assert (_signed_in(client), ExternalIdentity.objects.count()) == (None, 0)


def test_sso_sign_in_refuses_a_linked_account_deactivated_since(client, sso):
    officer = UserFactory(username="aino.v", email=AINO)
    sso_sign_in(client, sso, "aino")
    client.logout()
    User.objects.filter(pk=officer.pk).update(is_active=False)
    response = sso_sign_in(client, sso, "aino")
    assert response.status_code == 403
    assert escape("Single sign-on refused: the account aino.v is deactivated.") in _refusal(response)
    assert _signed_in(client) is None


def test_sso_sign_in_refuses_an_account_linked_to_another_subject(client, sso):
    officer = UserFactory(username="aino.v", email=AINO)
    ExternalIdentity.objects.create(user=officer, issuer=sso.issuer, subject="someone-else",
                                    created_at=officer.date_joined, last_login_at=officer.date_joined)  # fmt: skip
    response = sso_sign_in(client, sso, "aino")
    assert response.status_code == 409
    assert escape(
        f"Single sign-on refused: the account with the e-mail address {AINO} is linked to another account at the "
        "identity provider."
    ) in _refusal(response)
    assert _signed_in(client) is None
