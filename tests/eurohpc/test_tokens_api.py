"""API tokens on the API: the token endpoint (password, the second factor's `otp`, name, scope, expiry), the
authentication by token (unknown, revoked, expired, deactivated, a staff token without the second factor, the
read scope) and the holder's own tokens at /api/v1/auth/tokens/."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from eurohpc.identity.services.tokens import api_token_create, api_token_revoke
from eurohpc.models import ApiToken
from tests.conftest import api_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # 12:00 in Luxembourg
WHERE = "create a new one on your profile page (/accounts/profile/) or with POST /api/v1/auth/token/"
SCOPE_REFUSAL = {
    "detail": "This token's scope is read: it cannot change anything. POST, PUT, PATCH and DELETE need a token "
    "with the write scope.",
    "code": "token_scope",
    "errors": {},
}


@pytest.fixture(autouse=True)
def _no_throttle_history():
    cache.clear()  # the token endpoint's throttle counts in the cache


def error(detail: str, code: str) -> dict:
    return {"detail": detail, "code": code, "errors": {}}


def client_with(secret: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


def token_of(user, **kwargs):
    options = {"name": "script", "scope": "write", "second_factor": False, "actor": user, **kwargs}
    return api_token_create(user=user, **options)


def ask_token(client, user, **fields):
    return client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD, **fields}, format="json"
    )


def totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def code_of(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


# --- the token endpoint ---------------------------------------------------------------------------------------


def test_token_endpoint_creates_a_write_token_for_90_days_by_default(api, applicant, freezer):
    freezer(NOON)
    response = ask_token(api, applicant)
    assert response.status_code == 200
    body = response.json()
    token = ApiToken.objects.get()
    assert body == {
        "id": token.pk, "token": body["token"], "name": "API token 2026-12-07 12:00", "prefix": body["token"][:8],
        "scope": "write", "created_at": "2026-12-07T12:00:00+01:00", "expires_at": "2027-03-07T12:00:00+01:00",
    }  # fmt: skip
    assert (token.user, token.scope, token.second_factor) == (applicant, "write", False)


def test_token_endpoint_creates_a_new_token_at_each_call(api, applicant):
    first, second = ask_token(api, applicant).json(), ask_token(api, applicant).json()
    assert first["token"] != second["token"] and first["name"] != second["name"]
    assert ApiToken.objects.filter(user=applicant).count() == 2


def test_token_endpoint_takes_name_scope_and_expiry(api, applicant, freezer):
    freezer(NOON)
    body = ask_token(api, applicant, name="nightly report", scope="read", expires_in_days=7).json()
    assert (body["name"], body["scope"], body["expires_at"]) == ("nightly report", "read", "2026-12-14T12:00:00+01:00")


def test_token_endpoint_refuses_a_lifetime_beyond_a_year(api, applicant):
    response = ask_token(api, applicant, expires_in_days=366)
    assert response.status_code == 400
    assert response.json()["errors"] == {"expires_in_days": ["Ensure this value is less than or equal to 365."]}


def test_token_endpoint_refuses_a_name_already_in_use(api, applicant):
    ask_token(api, applicant, name="CI")
    response = ask_token(api, applicant, name="CI")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "You already have a token named “CI” that is not revoked: choose another name, or revoke that "
        "token first.",
        "code": "token_name_taken",
        "errors": {"name": ["A token of yours that is not revoked has this name."]},
    }


def test_token_endpoint_asks_the_otp_of_an_enrolled_user(api, applicant):
    totp_device(applicant)
    response = ask_token(api, applicant)
    assert response.status_code == 401
    assert response.json() == error(
        "This account has a second factor: give the current code of your authenticator app (or a recovery code) in "
        "`otp`.",
        "otp_required",
    )
    assert response["WWW-Authenticate"] == "Token"
    assert not ApiToken.objects.exists()


def test_token_endpoint_refuses_a_wrong_otp(api, applicant):
    device = totp_device(applicant)
    wrong = f"{(int(code_of(device)) + 1) % 1_000_000:06d}"
    response = ask_token(api, applicant, otp=wrong)
    assert response.status_code == 401
    assert response.json() == error(
        "The code in `otp` is neither the one your authenticator app shows now nor an unused recovery code.",
        "otp_invalid",
    )
    assert not ApiToken.objects.exists()


def test_token_endpoint_gives_a_token_with_the_second_factor_for_the_right_otp(api, applicant):
    device = totp_device(applicant)
    response = ask_token(api, applicant, otp=code_of(device))
    assert response.status_code == 200
    assert ApiToken.objects.get().second_factor is True


def test_token_endpoint_takes_a_recovery_code_once(api, applicant):
    totp_device(applicant)
    recovery = StaticDevice.objects.create(user=applicant, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=recovery, token="abcd1234")
    assert ask_token(api, applicant, otp="abcd1234").status_code == 200
    assert ask_token(api, applicant, otp="abcd1234").json()["code"] == "otp_invalid"


def test_token_endpoint_refuses_staff_who_must_but_did_not_enrol(api, programme_officer, settings):
    settings.STAFF_REQUIRE_2FA = True
    response = ask_token(api, programme_officer, otp="123456")
    assert response.status_code == 403
    assert response.json() == error(
        "Staff accounts need a second factor on this installation (STAFF_REQUIRE_2FA): enrol an authenticator app "
        "on your profile page (/accounts/profile/) first.",
        "otp_not_enrolled",
    )


def test_token_endpoint_asks_the_otp_of_staff_where_required(api, finance_officer, settings):
    settings.STAFF_REQUIRE_2FA = True
    device = totp_device(finance_officer)
    assert ask_token(api, finance_officer).json()["code"] == "otp_required"
    response = ask_token(api, finance_officer, otp=code_of(device))
    assert response.status_code == 200
    me = client_with(response.json()["token"]).get("/api/v1/users/me/")
    assert me.status_code == 200


def test_token_endpoint_keeps_staff_without_the_requirement_on_password_alone(api, programme_officer):
    assert ask_token(api, programme_officer).status_code == 200


def test_token_endpoint_does_not_ask_the_otp_before_the_password(api, applicant):
    totp_device(applicant)
    response = api.post("/api/v1/auth/token/", {"username": "applicant", "password": "wrong"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_token_endpoint_still_locks_after_repeated_failures(api, applicant):
    for _ in range(5):
        api.post("/api/v1/auth/token/", {"username": "applicant", "password": "wrong"}, format="json")
    response = ask_token(api, applicant)
    assert response.status_code == 429
    assert response.json() == error("Too many failed logins for this account: try again in 15 minutes.", "locked_out")


# --- authentication by token -----------------------------------------------------------------------------------


def test_token_authenticates_with_the_token_keyword(applicant):
    _, secret = token_of(applicant)
    assert client_with(secret).get("/api/v1/users/me/").json()["username"] == "applicant"


def test_token_authenticates_with_the_bearer_keyword(applicant):
    _, secret = token_of(applicant)
    assert client_with(secret, "Bearer").get("/api/v1/users/me/").json()["username"] == "applicant"


def test_token_unknown_is_refused(applicant):
    _, secret = token_of(applicant)
    response = client_with(secret[:-1] + ("A" if secret[-1] != "A" else "B")).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json() == error("Invalid token.", "token_invalid")
    assert response["WWW-Authenticate"] == "Token"


def test_token_revoked_is_refused_saying_when(applicant, freezer):
    token, secret = token_of(applicant)
    freezer(NOON)
    api_token_revoke(token=token, actor=applicant)
    response = client_with(secret).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json() == error(f"This token was revoked on 07 Dec 2026 12:00 CET: {WHERE}.", "token_revoked")


def test_token_works_until_the_last_moment_before_its_expiry(applicant, freezer):
    freezer(NOON)
    _, secret = token_of(applicant, days=1)
    freezer(NOON + timedelta(days=1) - timedelta(microseconds=1))
    assert client_with(secret).get("/api/v1/users/me/").status_code == 200


def test_token_expired_is_refused_from_its_expiry_saying_when(applicant, freezer):
    freezer(NOON)
    _, secret = token_of(applicant, days=1)
    freezer(NOON + timedelta(days=1))
    response = client_with(secret).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json() == error(f"This token expired on 08 Dec 2026 12:00 CET: {WHERE}.", "token_expired")


def test_token_of_a_deactivated_account_is_refused(applicant):
    _, secret = token_of(applicant)
    applicant.is_active = False
    applicant.save(update_fields=["is_active"])
    response = client_with(secret).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json() == error("The account of this token is deactivated.", "user_inactive")


def test_token_of_staff_without_the_second_factor_is_refused_once_required(programme_officer, settings):
    _, secret = token_of(programme_officer)  # made before the installation required the second factor
    settings.STAFF_REQUIRE_2FA = True
    response = client_with(secret).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json() == error(
        "Staff tokens need the second factor at creation on this installation (STAFF_REQUIRE_2FA) and this one was "
        f"created without it: {WHERE} after passing your second factor.",
        "token_second_factor",
    )


def test_token_of_staff_with_the_second_factor_works_where_required(programme_officer, settings):
    settings.STAFF_REQUIRE_2FA = True
    _, secret = token_of(programme_officer, second_factor=True)
    assert client_with(secret).get("/api/v1/users/me/").status_code == 200


def test_token_of_an_applicant_without_the_second_factor_works_where_staff_need_it(applicant, settings):
    settings.STAFF_REQUIRE_2FA = True
    _, secret = token_of(applicant)
    assert client_with(secret).get("/api/v1/users/me/").status_code == 200


def test_token_read_scope_refuses_a_write_with_the_rule(applicant):
    _, secret = token_of(applicant, scope="read")
    response = client_with(secret).post("/api/v1/auth/tokens/", {"name": "more"}, format="json")
    assert response.status_code == 403
    assert response.json() == SCOPE_REFUSAL
    assert ApiToken.objects.count() == 1


def test_token_read_scope_allows_reading(applicant):
    _, secret = token_of(applicant, scope="read")
    assert client_with(secret).get("/api/v1/auth/tokens/").status_code == 200


def test_token_last_used_is_written_at_most_once_a_minute(applicant, freezer):
    freezer(NOON)
    token, secret = token_of(applicant)
    client = client_with(secret)
    client.get("/api/v1/users/me/")
    token.refresh_from_db()
    assert token.last_used_at == NOON
    freezer(NOON + timedelta(seconds=59))
    with CaptureQueriesContext(connection) as seen:
        client.get("/api/v1/users/me/")
    assert not [q for q in seen.captured_queries if q["sql"].startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == NOON
    freezer(NOON + timedelta(seconds=60))
    client.get("/api/v1/users/me/")
    token.refresh_from_db()
    assert token.last_used_at == NOON + timedelta(seconds=60)


# --- the holder's own tokens -----------------------------------------------------------------------------------


def test_tokens_list_shows_own_tokens_with_their_state_and_no_secret(applicant, other_applicant, freezer):
    freezer(NOON)
    old, _ = token_of(applicant, name="old", days=1)
    gone, _ = token_of(applicant, name="gone")
    api_token_revoke(token=gone, actor=applicant)
    token_of(other_applicant, name="theirs")
    freezer(NOON + timedelta(days=2))
    body = api_for(applicant).get("/api/v1/auth/tokens/").json()
    assert body["count"] == 2
    assert body["results"] == [
        {"id": gone.pk, "name": "gone", "prefix": gone.prefix, "scope": "write",
         "created_at": "2026-12-07T12:00:00+01:00", "expires_at": "2027-03-07T12:00:00+01:00",
         "last_used_at": None, "revoked_at": "2026-12-07T12:00:00+01:00", "state": "revoked"},
        {"id": old.pk, "name": "old", "prefix": old.prefix, "scope": "write",
         "created_at": "2026-12-07T12:00:00+01:00", "expires_at": "2026-12-08T12:00:00+01:00",
         "last_used_at": None, "revoked_at": None, "state": "expired"},
    ]  # fmt: skip


@pytest.mark.parametrize("rows", [1, 6])
def test_tokens_list_query_count_is_constant(applicant, django_assert_num_queries, rows):
    for n in range(rows):
        token_of(applicant, name=f"token {n}")
    _, secret = token_of(applicant, name="the caller")
    client = client_with(secret)
    client.get("/api/v1/auth/tokens/")  # writes "last used" once
    # the token (with its user), the count, the page of tokens
    with django_assert_num_queries(3):
        response = client.get("/api/v1/auth/tokens/")
    assert response.json()["count"] == rows + 1


def test_tokens_create_answers_the_secret_once_with_read_by_default(applicant, freezer):
    freezer(NOON)
    response = api_for(applicant).post("/api/v1/auth/tokens/", {"name": "dashboards", "expires_in_days": 30})
    assert response.status_code == 201
    body = response.json()
    token = ApiToken.objects.get()
    assert (body["id"], body["name"], body["scope"], body["expires_at"]) == (
        token.pk, "dashboards", "read", "2027-01-06T12:00:00+01:00",
    )  # fmt: skip
    assert client_with(body["token"]).get("/api/v1/users/me/").status_code == 200
    assert "token" not in api_for(applicant).get("/api/v1/auth/tokens/").json()["results"][0]


def test_tokens_create_by_a_second_factor_token_carries_it(applicant):
    totp_device(applicant)
    _, secret = token_of(applicant, second_factor=True)
    response = client_with(secret).post("/api/v1/auth/tokens/", {"name": "more", "scope": "write"}, format="json")
    assert response.status_code == 201
    assert ApiToken.objects.get(name="more").second_factor is True


def test_tokens_create_refused_to_an_enrolled_user_without_the_second_factor(applicant):
    _, secret = token_of(applicant)  # made before enrolling
    totp_device(applicant)
    response = client_with(secret).post("/api/v1/auth/tokens/", {"name": "more"}, format="json")
    assert response.status_code == 403
    assert response.json() == error(
        "Your account has a second factor: a token is created only after it is checked. Sign in with your second "
        "factor, or give the token endpoint your current code in `otp`.",
        "token_second_factor",
    )


def test_tokens_create_refused_without_credentials(api):
    response = api.post("/api/v1/auth/tokens/", {"name": "x"}, format="json")
    assert response.status_code == 401
    assert response.json() == error("Authentication credentials were not provided.", "not_authenticated")


def test_tokens_delete_revokes_own_token(applicant):
    token, secret = token_of(applicant)
    response = api_for(applicant).delete(f"/api/v1/auth/tokens/{token.pk}/")
    assert response.status_code == 204
    token.refresh_from_db()
    assert token.revoked_by == applicant
    assert client_with(secret).get("/api/v1/users/me/").json()["code"] == "token_revoked"


def test_tokens_delete_by_the_token_itself_revokes_it(applicant):
    token, secret = token_of(applicant)
    client = client_with(secret)
    assert client.delete(f"/api/v1/auth/tokens/{token.pk}/").status_code == 204
    assert client.get("/api/v1/users/me/").status_code == 401


def test_tokens_delete_of_a_revoked_token_is_a_conflict(applicant, freezer):
    token, _ = token_of(applicant)
    freezer(NOON)
    api_token_revoke(token=token, actor=applicant)
    response = api_for(applicant).delete(f"/api/v1/auth/tokens/{token.pk}/")
    assert response.status_code == 409
    assert response.json() == error("The token “script” was already revoked on 07 Dec 2026 12:00 CET.", "token_revoked")


def test_tokens_delete_of_another_users_token_is_not_found(applicant, other_applicant, admin_user):
    token, _ = token_of(other_applicant)
    for user in (applicant, admin_user):
        response = api_for(user).delete(f"/api/v1/auth/tokens/{token.pk}/")
        assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
