"""The dashboard's panel for an account without a role: where its request to act for an organisation stands."""

from django import template

from eurohpc.identity.selectors.registration import latest_membership_request as _latest

register = template.Library()


@register.simple_tag
def latest_membership_request(user):
    return _latest(user=user)
