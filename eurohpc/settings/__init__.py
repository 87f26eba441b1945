"""Settings read from the environment (12-factor).

Without any environment this is the embedded default used by the demo: an SQLite file in the project
folder, tasks run eagerly in-process, email printed to the console. `eurohpc.settings.production`
tightens everything and refuses to start without its required variables.
"""

import json
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-demo-key-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "eurohpc",
    "calls",
    "grants",
    "hosting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "eurohpc.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "eurohpc.identity.middleware.SessionTimeoutMiddleware",
    "eurohpc.identity.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "eurohpc.urls"
WSGI_APPLICATION = "eurohpc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "eurohpc.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The same SQLite, with money in cents out of every aggregate (eurohpc/backends/sqlite3).
    DATABASES["default"]["ENGINE"] = "eurohpc.backends.sqlite3"
    # Tests use an in-memory database, as with Django's own engine name (pytest-django's workers too).
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", ":memory:")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "eurohpc.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Single sign-on (below): signs in only at its callback, and only while OIDC_ISSUER is set.
    "eurohpc.identity.oidc.SingleSignOnBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

# Identity (README "Accounts and sign-in"). A second factor (TOTP) for staff before any page or API call but its
# enrolment: off in the embedded demo (offered, not required), on in production.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = "AI Factories Grants"
# Sessions: staff are signed out after 30 idle minutes, everyone 12 hours after signing in.
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=30)
SESSION_ABSOLUTE_HOURS = env.int("SESSION_ABSOLUTE_HOURS", default=12)
# API tokens live 90 days unless their holder chooses fewer (at most a year).
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = 365
# Single sign-on through an OpenID Connect provider (README "Single sign-on"), off while OIDC_ISSUER is empty. The
# provider's endpoints and keys come from its discovery document, {OIDC_ISSUER}/.well-known/openid-configuration,
# whose "issuer" must be OIDC_ISSUER exactly. Code flow with PKCE (S256), state and nonce; RS256 ID tokens.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="EU Login")  # the login page's "Sign in with …"
OIDC_RP_SCOPES = "openid email profile"
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # for the provider's logout (id_token_hint)
OIDC_VERIFY_SSL = True
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)  # seconds, for each call to the provider
OIDC_DISCOVERY_CACHE_SECONDS = 3600
OIDC_CLOCK_SKEW_SECONDS = 60
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
# Roles never come from the provider unless a claim is named: its values map to roles of this product
# (JSON, e.g. {"aif-programme-officers": "programme_officer"}); only the roles the map names are granted or removed.
OIDC_ROLES_CLAIM = env.str("OIDC_ROLES_CLAIM", default="")
OIDC_ROLE_MAP = env.json("OIDC_ROLE_MAP", default={})
if not isinstance(OIDC_ROLE_MAP, dict) or not all(isinstance(v, str) for v in OIDC_ROLE_MAP.values()):
    raise ImproperlyConfigured("OIDC_ROLE_MAP must be a JSON object of claim values to role names.")

# Failed logins: after 5 failures for a username from one address, that pair is locked for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "eurohpc.lockout.lockout_response"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

LANGUAGE_CODE = "en"
TIME_ZONE = "Europe/Luxembourg"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded proposal documents and generated letters: never under STATIC/MEDIA URLs, only served by
# permission-checked views.
PRIVATE_STORAGE_ROOT = Path(env.str("PRIVATE_STORAGE_ROOT", default=str(BASE_DIR / "var" / "private")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MAX_DOCUMENT_BYTES = 25 * 1024 * 1024
# Largest request body of all: a multipart upload of a Slurm usage file (1 GiB, hosting.services.usage) and its
# form fields. Any other body is bounded by DATA_UPLOAD_MAX_MEMORY_SIZE (eurohpc.middleware).
MAX_REQUEST_BYTES = 1024 * 1024 * 1024 + 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AI Factories Grants <no-reply@aif-grants.localhost>")

# Celery: with no broker configured the tasks run eagerly in-process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "audit-verify-nightly": {"task": "eurohpc.verify_audit_chain", "schedule": 24 * 3600},
    "process-cutoffs": {"task": "calls.process_cutoffs", "schedule": 300},
    "evaluation-reminders-hourly": {"task": "calls.send_evaluation_reminders", "schedule": 3600},
    "forget-ended-sessions-hourly": {"task": "eurohpc.forget_ended_sessions", "schedule": 3600},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "eurohpc.identity.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "eurohpc.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "eurohpc.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "eurohpc.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI Factories Grants API",
    "DESCRIPTION": (
        "Calls, proposals, evaluation, grants and compute quotas of the EuroHPC AI Factories programme.\n\n"
        'Errors share one shape: `{"detail": <reason>, "code": <rule>, "errors": {<field>: [<message>]}}` '
        "— 400 invalid input (with field errors), 401 not authenticated, 403 not permitted, 404 not found "
        "(also for another organisation's object), 409 conflict with the object's state or a limit, "
        "413 a body larger than the service accepts (5 MB; a multipart upload is bounded by its file's rule), "
        "429 too many failed logins, 503 a service that is not available on this installation (PDF rendering)."
        "\n\n"
        "Authentication: `Authorization: Token <token>` (or `Bearer <token>`) with a token from "
        "`POST /api/v1/auth/token/` (username, password, and `otp` where the account has a second factor), from "
        "`POST /api/v1/auth/tokens/` or from the profile page; the browser uses its session. A token has a name, "
        "an expiry (90 days unless chosen, at most 365) and a scope. 401 names why a token is refused: "
        "`token_invalid` (unknown), `token_expired` and `token_revoked` (with when, and where to make a new one), "
        "`user_inactive`, `token_second_factor` (a staff token created without the second factor where staff must "
        "use one). A **read** token may only GET, HEAD and OPTIONS: any POST, PUT, PATCH or DELETE with it is a "
        "403 `token_scope`, on every operation."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # `<id:…>` path parameters (eurohpc.converters): a database key, 0 … 2**63 - 1; anything larger is a 404.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "eurohpc.api.schema.add_error_responses",
    ],
    # One name per choice set shared by several serializers.
    "ENUM_NAME_OVERRIDES": {
        "CountryEnum": "eurohpc.countries.COUNTRY_CHOICES",
        "OrganisationKindEnum": "eurohpc.models.Organisation.Kind",
        "RoleEnum": "eurohpc.models.Role",
        "ApiTokenScopeEnum": "eurohpc.models.ApiToken.Scope",
        "ApiTokenStateEnum": "eurohpc.identity.selectors.tokens.TOKEN_STATES",
        "CallStatusEnum": "calls.models.calls.Call.Status",
        "CallProngEnum": "calls.models.calls.Call.Prong",
        "ProposalTypeEnum": "calls.models.proposals.Proposal.Type",
        "ProposalStatusEnum": "calls.models.proposals.Proposal.Status",
        "DocumentKindEnum": "calls.models.proposals.Document.Kind",
        "BudgetCategoryEnum": "calls.models.proposals.BudgetLine.Category",
        "ConsortiumRoleEnum": "calls.models.proposals.ConsortiumMember.Role",
        "GrantStatusEnum": "grants.models.Grant.Status",
        "DecisionOutcomeEnum": "calls.models.evaluation.Decision.Outcome",
        "DecisionKindEnum": "calls.models.evaluation.Decision.Kind",
        "RedressStatusEnum": "calls.models.redress.RedressRequest.Status",
    },
}

# Content Security Policy: everything is served from this origin (the product runs without internet).
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
# Logging out of a session signed in through the identity provider is a form whose answer redirects to the
# provider's end of session: a browser follows it only if form-action names the provider's origin.
if OIDC_ISSUER:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append("{0.scheme}://{0.netloc}".format(urlsplit(OIDC_ISSUER)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# Grants: the mutual insurance contribution withheld from pre-financing, the share paid as pre-financing,
# and the address printed on award letters for their verification.
GRANTS_MUTUAL_INSURANCE_RATE = env.str("GRANTS_MUTUAL_INSURANCE_RATE", default="0.05")
GRANTS_PREFINANCING_RATE = env.str("GRANTS_PREFINANCING_RATE", default="0.40")
# The public address of this service (letters print it in full, with a QR code); the demo serves on loopback.
GRANTS_PUBLIC_BASE_URL = env.str("GRANTS_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Who signs award letters for the Joint Undertaking: its authorising officer, from the programme data unless the
# deployment names another (an acting or delegated authorising officer).
_AUTHORISING_OFFICER = json.loads((BASE_DIR / "eurohpc" / "data" / "programme.json").read_text())["authorising_officer"]
GRANTS_AUTHORISING_OFFICER_NAME = env.str("GRANTS_AUTHORISING_OFFICER_NAME", default=_AUTHORISING_OFFICER["name"])
GRANTS_AUTHORISING_OFFICER_FUNCTION = env.str(
    "GRANTS_AUTHORISING_OFFICER_FUNCTION", default=_AUTHORISING_OFFICER["function"]
)

# Demo users may be created only where this is true (never in production).
DEMO_USERS_ALLOWED = True
