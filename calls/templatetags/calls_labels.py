"""Template filters for calls' own words (eurohpc's filters stay below every app and know no proposal)."""

from django import template

from calls.models import Proposal

register = template.Library()


@register.filter
def proposal_status(status: str) -> str:
    """A proposal status as applicants and officers read it: `evaluation` reads "Under evaluation"."""
    return str(dict(Proposal.Status.choices).get(status, status))
