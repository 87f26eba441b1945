from django import template

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
