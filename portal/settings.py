"""Settings for the carte grise portal: one file, every value from the environment.

Without any environment the portal runs embedded: a SQLite file under var/, Celery tasks run
in-process after commit. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY and friends
(see .env.example).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    SECRET_KEY = "embedded-debug-only-key-never-use-in-production-0123456789abcdef"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public base URL, used in links that leave the site (QR codes, e-mails). Printed on every
# certificate, so with DEBUG off it must be given and be https; SITE_URL_ALLOW_HTTP is the
# local-only override for the compose stack served over plain http on localhost.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "")
SITE_URL_ALLOW_HTTP = env_bool("SITE_URL_ALLOW_HTTP", False)
if not DEBUG:
    if not SITE_URL:
        raise ImproperlyConfigured(
            "SITE_URL must be set when DEBUG is off: the QR codes of certificates point at it (see .env.example)."
        )
    if not SITE_URL.startswith("https://") and not (SITE_URL_ALLOW_HTTP and SITE_URL.startswith("http://")):
        raise ImproperlyConfigured(
            f"SITE_URL must start with https:// when DEBUG is off (got {SITE_URL!r}); "
            "SITE_URL_ALLOW_HTTP=1 allows http:// for a local stack only (see .env.example)."
        )
# Reverse proxies in front of the portal that each append the address they saw to
# X-Forwarded-For (one TLS proxy: 1). 0 reads only REMOTE_ADDR. Throttles, the login lockout and
# the verification page identify clients through portal.network.client_ip, which reads this count.
NUM_PROXIES = env_int("NUM_PROXIES", 0)

VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "widget_tweaks",
    "dsfr",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",
    "portal",
    "dossiers",
    "cert_workflow",
    "filing",
    "payments",
    "tracking",
    "webhooks",
    "batches",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.session_timeouts.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "dsfr.context_processors.site_config",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED_STATEMENTS", True
):
    # Statements sent with server-side binding (the agents' claim: Django's own queries bind on the
    # client and are never prepared) become prepared statements after a few runs on a connection,
    # so PostgreSQL stops planning them on every run. Off behind a pooler in transaction mode that
    # cannot keep prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded database lives under var/; SQLite serialises writers, so wait for the lock
    # instead of failing at once.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Answers only the FranceConnect callback, and only when FRANCECONNECT_ENABLED (portal/franceconnect.py).
    "portal.franceconnect.FranceConnectBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "space"
LOGOUT_REDIRECT_URL = "home"

# Login lockout (django-axes), counted separately per account and per client address: this many
# failures on one account lock that account from every address, and this many failures from one
# address (on any accounts) lock that address, each for AXES_COOLOFF_MINUTES. Keyed on the pair,
# an attacker would move to the next account while the real user at the same address was locked.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "portal.network.client_ip"
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "portal/lockout.html"

# Session lifetimes by role (portal/session_timeouts.py): idle limit and absolute limit. Staff
# (agents, supervisors, administrators) decide dossiers, so their sessions end sooner.
SESSION_STAFF_IDLE_SECONDS = env_int("SESSION_STAFF_IDLE_MINUTES", 30) * 60
SESSION_STAFF_MAX_SECONDS = env_int("SESSION_STAFF_MAX_HOURS", 10) * 3600
SESSION_PUBLIC_IDLE_SECONDS = env_int("SESSION_PUBLIC_IDLE_MINUTES", 120) * 60
SESSION_PUBLIC_MAX_SECONDS = env_int("SESSION_PUBLIC_MAX_HOURS", 14 * 24) * 3600
# The cookie lasts as long as the longest session allows.
SESSION_COOKIE_AGE = max(SESSION_STAFF_MAX_SECONDS, SESSION_PUBLIC_MAX_SECONDS)

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded documents: a scan or a PDF, never more than this.
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
# An uploaded image is decoded (and re-encoded) only under this many pixels: a tiny file may claim
# 30000×30000 and cost gigabytes once decoded.
DOCUMENT_MAX_PIXELS = env_int("DOCUMENT_MAX_PIXELS", 40_000_000)
# Documents per dossier: enough for every kind and a few pages each, not an unbounded store.
DOCUMENT_MAX_PER_DOSSIER = env_int("DOCUMENT_MAX_PER_DOSSIER", 20)

# Security headers. Behind a TLS-terminating proxy, SECURE_SSL_REDIRECT and the HSTS values come
# from the environment; they are on by default when DEBUG is off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# A refused form (expired session, cookies off) gets a French page in the site's shell.
CSRF_FAILURE_VIEW = "portal.error_views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Personal or dealer organisation tokens, both as "Authorization: Token <secret>".
        "portal.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api_errors.exception_handler",
    # DRF's three, with a JSON parser that answers a too deeply nested body with a 400.
    "DEFAULT_PARSER_CLASSES": [
        "portal.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "120/minute"),
        "user": env_str("THROTTLE_USER", "6000/minute"),
        "token": env_str("THROTTLE_TOKEN", "20/minute"),
        "verify": env_str("THROTTLE_VERIFY", "60/minute"),
    },
    # Clients are told apart by the address behind the trusted proxies, never by what they write
    # in X-Forwarded-For (portal/network.py reads the same value).
    "NUM_PROXIES": NUM_PROXIES,
}
# Lifetime of a new API token (personal or organisation), in days: a leaked token stops working.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
if API_TOKEN_DAYS < 1:
    raise ImproperlyConfigured("API_TOKEN_DAYS must be at least 1: every API token expires.")

SPECTACULAR_SETTINGS = {
    "TITLE": "Portail carte grise — API",
    "DESCRIPTION": "Dépôt et suivi des demandes de certificat d'immatriculation.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets come from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Without deep links each operation's path is plain text, not a link nested in the button that
    # opens the operation (axe `nested-interactive`, serious).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
    # Two choice sets share the field name "status": each gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "PaymentAttemptStatusEnum": "payments.models.PaymentAttempt.Status",
        "PaymentStatusEnum": ["not_due", "unpaid", "partial", "paid"],
    },
}

# Caches: Redis when configured (throttling and lockouts shared across web processes).
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: at-least-once delivery. Without REDIS_URL tasks run eagerly in-process (embedded mode).
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The hard limit stays well under the broker's visibility timeout, so that a task still running is
# never handed to a second worker; a task killed at the limit is redelivered.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_TIME_LIMIT must be shorter than CELERY_VISIBILITY_TIMEOUT, "
        "or a task still running would be delivered to a second worker."
    )
CELERY_TASK_DEFAULT_QUEUE = "default"
# One queue per kind of work, so that slow work (PDF rendering) never delays checks and routing.
CELERY_TASK_ROUTES = {
    "cert_workflow.tasks.check_dossiers": {"queue": "checks"},
    "cert_workflow.tasks.route_dossiers": {"queue": "routing"},
    "cert_workflow.tasks.rebalance_queues": {"queue": "routing"},
    "cert_workflow.tasks.render_documents": {"queue": "pdf"},
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic work (synced into django-celery-beat's tables at start). Each run expires before the
# next one is due, so a stalled beat or worker never piles up duplicates.
CELERY_BEAT_SCHEDULE = {
    "sweep": {"task": "cert_workflow.tasks.sweep", "schedule": 60.0, "options": {"expires": 55}},
    "rebalance-queues": {
        "task": "cert_workflow.tasks.rebalance_queues",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "refresh-stats": {
        "task": "cert_workflow.tasks.refresh_stats",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "complement-reminders": {
        "task": "tracking.tasks.send_complement_reminders",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    "expire-payment-attempts": {
        "task": "payments.tasks.payment_attempts_expire",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "webhooks-retry": {"task": "webhooks.tasks.retry_due", "schedule": 60.0, "options": {"expires": 55}},
    "batches-sweep": {"task": "batches.tasks.sweep", "schedule": 120.0, "options": {"expires": 115}},
}
# A dealer's batch holds at most this many vehicles, checked and inserted this many rows per task.
BATCH_MAX_ROWS = env_int("BATCH_MAX_ROWS", 10_000)
BATCH_CHUNK_SIZE = env_int("BATCH_CHUNK_SIZE", 500)
# Webhooks go only to public https addresses; tests turn this on to use http://127.0.0.1.
WEBHOOKS_ALLOW_LOOPBACK = env_bool("WEBHOOKS_ALLOW_LOOPBACK", False)
# The applicant is reminded by mail, once, when their complement deadline is this many days away.
COMPLEMENT_REMINDER_DAYS = env_int("COMPLEMENT_REMINDER_DAYS", 7)
# The sweep works on chunks, acts on dossiers this many minutes past their deadline, and re-runs
# lost checks this many times before leaving the dossier to a human (it then shows as stuck).
SWEEP_CHUNK_SIZE = env_int("SWEEP_CHUNK_SIZE", 500)
SWEEP_GRACE_MINUTES = env_int("SWEEP_GRACE_MINUTES", 5)
SWEEP_CHECK_RETRIES = env_int("SWEEP_CHECK_RETRIES", 5)
# A worker consuming the pdf queue lays the forms out and renders one document of each kind at
# start, before its pool forks (cert_workflow/tasks.py): a few seconds once, instead of on the
# first documents of every pool process.
RENDER_WORKER_WARMUP = env_bool("RENDER_WORKER_WARMUP", True)
# Workers keep their database connection across tasks instead of reconnecting for each one.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)

# The national plate series: where allocation starts on an empty database (ordinal of AA-001-AA
# is 0). Configurable so that a deployment can continue the real series.
PLATE_SERIES_START = env_int("PLATE_SERIES_START", 0)

# Ed25519 key that signs the verification QR codes of certificates and CPIs (cert_workflow/documents/signing.py):
# the raw 32-byte key in base64 or a PEM, or a PEM file. Without either, a key is generated once under
# VAR_DIR only when DOCUMENT_SIGNING_KEY_GENERATE is on (default: with DEBUG); production must bring
# its own, backed up, since losing it invalidates every QR code already printed.
DOCUMENT_SIGNING_KEY = env_str("DOCUMENT_SIGNING_KEY")
DOCUMENT_SIGNING_KEY_FILE = env_str("DOCUMENT_SIGNING_KEY_FILE")
DOCUMENT_SIGNING_KEY_GENERATE = env_bool("DOCUMENT_SIGNING_KEY_GENERATE", DEBUG)
if not DEBUG and not (DOCUMENT_SIGNING_KEY or DOCUMENT_SIGNING_KEY_FILE or DOCUMENT_SIGNING_KEY_GENERATE):
    raise ImproperlyConfigured(
        "Set DOCUMENT_SIGNING_KEY or DOCUMENT_SIGNING_KEY_FILE when DEBUG is off (see .env.example)."
    )

# Île-de-France Mobilités majoration of Y.1 from 2026-03-01: sources disagree whether the 14 EUR are
# per fiscal horsepower ("per_cv", 68.95 EUR/CV in all) or once per certificate ("flat").
FEES_IDF_MAJORATION = env_str("FEES_IDF_MAJORATION", "per_cv")
# Payments (payments/providers.py): the provider that takes the fees. "fake" is the portal's own
# simulated bank for the embedded mode and the tests (a deploy check warns about it with DEBUG off);
# its notifications are signed with PAYMENT_FAKE_SECRET, or a key derived from SECRET_KEY. A payer who
# never comes back leaves an attempt "started": the sweep marks it abandoned after this many minutes.
PAYMENT_PROVIDER = env_str("PAYMENT_PROVIDER", "fake")
PAYMENT_FAKE_SECRET = env_str("PAYMENT_FAKE_SECRET")
PAYMENT_ATTEMPT_TIMEOUT_MINUTES = env_int("PAYMENT_ATTEMPT_TIMEOUT_MINUTES", 60)
# Routing: the home centre keeps a dossier unless its projected wait exceeds the best other
# centre's by more than this many days.
ROUTING_MARGIN_DAYS = float(env_str("ROUTING_MARGIN_DAYS", "2"))
# Automatic checks run on chunks of this many dossiers per task.
CHECK_CHUNK_SIZE = env_int("CHECK_CHUNK_SIZE", 500)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
    },
}

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ne-pas-repondre@carte-grise.example.fr")
# Where people write to the service: shown on the error pages and the legal pages.
CONTACT_EMAIL = env_str("CONTACT_EMAIL", "contact@carte-grise.example.fr")
# SMTP, when EMAIL_BACKEND is django.core.mail.backends.smtp.EmailBackend.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)

# Citizen accounts (portal/accounts.py): days a sign-up's confirmation link stays valid, and
# seconds a password reset link does.
EMAIL_CONFIRMATION_DAYS = env_int("EMAIL_CONFIRMATION_DAYS", 3)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 24 * 3600)

# FranceConnect login (mozilla-django-oidc, portal/franceconnect.py). Off: no button, its URLs 404.
FRANCECONNECT_ENABLED = env_bool("FRANCECONNECT_ENABLED", False)
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid given_name family_name birthdate birthplace email")
# FranceConnect requires an eIDAS level on the authorisation request.
OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"acr_values": env_str("OIDC_ACR_VALUES", "eidas1")}
OIDC_AUTHENTICATION_CALLBACK_URL = "franceconnect-callback"
OIDC_CREATE_USER = True
OIDC_TIMEOUT = 10
if FRANCECONNECT_ENABLED and not (
    OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET and OIDC_OP_AUTHORIZATION_ENDPOINT and OIDC_OP_TOKEN_ENDPOINT
):
    raise ImproperlyConfigured(
        "FRANCECONNECT_ENABLED needs OIDC_RP_CLIENT_ID, OIDC_RP_CLIENT_SECRET and the OIDC_OP_* "
        "endpoints (see .env.example)."
    )
