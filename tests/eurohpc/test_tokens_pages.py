"""API tokens on the profile page: the list with each token's state, the creation form (the secret shown once, on
the answer, kept nowhere), revocation, and their refusals."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.html import escape
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from eurohpc.identity.services.tokens import api_token_create, api_token_revoke
from eurohpc.identity.views_tokens import tokens_section
from eurohpc.models import ApiToken
from tests.conftest import queries_of_page
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # 12:00 in Luxembourg


def token_of(user, **kwargs):
    options = {"name": "script", "scope": "read", "second_factor": False, "actor": user, **kwargs}
    return api_token_create(user=user, **options)


def sign_in_with_second_factor(client, user) -> None:
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post("/accounts/two-factor/verify/", {"code": code}).status_code == 302


def test_profile_lists_tokens_with_their_state_and_a_revoke_button_for_active_ones(client, applicant, freezer):
    freezer(NOON)
    active, _ = token_of(applicant, name="dashboards")
    expired, _ = token_of(applicant, name="old export", days=1, scope="write")
    revoked, _ = token_of(applicant, name="laptop")
    api_token_revoke(token=revoked, actor=applicant)
    freezer(NOON + timedelta(days=2))
    client.force_login(applicant)
    page = client.get("/accounts/profile/").content.decode()
    assert f"<code>{active.prefix}…</code>" in page
    assert escape("old export") in page and "Read and write" in page
    assert "07 Dec 2026 12:00" in page and "08 Dec 2026 12:00" in page
    assert '<span class="badge badge-ok">active</span>' in page
    assert '<span class="badge badge-warn">expired</span>' in page
    assert '<span class="badge badge-bad">revoked</span>' in page
    assert f'action="/accounts/profile/tokens/{active.pk}/revoke/"' in page
    assert f"/accounts/profile/tokens/{expired.pk}/revoke/" not in page
    assert f"/accounts/profile/tokens/{revoked.pk}/revoke/" not in page


def test_profile_token_form_preselects_read_and_90_days(client, applicant):
    client.force_login(applicant)
    page = client.get("/accounts/profile/").content.decode()
    assert '<input type="radio" name="scope" value="read" required id="id_scope_0" checked>' in page
    assert '<input type="radio" name="scope" value="write" required id="id_scope_1">' in page
    assert '<input type="number" name="days" value="90" min="1" max="365"' in page


def test_profile_tokens_query_count_is_constant(client, applicant):
    token_of(applicant, name="first")
    queries_of_page(client, applicant, "/accounts/profile/")  # the session's first request writes it
    one = queries_of_page(client, applicant, "/accounts/profile/")
    for n in range(5):
        token_of(applicant, name=f"token {n}", scope="write")
    assert queries_of_page(client, applicant, "/accounts/profile/") == one


def test_tokens_section_gives_the_users_tokens_only(rf, applicant, other_applicant):
    token_of(applicant, name="mine")
    token_of(other_applicant, name="theirs")
    request = rf.get("/accounts/profile/")
    request.user = applicant
    assert [t.name for t in tokens_section(request)["api_tokens"]] == ["mine"]


def test_token_create_shows_the_secret_once_with_how_to_use_it(client, applicant, freezer):
    freezer(NOON)
    client.force_login(applicant)
    response = client.post("/accounts/profile/tokens/", {"name": "dashboards", "scope": "read", "days": "30"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    token = ApiToken.objects.get()
    assert (token.name, token.scope, token.expires_at) == ("dashboards", "read", NOON + timedelta(days=30))
    page = response.content.decode()
    assert f'<code class="secret">{secret}</code>' in page
    assert f"<code>Authorization: Token {secret}</code>" in page
    assert "shown only this once" in page
    assert secret not in str(dict(client.session.items()))
    assert secret not in client.get("/accounts/profile/").content.decode()


def test_token_create_with_an_empty_name_takes_the_dated_default(client, applicant, freezer):
    freezer(NOON)
    client.force_login(applicant)
    client.post("/accounts/profile/tokens/", {"name": "", "scope": "write", "days": "90"})
    assert ApiToken.objects.get().name == "API token 2026-12-07 12:00"


def test_token_create_refuses_a_name_in_use_on_the_profile_page(client, applicant):
    token_of(applicant, name="dashboards")
    client.force_login(applicant)
    response = client.post("/accounts/profile/tokens/", {"name": "dashboards", "scope": "read", "days": "30"})
    assert response.status_code == 409
    assert "identity/profile.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert (
        escape(
            "You already have a token named “dashboards” that is not revoked: choose another name, or revoke that "
            "token first."
        )
        in page
    )
    assert response.context["api_token_form"].errors == {
        "name": ["A token of yours that is not revoked has this name."]
    }
    assert ApiToken.objects.count() == 1


def test_token_create_refuses_a_lifetime_beyond_the_maximum(client, applicant):
    client.force_login(applicant)
    response = client.post("/accounts/profile/tokens/", {"name": "x", "scope": "read", "days": "366"})
    assert response.status_code == 400
    assert response.context["api_token_form"].errors == {"days": ["Ensure this value is less than or equal to 365."]}
    assert not ApiToken.objects.exists()


def test_token_create_after_the_second_factor_carries_it(client, applicant):
    sign_in_with_second_factor(client, applicant)
    response = client.post("/accounts/profile/tokens/", {"name": "ci", "scope": "write", "days": "30"})
    assert response.status_code == 200
    assert ApiToken.objects.get().second_factor is True


def test_token_create_for_staff_where_required_after_the_second_factor(client, programme_officer, settings):
    settings.STAFF_REQUIRE_2FA = True
    sign_in_with_second_factor(client, programme_officer)
    response = client.post("/accounts/profile/tokens/", {"name": "ci", "scope": "write", "days": "30"})
    assert response.status_code == 200
    secret = response.context["secret"]
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get("/api/v1/users/me/").status_code == 200


def test_token_create_refuses_a_session_without_the_second_factor_of_an_enrolled_user(rf, applicant):
    # The sign-in asks an enrolled user's code before any page (eurohpc.identity.middleware); the service still
    # refuses a creation that did not pass it.
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    from eurohpc.identity.views_tokens import token_create

    TOTPDevice.objects.create(user=applicant, name="Authenticator app", confirmed=True)
    request = rf.post("/accounts/profile/tokens/", {"name": "ci", "scope": "read", "days": "30"})
    request.user, request.session = applicant, SessionStore()
    request._messages = FallbackStorage(request)
    request._dont_enforce_csrf_checks = True
    response = token_create(request)
    assert response.status_code == 403
    assert escape("Your account has a second factor: a token is created only after it is checked.") in (
        response.content.decode()
    )
    assert not ApiToken.objects.exists()


def test_token_create_is_a_post(client, applicant):
    client.force_login(applicant)
    assert client.get("/accounts/profile/tokens/").status_code == 405


def test_token_create_needs_a_signed_in_user(client):
    response = client.post("/accounts/profile/tokens/", {"name": "x", "scope": "read", "days": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_token_revoke_from_the_profile_page(client, applicant, freezer):
    token, _ = token_of(applicant, name="laptop")
    freezer(NOON)
    client.force_login(applicant)
    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/profile/#api-tokens")
    token.refresh_from_db()
    assert (token.revoked_at, token.revoked_by) == (NOON, applicant)
    page = client.get("/accounts/profile/").content.decode()
    assert escape("The token “laptop” is revoked: it no longer works.") in page


def test_token_revoke_of_a_revoked_token_is_refused_on_the_profile_page(client, applicant, freezer):
    token, _ = token_of(applicant, name="laptop")
    freezer(NOON)
    api_token_revoke(token=token, actor=applicant)
    client.force_login(applicant)
    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke/")
    assert response.status_code == 409
    assert escape("The token “laptop” was already revoked on 07 Dec 2026 12:00 CET.") in response.content.decode()


def test_token_revoke_of_another_users_token_is_not_found(client, applicant, other_applicant, admin_user):
    token, _ = token_of(other_applicant)
    for user in (applicant, admin_user):
        client.force_login(user)
        assert client.post(f"/accounts/profile/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
