from django import template

from eurohpc import formatting
from eurohpc.countries import country_name

register = template.Library()


@register.filter
def eur(value) -> str:
    return formatting.eur(value)


@register.filter
def pct(value) -> str:
    return formatting.percent(value) if value is not None else "—"


@register.filter
def country(code: str) -> str:
    return country_name(code) if code else "—"


@register.filter
def status_badge(status: str) -> str:
    """The badge colour of a proposal or grant status."""
    good = {"submitted", "eligible", "selected", "open", "signed", "active", "ready", "no_conflict", "closed_ok"}
    warn = {"draft", "screening", "evaluation", "reserve", "pending", "prepared"}
    bad = {"withdrawn", "ineligible", "rejected", "failed", "terminated", "conflict"}
    if status in good:
        return "badge-ok"
    if status in warn:
        return "badge-warn"
    if status in bad:
        return "badge-bad"
    return "badge-info"


@register.filter
def verb_label(verb: str) -> str:
    """`proposal.set_budget` reads "Set budget" on a timeline."""
    return verb.split(".", 1)[-1].replace("_", " ").capitalize()
