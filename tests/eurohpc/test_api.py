import pytest
from django.core.management import call_command

from eurohpc.models import Role
from tests.conftest import api_for
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_token_issued_for_valid_credentials(api, applicant):
    response = api.post("/api/v1/auth/token/", {"username": "applicant", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/users/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "applicant"


def test_token_refused_for_wrong_password(api, applicant):
    response = api.post("/api/v1/auth/token/", {"username": "applicant", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Unable to log in with the provided username and password.",
        "code": "authentication_failed",
        "errors": {},
    }


def test_token_refused_without_fields(api):
    response = api.post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert body["errors"] == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_token_locked_after_repeated_failures(api, applicant):
    for _ in range(5):
        api.post("/api/v1/auth/token/", {"username": "applicant", "password": "wrong"}, format="json")
    response = api.post("/api/v1/auth/token/", {"username": "applicant", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["detail"] == "Too many failed logins for this account: try again in 15 minutes."


def test_wrong_token_refused_with_reason(api):
    api.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = api.get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": "token_invalid", "errors": {}}


def test_me_refused_without_credentials(api):
    response = api.get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_me_lists_roles_and_organisation(applicant):
    body = api_for(applicant).get("/api/v1/users/me/").json()
    assert body["roles"] == ["applicant"]
    assert body["organisation"]["short_name"] == "CSC"
    assert body["organisation"]["country"] == "FI"


def test_user_list_refused_for_applicant(applicant):
    response = api_for(applicant).get("/api/v1/users/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only officers and administrators can list users."


def test_user_list_filters_by_role(programme_officer, evaluator, applicant):
    body = api_for(programme_officer).get("/api/v1/users/?role=evaluator").json()
    assert body["count"] == 1
    assert body["results"] == [
        {"id": evaluator.pk, "username": "evaluator1", "name": evaluator.display_name, "organisation": None,
         "roles": ["evaluator"]}
    ]  # fmt: skip


def test_user_list_refuses_unknown_role_filter(programme_officer):
    response = api_for(programme_officer).get("/api/v1/users/?role=pope")
    assert response.status_code == 400
    assert "role" in response.json()["errors"]


@pytest.mark.parametrize("rows", [1, 6])
def test_user_list_query_count_is_constant(programme_officer, organisation, django_assert_num_queries, rows):
    for _ in range(rows):
        UserFactory(organisation=organisation, roles=[Role.APPLICANT, Role.EVALUATOR])
    client = api_for(programme_officer)
    # count, page of users, their roles (prefetch); the officer's own roles
    with django_assert_num_queries(4):
        response = client.get("/api/v1/users/")
    assert response.json()["count"] == rows + 1


def test_schema_generates_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
