"""The API's error shape holds flat field messages, and shared fields refuse what PostgreSQL cannot store."""

import pytest
from rest_framework import serializers

from eurohpc.api.errors import flatten_errors
from eurohpc.api.fields import SlugRelatedField
from eurohpc.models import Organisation
from tests.conftest import api_for


def test_flatten_errors_gives_dotted_keys_for_nested_fields():
    errors = {
        "budget_lines": [{}, {"total_cost": ["A valid number is required."]}],
        "scores": {"excellence": ["Too high."]},
        "title": ["This field is required."],
    }
    assert flatten_errors(errors) == {
        "budget_lines.1.total_cost": ["A valid number is required."],
        "scores.excellence": ["Too high."],
        "title": ["This field is required."],
    }


def test_flatten_errors_keeps_a_list_of_messages_without_a_field():
    assert flatten_errors(["Not both."]) == {"non_field_errors": ["Not both."]}


@pytest.mark.django_db
def test_slug_related_field_refuses_a_nul_character_before_the_lookup():
    field = SlugRelatedField(slug_field="short_name", queryset=Organisation.objects.all())
    with pytest.raises(serializers.ValidationError, match="Null characters are not allowed."):
        field.to_internal_value("CSC\x00")


@pytest.mark.django_db
def test_call_create_refuses_an_opening_date_outside_the_plausible_years(programme_officer):
    payload = {"identifier": "EUROHPC-2027-CEI-AI-01", "title": "Next call", "prong": "existing_host",
               "opens_at": "0212-01-28T14:07:41Z", "cut_offs": [{"closes_at": "2300-01-01T12:00:00Z"}]}  # fmt: skip
    response = api_for(programme_officer).post("/api/v1/calls/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "invalid",
        "errors": {
            "opens_at": ["Must be between the years 2000 and 2100."],
            "cut_offs.0.closes_at": ["Must be between the years 2000 and 2100."],
        },
    }
