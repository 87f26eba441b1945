"""Dates people type: a call, a deadline, a period, a grant or an as-of date outside 2000–2100 is a typing error.

One validator for model fields, forms and serializers alike (DRF runs Django validators), so a date the
product stores or computes with (the end of an as-of day, a period's last day) never leaves Python's range.
"""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.utils import timezone

FIRST_YEAR, LAST_YEAR = 2000, 2100
YEARS_MESSAGE = f"Must be between the years {FIRST_YEAR} and {LAST_YEAR}."


def plausible_year(value) -> None:
    """Refuse a date or a datetime whose year is outside FIRST_YEAR..LAST_YEAR."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(YEARS_MESSAGE, code="implausible_year")


def start_of_day(day: date) -> datetime:
    """The first instant of `day` in the JU's time zone (Europe/Luxembourg): filters by day start here."""
    return timezone.make_aware(datetime.combine(day, time.min))
