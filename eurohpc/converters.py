"""URL converters.

`<id:pk>` takes what `<int:pk>` takes but refuses a number no database key can hold (above 2**63 - 1), so
such a URL is a 404 on every backend instead of an overflow inside the database driver.
"""

from django.urls import register_converter

# The largest value of a signed 64-bit integer: BigAutoField on PostgreSQL, INTEGER on SQLite.
MAX_DATABASE_ID = 2**63 - 1


class DatabaseIdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_DATABASE_ID:
            raise ValueError("not a database id")  # the resolver then tries the next pattern, and answers 404
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def register() -> None:
    register_converter(DatabaseIdConverter, "id")


def database_id(value: str | None) -> int | None:
    """The key a page's query parameter names, or None when it can name none (empty, not digits, too large)."""
    if value and value.isascii() and value.isdigit() and int(value) <= MAX_DATABASE_ID:
        return int(value)
    return None


def id_param(params, name: str) -> int | None:
    """An API query parameter that names an object: None when absent; a 400 naming it when it cannot be a key."""
    from rest_framework import serializers

    value = params.get(name)
    if value in (None, ""):
        return None
    field = serializers.IntegerField(min_value=0, max_value=MAX_DATABASE_ID)
    try:
        return field.run_validation(value)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({name: exc.detail}) from None
