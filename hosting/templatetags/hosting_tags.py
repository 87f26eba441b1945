"""Filters of the hosting pages: quantities, shares and bar widths."""

from decimal import Decimal

from django import template

from hosting.formatting import UNIT_LABELS, pct, qty
from hosting.models import UserProject

register = template.Library()


@register.filter(name="qty")
def qty_filter(value, places: int = 2) -> str:
    """1234567.5 -> 1,234,567.50"""
    if value in (None, ""):
        return "—"
    return qty(Decimal(value), int(places))


@register.filter(name="share")
def share_filter(value) -> str:
    """0.35 -> 35%"""
    if value in (None, ""):
        return "—"
    return pct(Decimal(value))


@register.filter
def unit_label(value: str) -> str:
    return UNIT_LABELS.get(value, value)


ACCESS_MODE_LABELS = dict(UserProject.AccessMode.choices)
USER_TYPE_LABELS = dict(UserProject.UserType.choices)


@register.filter
def project_kind(project: UserProject) -> str:
    """ "AI for Science · Academia": the project's access mode and user type, as a table row names them (the
    choices' labels looked up in a dict made once, not by two `get_…_display` calls per row)."""
    mode, user_type = project.access_mode, project.user_type
    return f"{ACCESS_MODE_LABELS.get(mode, mode)} · {USER_TYPE_LABELS.get(user_type, user_type)}"


SMALLEST_BAR = Decimal(2)


@register.filter
def bar(value) -> str:
    """A percentage clamped to 0..100, as a bar's length ("42.5"). Any use above nothing is drawn at 2% at least,
    so a small use shows as a sliver rather than an empty bar; the figure beside the bar stays exact."""
    if value in (None, ""):
        return "0"
    number = min(max(Decimal(value), Decimal(0)), Decimal(100))
    if 0 < number < SMALLEST_BAR:
        number = SMALLEST_BAR
    return f"{number.quantize(Decimal('0.1'))}"
