"""Production settings: refuse to start without the required environment, pass `check --deploy`."""

import os

from django.core.exceptions import ImproperlyConfigured

# GRANTS_PUBLIC_BASE_URL: award letters print the service's public address; the demo's loopback would mislead.
for _name in ("SECRET_KEY", "DATABASE_URL", "GRANTS_PUBLIC_BASE_URL"):
    if not os.environ.get(_name):
        raise ImproperlyConfigured(f"Production settings need the environment variable {_name}; it is not set.")

from eurohpc.settings import *  # noqa: E402, F403
from eurohpc.settings import env  # noqa: E402

DEBUG = False
DEMO_USERS_ALLOWED = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Production settings need the environment variable ALLOWED_HOSTS; it is not set.")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
# Persistent database connections (Django reads CONN_MAX_AGE from DATABASES, not from the settings module).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)  # noqa: F405
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}  # noqa: F405
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
LOGGING["root"]["level"] = env.str("LOG_LEVEL", default="INFO")  # noqa: F405
# Staff pass a second factor in production (the demo only offers it).
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=True)
# The session cookie and the stored session expire with the absolute timeout too (the middleware signs out first).
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_HOURS * 3600  # noqa: F405
