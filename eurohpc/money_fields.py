"""The one form field for amounts in euros: shown and typed with thousands separators, kept as Decimal."""

import re
from decimal import Decimal

from django import forms

AMOUNT_EXAMPLE = "1,500,000.00"
INVALID_AMOUNT = f"Enter an amount in euros, such as {AMOUNT_EXAMPLE}."

# A grouping mark between thousands: comma, space, no-break space, thin space, narrow no-break space.
_SEPARATORS = ",\u0020\u00a0\u2009\u202f"
_AMOUNT = re.compile(
    rf"""
    (?P<sign>[+-]?)
    (?P<whole>
        [1-9]\d{{0,2}}(?P<sep>[{_SEPARATORS}])\d{{3}}(?:(?P=sep)\d{{3}})*   # grouped: 1,500,000 (one mark)
      | \d+                                                             # plain: 1500000
    )?
    (?:\.(?P<fraction>\d*))?
    """,
    re.VERBOSE,
)


def parse_amount(text: str, decimal_places: int = 2) -> Decimal | None:
    """The Decimal typed as `text`, or None if it is not an amount.

    Grouping marks are dropped only when every group after the first has exactly three digits and one
    kind of mark is used throughout; the decimal separator is the point, with at most `decimal_places`
    digits after it (so that "12.345", which reads as twelve thousand in some countries, is refused).
    """
    match = _AMOUNT.fullmatch(text.strip())
    if match is None or (match["whole"] is None and not match["fraction"]):
        return None
    if match["fraction"] is not None and len(match["fraction"]) > decimal_places:
        return None
    whole = (match["whole"] or "0").translate({ord(mark): None for mark in _SEPARATORS})
    point = "" if match["fraction"] is None else f".{match['fraction']}"
    return Decimal(f"{match['sign']}{whole}{point}")  # as exact as typed: "1500000" stays Decimal("1500000")


def format_amount(value: Decimal | int) -> str:
    """1,500,000.00: English grouping, point for decimals, two decimals (more only if the value has them)."""
    value = Decimal(value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{value:,f}"
    return f"{value:,.2f}"


class MoneyInput(forms.TextInput):
    """A text input that shows an amount with thousands separators and asks phones for a decimal keypad."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if value is None or value == "":
            return super().format_value(value)
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            return format_amount(value)
        if isinstance(value, str):
            parsed = parse_amount(value)
            # What cannot be read stays as typed, beside its error message.
            return format_amount(parsed) if parsed is not None else value
        return super().format_value(value)


class MoneyField(forms.DecimalField):
    """An amount in euros: "1,500,000.00", "1500000" and "1 500 000.5" all read as Decimal; "1,5,0" does not."""

    widget = MoneyInput
    default_error_messages = {"invalid": INVALID_AMOUNT}

    def __init__(self, *, max_digits=14, decimal_places=2, **kwargs):
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        amount = parse_amount(str(value), self.decimal_places)
        if amount is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return amount
