"""Serializer fields shared by the apps' APIs."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's SlugRelatedField that refuses, with a 400 before the database lookup, a NUL character and a value
    longer than the slug column holds (the schema documents that length as maxLength).

    PostgreSQL cannot compare text with NUL bytes: DRF's own field would let the lookup fail with a DataError (500).
    """

    @property
    def max_length(self) -> int | None:
        return self.get_queryset().model._meta.get_field(self.slug_field).max_length

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                ProhibitNullCharactersValidator()(data)
            except DjangoValidationError:
                raise serializers.ValidationError(
                    "Null characters are not allowed.", code="null_characters_not_allowed"
                ) from None
            limit = self.max_length
            if limit is not None and len(data) > limit:
                raise serializers.ValidationError(
                    f"Ensure this field has no more than {limit} characters.", code="max_length"
                )
        return super().to_internal_value(data)


class SlugRelatedFieldSchema(OpenApiSerializerFieldExtension):
    target_class = SlugRelatedField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if not self.target.read_only and self.target.max_length is not None:
            schema["maxLength"] = self.target.max_length
        return schema
