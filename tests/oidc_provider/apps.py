from django.apps import AppConfig


class LoopbackProviderConfig(AppConfig):
    name = "tests.oidc_provider"
    label = "loopback_provider"  # "oidc_provider" is django-oidc-provider's own label
