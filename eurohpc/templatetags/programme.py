from datetime import datetime

from django import template
from django.template.defaultfilters import date as date_filter
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from eurohpc import audit_text, formatting
from eurohpc.countries import country_name

register = template.Library()


@register.filter
def eur(value) -> str:
    return formatting.eur(value)


@register.filter
def pct(value) -> str:
    return formatting.percent(value) if value is not None else "—"


@register.filter
def score(value) -> str:
    return formatting.score(value)


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
    """`proposal.set_budget` reads "Budget set" on a timeline (eurohpc/audit_text.py)."""
    return audit_text.action_label(verb)


@register.filter
def audit_sentence(event) -> str:
    """An audit event as a sentence: "Aino Virtanen submitted the proposal …"."""
    return audit_text.sentence_of(event)


@register.filter
def actor_name(event) -> str:
    return audit_text.actor_name(event)


@register.filter
def change_label(key: str) -> str:
    """A recorded change's key as words: `eu_contribution` reads "EU contribution"."""
    words = str(key).replace("_", " ").split()
    words = [w.upper() if w.lower() in ("eu", "pi", "pic", "id", "sha256", "gpu", "cpu") else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


# --- fast forms of `{% url %}` and `|date` for the rows of long tables ------------------------------------------

_ID_SENTINEL = 9000000000000000001  # a database id no row has: it marks where a row's id goes in the URL
_id_url_parts: dict[tuple, tuple[str, str]] = {}


@register.simple_tag
def id_url(name: str, pk: int) -> str:
    """`{% url name pk %}` for a URL whose one argument is a database id, reversed once per name: a long table's
    rows each name their object's page without walking the URL patterns again."""
    key = (get_urlconf(), get_script_prefix(), name)
    parts = _id_url_parts.get(key)
    if parts is None:
        before, found, after = reverse(name, args=[_ID_SENTINEL]).partition(str(_ID_SENTINEL))
        if not found:  # the id does not appear as given: reverse every time
            return reverse(name, args=[pk])
        parts = _id_url_parts[key] = (before, after)
    return f"{parts[0]}{int(pk)}{parts[1]}"


@register.filter
def local_time(value) -> str:
    """`value|date:"d M Y H:i T"` (Europe/Luxembourg, e.g. 03 Feb 2025 12:00 CET) at a fraction of its cost."""
    if value in (None, ""):
        return ""
    if timezone.is_naive(value):
        return date_filter(value, "d M Y H:i T")
    return formatting.local(value)  # the same text: the zone's abbreviation follows the fold of a repeated hour


@register.filter
def local_day(value) -> str:
    """`value|date:"d M Y"` of a time (its day in Europe/Luxembourg) or of a date, at a fraction of its cost."""
    if value in (None, ""):
        return ""
    return (_local(value) if isinstance(value, datetime) else value).strftime("%d %b %Y")


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value
