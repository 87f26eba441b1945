"""How money, shares and times read in messages, pages and letters."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone


def eur(amount: Decimal | int | None) -> str:
    """EUR 1,250,000.00 — the form used in every message."""
    if amount is None:
        return "—"
    value = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}EUR {abs(value):,.2f}"


def figure(amount: Decimal | int | None) -> str:
    """1,250,000.00 — a euro amount in a table whose heading says the currency."""
    return eur(amount).replace("EUR ", "", 1)


def percent(rate: Decimal) -> str:
    value = (Decimal(rate) * 100).normalize()
    return f"{value:f}%"


def score(value: Decimal | None) -> str:
    """4.50 → 4.5, 11.00 → 11: a score or weighted total as the evaluation writes it."""
    return format(Decimal(value).normalize(), "f") if value is not None else "—"


def local(dt) -> str:
    """A time as the JU reads it: Europe/Luxembourg, with the zone's abbreviation (CET/CEST)."""
    return timezone.localtime(dt).strftime("%d %b %Y %H:%M %Z") if dt else "—"


def human_size(size: int) -> str:
    """A file or body size as people read it: 25.0 MB, 312 KB."""
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"
