"""Settings of the loopback OpenID Connect provider. The fixture passes its database file and its address."""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent

SECRET_KEY = "loopback-oidc-provider-for-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
    "tests.oidc_provider.apps.LoopbackProviderConfig",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tests.oidc_provider.middleware.TamperedIdTokenMiddleware",
]
ROOT_URLCONF = "tests.oidc_provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LOOPBACK_OIDC_DB", str(HERE / "loopback.sqlite3")),
        "OPTIONS": {"timeout": 30},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/login/"
# Its own cookie names: a browser keeps cookies per host name, not per port.
SESSION_COOKIE_NAME = "loopback_op_session"
CSRF_COOKIE_NAME = "loopback_op_csrftoken"

# The issuer is SITE_URL + /openid.
SITE_URL = os.environ.get("LOOPBACK_OIDC_SITE_URL", "http://127.0.0.1:8765")
OIDC_USERINFO = "tests.oidc_provider.claims.userinfo"
OIDC_EXTRA_SCOPE_CLAIMS = "tests.oidc_provider.claims.RoleClaims"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
