"""Template filters for money and shares: {{ amount|eur }} -> EUR 1,250,000.00 ({{ amount|eur_figure }} ->
1,250,000.00 under a heading in EUR); {{ rate|pct }} -> 50%."""

from decimal import Decimal

from django import template

from eurohpc.formatting import eur as format_eur
from eurohpc.formatting import figure, percent

register = template.Library()


@register.filter
def eur(value) -> str:
    return format_eur(value)


@register.filter
def eur_figure(value) -> str:
    """The amount without the currency, for the cells of a table headed "EUR"."""
    return figure(value)


@register.filter
def pct(value) -> str:
    if value in (None, ""):
        return "—"
    return percent(Decimal(value).quantize(Decimal("0.0001")))


@register.filter
def pct1(value) -> str:
    """A share with one decimal, for dashboards: 0.4567 -> 45.7%."""
    if value in (None, ""):
        return "—"
    return f"{Decimal(value) * 100:.1f}%"
