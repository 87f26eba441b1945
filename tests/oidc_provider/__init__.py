"""A loopback OpenID Connect provider for the single sign-on tests: a tiny Django project around
django-oidc-provider, run in a subprocess by tests/eurohpc/oidc_fixtures.py (its own SQLite file, its own port)."""
