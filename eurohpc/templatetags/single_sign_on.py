"""The login page's single sign-on button: `{% sso_provider_name as provider %}` is "" while it is not configured."""

from django import template
from django.conf import settings

from eurohpc.identity.oidc import sso_enabled

register = template.Library()


@register.simple_tag
def sso_provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME if sso_enabled() else ""
