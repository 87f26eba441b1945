"""Every free-text field has a documented maximum: in the API schema (maxLength), on every form, and refused
with a 400 naming the field when longer."""

import pytest
from django import forms
from drf_spectacular.generators import SchemaGenerator

from eurohpc import limits
from tests.calls.factories import make_call, make_draft
from tests.conftest import api_for
from tests.eurohpc.test_dates import _classes

# Strings that are not free text: their format or pattern bounds them.
BOUNDED_FORMATS = {"date", "date-time", "binary", "uri", "uuid", "decimal", "email"}


def _strings_without_max(schema, where, found):
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string":
        if not ({"maxLength", "enum", "pattern"} & set(schema) or schema.get("format") in BOUNDED_FORMATS):
            found.append(where)
        return
    for name, child in (schema.get("properties") or {}).items():
        _strings_without_max(child, f"{where}.{name}", found)
    for key in ("items", "additionalProperties"):
        _strings_without_max(schema.get(key), f"{where}[]", found)
    for key in ("allOf", "oneOf", "anyOf"):
        for child in schema.get(key) or []:
            _strings_without_max(child, where, found)


def _request_schemas(spec):
    components = spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for media in ((operation.get("requestBody") or {}).get("content") or {}).values():
                schema = media["schema"]
                ref = schema.get("$ref")
                yield f"{method.upper()} {path}", components[ref.rsplit("/", 1)[1]] if ref else schema


@pytest.mark.django_db
def test_every_text_the_api_accepts_has_a_max_length():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    found: list[str] = []
    bodies = list(_request_schemas(spec))
    for where, schema in bodies:
        _strings_without_max(schema, where, found)
    assert len(bodies) >= 30
    assert sorted(set(found)) == []


def test_every_text_a_form_accepts_has_a_max_length():
    unbounded = [
        f"{form.__module__}.{form.__name__}.{name}"
        for form in _classes(forms.BaseForm)
        for name, field in form.base_fields.items()
        if type(field) is forms.CharField and field.max_length is None
    ]
    assert unbounded == []


@pytest.mark.django_db
def test_abstract_of_five_megabytes_is_400_naming_the_field(applicant):
    draft = make_draft(call=make_call(), applicant=applicant, documents=False)
    response = api_for(applicant).patch(
        f"/api/v1/proposals/{draft.pk}/", {"abstract": "x" * (limits.ABSTRACT + 1)}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "invalid",
        "errors": {"abstract": ["Ensure this field has no more than 4000 characters."]},
    }
    draft.refresh_from_db()
    assert draft.abstract == "Training large models for European science and industry."


@pytest.mark.django_db
def test_abstract_at_the_limit_is_kept(applicant):
    draft = make_draft(call=make_call(), applicant=applicant, documents=False)
    response = api_for(applicant).patch(
        f"/api/v1/proposals/{draft.pk}/", {"abstract": "x" * limits.ABSTRACT}, format="json"
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert len(draft.abstract) == 4000


@pytest.mark.django_db
def test_proposal_form_refuses_a_long_abstract(client, applicant):
    draft = make_draft(call=make_call(), applicant=applicant, documents=False)
    client.force_login(applicant)
    response = client.post(
        f"/proposals/{draft.pk}/edit/",
        {"title": draft.title, "acronym": draft.acronym, "abstract": "x" * (limits.ABSTRACT + 1)},
    )
    assert response.status_code == 400
    assert "Ensure this value has at most 4000 characters (it has 4001)." in response.content.decode()
