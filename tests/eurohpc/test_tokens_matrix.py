"""The role × operation matrix with API tokens: every operation of the OpenAPI schema, for each role, with a read
token (every write is a 403 naming the scope, every read passes the scope), an expired and a revoked token (every
operation is a 401 naming why), and a write token (answers as the same user's session does).

Path parameters are 1 (mostly no such object): the matrix is about credentials, not about the objects. Each request
runs in a savepoint that is rolled back.
"""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from eurohpc.identity.services.tokens import api_token_create, api_token_revoke
from eurohpc.models import Role
from tests.conftest import clock_moved_back
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [Role.APPLICANT, Role.EVALUATOR, Role.PROGRAMME_OFFICER, Role.FINANCE_OFFICER, Role.HOSTING_OPERATOR,
         Role.ADMIN]  # fmt: skip
SAFE = {"get"}
UNSAFE = {"post", "put", "patch", "delete"}
WHERE = "create a new one on your profile page (/accounts/profile/) or with POST /api/v1/auth/token/"
SCOPE_REFUSAL = {
    "detail": "This token's scope is read: it cannot change anything. POST, PUT, PATCH and DELETE need a token "
    "with the write scope.",
    "code": "token_scope",
    "errors": {},
}
# The one operation that takes no credentials: it is where a token comes from.
UNAUTHENTICATED = {("post", "/api/v1/auth/token/")}


@pytest.fixture(scope="module")
def operations() -> list[tuple[str, str]]:
    spec = SchemaGenerator().get_schema(request=None, public=True)
    found, open_ = [], set()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method not in SAFE | UNSAFE:
                continue
            if not any(operation.get("security") or []):
                open_.add((method, path))
                continue
            found.append((method, re.sub(r"\{[a-z_]+\}", "1", path)))
    assert open_ == UNAUTHENTICATED
    assert len(found) >= 100 and {m for m, _ in found} == SAFE | UNSAFE
    return found


def _user(role):
    organisation = OrganisationFactory() if role in (Role.APPLICANT, Role.HOSTING_OPERATOR) else None
    return UserFactory(organisation=organisation, roles=[role])


def _client(secret: str | None = None, user=None) -> APIClient:
    client = APIClient()
    if secret:
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    if user:
        client.force_login(user)
    return client


def _send(client, method: str, path: str):
    savepoint = transaction.savepoint()
    try:
        return client.generic(method.upper(), path, "{}", content_type="application/json")
    finally:
        transaction.savepoint_rollback(savepoint)


def _token(user, scope: str, **kwargs) -> str:
    return api_token_create(user=user, name=f"{scope} {kwargs}", scope=scope, second_factor=False, actor=user,
                            **kwargs)[1]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_throttle_history():
    cache.clear()


@pytest.mark.parametrize("role", ROLES)
def test_read_token_refuses_every_write_and_passes_every_read(role, operations):
    user = _user(role)
    client = _client(_token(user, "read"))
    problems = []
    for method, path in operations:
        response = _send(client, method, path)
        body = response.json() if response["Content-Type"].startswith("application/json") else {}
        if method in UNSAFE and (response.status_code, body) != (403, SCOPE_REFUSAL):
            problems.append(f"{method.upper()} {path}: {response.status_code} {body}")
        if method in SAFE and (response.status_code == 401 or body.get("code") == "token_scope"):
            problems.append(f"{method.upper()} {path}: {response.status_code} {body}")
    assert problems == []


def test_read_token_passes_options_and_head(applicant):
    client = _client(_token(applicant, "read"))
    assert client.options("/api/v1/auth/tokens/").status_code == 200
    assert client.head("/api/v1/users/me/").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_expired_and_revoked_tokens_are_refused_on_every_operation_saying_why(role, operations, monkeypatch):
    user = _user(role)
    with clock_moved_back(monkeypatch, days=2) as (then, _):
        expired = _token(user, "write", days=1)
        revoked = _token(user, "read")
        token = user.api_tokens.get(name__startswith="read")
        api_token_revoke(token=token, actor=user)
    expected = {
        "expired": {"detail": f"This token expired on {_local(then + timedelta(days=1))}: {WHERE}.",
                    "code": "token_expired", "errors": {}},
        "revoked": {"detail": f"This token was revoked on {_local(then)}: {WHERE}.", "code": "token_revoked",
                    "errors": {}},
    }  # fmt: skip
    problems = []
    for label, secret in (("expired", expired), ("revoked", revoked)):
        client = _client(secret)
        for method, path in operations:
            response = _send(client, method, path)
            if response.status_code != 401 or response.json() != expected[label]:
                problems.append(f"{label}: {method.upper()} {path}: {response.status_code} {response.content[:200]}")
    assert problems == []


def _local(moment) -> str:
    from eurohpc.formatting import local

    return local(moment)


@pytest.mark.parametrize("role", ROLES)
def test_write_token_answers_as_the_session_does(role, operations):
    user = _user(role)
    by_token, by_session = _client(_token(user, "write")), _client(user=user)
    differences = []
    for method, path in operations:
        token_status = _send(by_token, method, path).status_code
        session_status = _send(by_session, method, path).status_code
        if token_status != session_status:
            differences.append(f"{method.upper()} {path}: token {token_status}, session {session_status}")
    assert differences == []
