"""An id no database key can hold is a 404 on every page and endpoint, on SQLite and PostgreSQL alike."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from eurohpc.converters import MAX_DATABASE_ID, database_id

pytestmark = pytest.mark.django_db

ID_PARAMETER = re.compile(r"<id:(\w+)>")


def _routes(patterns=None, prefix=""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and "<id:" in route:
            yield route


ROUTES = sorted(set(_routes()))


def _client(user) -> APIClient:
    """Logged in for the pages and the API alike."""
    client = APIClient()
    client.force_login(user)
    return client


def _url(route: str, value: int) -> str:
    return "/" + ID_PARAMETER.sub(str(value), route)


def test_every_route_with_an_id_uses_the_bounded_converter():
    every = [str(p.pattern) for p in _all_patterns()]
    assert ROUTES, "no route takes an id"
    assert not [route for route in every if "<int:" in route]


def _all_patterns(patterns=None):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from _all_patterns(entry.url_patterns)
        else:
            yield entry


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("user", ["evaluator", "programme_officer", "applicant"])
def test_id_beyond_any_database_key_is_not_found(request, route, user):
    client = _client(request.getfixturevalue(user))
    for method in ("get", "post", "delete"):
        response = getattr(client, method)(_url(route, MAX_DATABASE_ID + 1))
        assert response.status_code == 404, (method, route, response.status_code)
    # 20 digits: the DELETE /api/v1/proposals/23476903398589071360/consortium/2590/ among them.
    response = client.delete(_url(route, 23476903398589071360))
    assert response.status_code == 404


@pytest.mark.parametrize("route", ROUTES)
def test_largest_database_key_reaches_the_view_and_finds_nothing(programme_officer, route):
    client = _client(programme_officer)
    for method in ("get", "post"):
        response = getattr(client, method)(_url(route, MAX_DATABASE_ID))
        assert response.status_code in (400, 403, 404, 405), (method, route, response.status_code)


def test_consortium_member_delete_with_an_oversized_id_is_not_found_for_an_evaluator(evaluator):
    response = _client(evaluator).delete("/api/v1/proposals/23476903398589071360/consortium/2590/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/proposals/?call=9223372036854775808", "call"),
        ("/api/v1/proposals/?cut_off=9223372036854775808", "cut_off"),
        ("/api/v1/assignments/?proposal=9223372036854775808", "proposal"),
        ("/api/v1/grants/?envelope=9223372036854775808", "envelope"),
    ],
)
def test_id_filter_beyond_any_key_is_refused_naming_the_parameter(programme_officer, path, field):
    response = _client(programme_officer).get(path)
    assert response.status_code == 400
    assert response.json()["errors"] == {field: ["Ensure this value is less than or equal to 9223372036854775807."]}


def test_id_filter_that_is_no_number_is_refused(programme_officer):
    response = _client(programme_officer).get("/api/v1/proposals/?call=abc")
    assert response.status_code == 400
    assert response.json()["errors"] == {"call": ["A valid integer is required."]}


def test_page_filter_beyond_any_key_is_ignored(client, programme_officer):
    client.force_login(programme_officer)
    response = client.get("/officer/submissions/?call=9223372036854775808&cut_off=99999999999999999999")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), ("9223372036854775807", MAX_DATABASE_ID), ("9223372036854775808", None), ("", None),
     (None, None), ("-1", None), ("1.0", None), ("١٢", None)],
)  # fmt: skip
def test_database_id_names_only_storable_keys(value, expected):
    assert database_id(value) == expected
