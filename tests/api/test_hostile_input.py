"""Hostile bodies get a 4xx in the API's error shape: deep nesting, NaN, oversize bodies; never a 500."""

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from eurohpc.api.parsers import MAX_DEPTH, nesting_depth
from eurohpc.errorpages import bad_request, server_error
from tests.calls.factories import make_call, make_draft
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

NESTED_MESSAGE = "JSON parse error - arrays and objects are nested more than 32 levels deep."


@pytest.fixture
def draft(applicant):
    return make_draft(call=make_call(), applicant=applicant, documents=False)


def patch_raw(user, proposal, body: str | bytes, content_type="application/json"):
    return api_for(user).generic("PATCH", f"/api/v1/proposals/{proposal.pk}/", body, content_type=content_type)


def test_nesting_depth_counts_arrays_and_objects():
    assert nesting_depth(1) == 0
    assert nesting_depth({"a": [1, {"b": []}]}) == 4
    assert nesting_depth([[[]]] * 3) == 3


@pytest.mark.parametrize("depth", [100_000, 1_000])
def test_proposal_patch_with_deeply_nested_body_is_400(applicant, draft, depth):
    response = patch_raw(applicant, draft, "[" * depth + "]" * depth)
    assert response.status_code == 400
    assert response.json() == {"detail": NESTED_MESSAGE, "code": "parse_error", "errors": {}}
    draft.refresh_from_db()
    assert draft.title == "A new AI-optimised supercomputer for Europe"


def test_proposal_patch_nested_at_the_limit_is_parsed(applicant, draft):
    body = {"title": "Nested but fine", "x": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))}
    response = patch_raw(applicant, draft, json.dumps(body))
    assert response.status_code == 200
    assert response.json()["title"] == "Nested but fine"


def test_proposal_patch_with_nan_is_400(applicant, draft):
    response = patch_raw(applicant, draft, '{"title": NaN}')
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["detail"].startswith("JSON parse error")


def test_json_body_larger_than_the_limit_is_413_in_the_error_shape(applicant, draft):
    body = json.dumps({"abstract": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = patch_raw(applicant, draft, body)
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than 5.0 MB, the most this service accepts.",
        "code": "request_too_large",
        "errors": {},
    }
    draft.refresh_from_db()
    assert draft.abstract == "Training large models for European science and industry."


def test_form_post_larger_than_the_limit_is_a_413_page(client, applicant):
    client.force_login(applicant)
    response = client.generic(
        "POST", "/proposals/", "a=" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 413
    assert "The request body is larger than 5.0 MB, the most this service accepts." in response.content.decode()


def test_multipart_upload_is_bounded_by_its_service_not_by_the_body_limit(applicant, draft):
    # A document of 6 MB passes the body limit and reaches the document rule (a PDF of at most 25 MB).
    upload = SimpleUploadedFile("big.pdf", b"not a pdf" * 700_000, content_type="application/pdf")
    response = api_for(applicant).post(
        f"/api/v1/proposals/{draft.pk}/documents/", {"kind": "proposal_form", "file": upload}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "document_not_pdf"


def test_server_error_is_json_on_the_api_and_a_page_elsewhere():
    request = RequestFactory().get("/api/v1/calls/")
    assert json.loads(server_error(request).content) == {
        "detail": "Something went wrong on our side; nothing you sent was half-saved. Please try again later.",
        "code": "server_error",
        "errors": {},
    }
    assert bad_request(request).status_code == 400
    page = server_error(RequestFactory().get("/calls/"))
    assert page.status_code == 500 and "<h1>Server error</h1>" in page.content.decode()
