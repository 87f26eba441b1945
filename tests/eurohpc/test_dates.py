"""Every date a person types is bounded to 2000–2100, on every form and serializer (one validator)."""

import importlib
import inspect
import pkgutil

import pytest
from django import forms
from rest_framework import serializers

from eurohpc.dates import YEARS_MESSAGE, plausible_year

APPS = ("calls", "grants", "hosting", "eurohpc")
DATE_FIELDS = (forms.DateField, forms.DateTimeField, serializers.DateField, serializers.DateTimeField)


def _classes(base):
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if any(part in info.name for part in (".migrations", ".management", ".settings", ".wsgi")):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, base) and cls.__module__ == module.__name__:
                    yield cls


def _input_date_fields():
    for form in _classes(forms.BaseForm):
        for name, field in form.base_fields.items():
            if isinstance(field, DATE_FIELDS) and not field.disabled:
                yield f"{form.__module__}.{form.__name__}.{name}", field
    for serializer in _classes(serializers.BaseSerializer):
        if issubclass(serializer, serializers.ListSerializer):
            continue
        for name, field in serializer().fields.items():
            if isinstance(field, DATE_FIELDS) and not field.read_only:
                yield f"{serializer.__module__}.{serializer.__name__}.{name}", field


@pytest.mark.django_db
def test_every_typed_date_is_bounded_to_the_plausible_years():
    fields = dict(_input_date_fields())
    unbounded = sorted(name for name, field in fields.items() if plausible_year not in field.validators)
    assert len(fields) >= 15  # the walk found the forms and serializers
    assert unbounded == []


@pytest.mark.parametrize("year", [1, 1999, 2101, 9999])
def test_plausible_year_refuses_a_year_outside_2000_to_2100(year):
    from datetime import date

    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        plausible_year(date(year, 12, 31))
    assert refused.value.messages == [YEARS_MESSAGE] == ["Must be between the years 2000 and 2100."]
