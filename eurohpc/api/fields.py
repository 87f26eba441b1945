"""Serializer fields shared by the apps' APIs."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's SlugRelatedField that refuses a NUL character with a 400 before the database lookup.

    PostgreSQL cannot compare text with NUL bytes: DRF's own field would let the lookup fail with a DataError (500).
    """

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                ProhibitNullCharactersValidator()(data)
            except DjangoValidationError:
                raise serializers.ValidationError(
                    "Null characters are not allowed.", code="null_characters_not_allowed"
                ) from None
        return super().to_internal_value(data)
