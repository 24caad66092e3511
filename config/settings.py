"""Settings, read from the environment (and an optional `.env` file) through django-environ.

Every variable is documented in README.md and `.env.example`. Defaults are the embedded
development set-up: SQLite, the django-q2 ORM broker and console e-mail. With DEBUG off the
development keys are refused, so a production deployment cannot start with them by mistake.
"""

from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import environ
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


Number = TypeVar("Number", int, float)


def env_int(name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    """An integer variable within its range, or a start refused with the reason."""
    return _in_range(name, env.int(name, default=default), minimum, maximum)


def env_float(name: str, default: float, *, minimum: float, maximum: float | None = None) -> float:
    """A number variable within its range, or a start refused with the reason."""
    return _in_range(name, env.float(name, default=default), minimum, maximum)


def _in_range(name: str, value: Number, minimum: Number, maximum: Number | None) -> Number:
    # A 0 or negative batch size, timeout or count would crash or stall a fetch much later,
    # far from its cause: refuse to start instead, naming the variable.
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ImproperlyConfigured(f"{name} must be {allowed}, not {value}.")
    return value


DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"  # noqa: S105
DEV_ENCRYPTION_KEY = "dev-only-encryption-key-not-for-production"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
RECEPTION_ENCRYPTION_KEY = env.str("RECEPTION_ENCRYPTION_KEY", default=DEV_ENCRYPTION_KEY)

# Thresholds a generated key (secrets.token_urlsafe(32), openssl rand -hex 16) always passes.
ENCRYPTION_KEY_MIN_LENGTH = 32
ENCRYPTION_KEY_MIN_DISTINCT = 8


def encryption_key_weakness(key: str) -> str | None:
    """Why `key` cannot guard every organization's mailbox secrets, or None when it can.

    Length and variety only: a short, repetitive or hand-typed value falls to a guess, and the
    key is never echoed back in the reason.
    """
    if len(key) < ENCRYPTION_KEY_MIN_LENGTH:
        return f"it needs at least {ENCRYPTION_KEY_MIN_LENGTH} characters"
    if len(set(key)) < ENCRYPTION_KEY_MIN_DISTINCT:
        return f"it needs at least {ENCRYPTION_KEY_MIN_DISTINCT} different characters"
    if any(key[period:] == key[:-period] for period in range(1, len(key) // 2 + 1)):
        return "it must not repeat a shorter sequence"
    return None


if not DEBUG:
    if SECRET_KEY == DEV_SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    if RECEPTION_ENCRYPTION_KEY == DEV_ENCRYPTION_KEY:
        raise ImproperlyConfigured("RECEPTION_ENCRYPTION_KEY must be set when DEBUG is off.")
    if weakness := encryption_key_weakness(RECEPTION_ENCRYPTION_KEY):
        raise ImproperlyConfigured(
            f"RECEPTION_ENCRYPTION_KEY is too weak: {weakness}. Use random characters, e.g. "
            'the output of `python -c "import secrets; print(secrets.token_urlsafe(48))"`.'
        )
if RECEPTION_ENCRYPTION_KEY == SECRET_KEY:
    raise ImproperlyConfigured("RECEPTION_ENCRYPTION_KEY must differ from SECRET_KEY.")

# django-cryptography derives the field-encryption key from this, not from SECRET_KEY.
CRYPTOGRAPHY_KEY = RECEPTION_ENCRYPTION_KEY
CRYPTOGRAPHY_SALT = "recepcion-fe.secrets"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
if not SITE_URL:
    # The links in e-mails (a backup's confirmation) would otherwise point at localhost.
    raise ImproperlyConfigured(
        "SITE_URL must be set when DEBUG is off, e.g. https://recepcion.example.com."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "organizations",
    "reception",
    "invoices",
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
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("CONN_MAX_AGE", 0, minimum=0))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: tests that run the worker or a fetch in another process share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # Write-ahead log, still synced at every commit: as durable as the default rollback journal
    # but one fsync per commit instead of several (23 -> 3.4 ms per commit on this disk), and
    # readers no longer block the fetch's writer.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "es-co"
LANGUAGES = [("es-co", _("Español (Colombia)")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
#: Colombian dates and numbers (dd/mm/aaaa, 1.234,56): config/formats/es_CO/formats.py.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "America/Bogota"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Stored mail and documents are served only through permission-checked views, never by URL.
PRIVATE_STORAGE_ROOT = MEDIA_ROOT / "private"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Recepción FE <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOGIN_URL = "admin:login"

# --- Mailbox access ---------------------------------------------------------------------------
MICROSOFT_AUTHORITY_HOST = env.str(
    "MICROSOFT_AUTHORITY_HOST", default="https://login.microsoftonline.com"
).rstrip("/")
RECEPTION_CA_BUNDLE = env.str("RECEPTION_CA_BUNDLE", default="") or None
RECEPTION_NETWORK_TIMEOUT = env_float("RECEPTION_NETWORK_TIMEOUT", 30.0, minimum=0.1, maximum=600.0)
# DIAN's web service for RADIAN events; empty: DIAN's habilitación or producción endpoint,
# by the organization's environment. TLS trusts the system store plus RECEPTION_CA_BUNDLE.
DIAN_WS_URL = env.str("DIAN_WS_URL", default="")
DIAN_WS_TIMEOUT = env_float("DIAN_WS_TIMEOUT", 30.0, minimum=0.1, maximum=600.0)
# Days before the signing certificate expires when Back office is warned by e-mail.
DIAN_CERTIFICATE_WARNING_DAYS = env_int("DIAN_CERTIFICATE_WARNING_DAYS", 30, minimum=1, maximum=365)
# Hosts a mailbox credential may be sent to beyond Microsoft's (tokens) and public addresses on
# the IMAP/POP ports (passwords): "host" or "host:port", comma-separated; labs and tests.
RECEPTION_ALLOWED_MAIL_HOSTS = env.list("RECEPTION_ALLOWED_MAIL_HOSTS", default=[])
RECEPTION_MAX_MESSAGE_BYTES = env_int("RECEPTION_MAX_MESSAGE_BYTES", 25 * 1024 * 1024, minimum=1024)
RECEPTION_MAX_MESSAGES_PER_RUN = env_int("RECEPTION_MAX_MESSAGES_PER_RUN", 2000, minimum=1)
RECEPTION_FETCH_BATCH_SIZE = env_int("RECEPTION_FETCH_BATCH_SIZE", 100, minimum=1, maximum=10_000)
# Processes that parse a fetch's e-mails beside the one that downloads and records them; the
# pool only starts for a batch of 8 or more, and never inside a daemonic worker process.
RECEPTION_PARSE_PROCESSES = env_int("RECEPTION_PARSE_PROCESSES", 2, minimum=1, maximum=64)
RECEPTION_FETCH_INTERVAL_MINUTES = env_int("RECEPTION_FETCH_INTERVAL_MINUTES", 5, minimum=1)
RECEPTION_SECRET_WARNING_DAYS = env_int("RECEPTION_SECRET_WARNING_DAYS", 5, minimum=0)
RECEPTION_TRANSIENT_FAILURES_TO_INACTIVATE = env_int(
    "RECEPTION_TRANSIENT_FAILURES_TO_INACTIVATE", 5, minimum=1
)
RECEPTION_TRANSIENT_FAILURE_WINDOW_HOURS = env_float(
    "RECEPTION_TRANSIENT_FAILURE_WINDOW_HOURS", 6.0, minimum=0.0
)
RECEPTION_BACKUP_CONFIRMATION_DAYS = env_int("RECEPTION_BACKUP_CONFIRMATION_DAYS", 7, minimum=1)
# An Activo mailbox not read successfully for more than this many fetch intervals is late.
RECEPTION_STALE_FETCH_INTERVALS = env_int("RECEPTION_STALE_FETCH_INTERVALS", 3, minimum=1)

# --- Background worker (django-q2) -----------------------------------------------------------
Q_REDIS_URL = env.str("Q_REDIS_URL", default="")
Q_TASK_TIMEOUT = env_int("Q_TASK_TIMEOUT", 1800, minimum=60)
Q_CLUSTER = {
    # The broker's key prefix: deployments (or test runs) sharing one Redis use different ones.
    "name": env.str("Q_BROKER_PREFIX", default="recepcion-fe"),
    "workers": env_int("Q_WORKERS", 2, minimum=1, maximum=64),
    "timeout": Q_TASK_TIMEOUT,
    # A task is retried only after it surely timed out, never while it still runs.
    "retry": Q_TASK_TIMEOUT + 300,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "label": _("Tareas en segundo plano"),
}
if Q_REDIS_URL:
    Q_CLUSTER["redis"] = Q_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# LOG_FORMAT=json: one JSON object per line, with the organization and mailbox of a fetch.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured('LOG_FORMAT must be "plain" or "json".')
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.observability.LogContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django-q": {"level": env.str("Q_LOG_LEVEL", default="WARNING")}},
}

# --- Deployment: HTTPS, browser policies, login rate limit -------------------------------------
# With DEBUG off the site is served over HTTPS only. Behind a reverse proxy that terminates TLS,
# SECURE_PROXY_SSL_HEADER names the header the proxy sets (and strips from clients), e.g.
# "HTTP_X_FORWARDED_PROTO,https"; TRUSTED_PROXY_COUNT says how many proxies append to
# X-Forwarded-For, so that the login rate limit sees the client's address, not the proxy's.
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# A load balancer's probe may come over plain HTTP on the private network: answer it there.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if proxy_ssl_header := env.str("SECURE_PROXY_SSL_HEADER", default=""):
    header_name, _comma, header_value = (part.strip() for part in proxy_ssl_header.partition(","))
    if not header_name.startswith("HTTP_") or not header_value or "," in header_value:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be a request.META name and a value, "
            'e.g. "HTTP_X_FORWARDED_PROTO,https".'
        )
    SECURE_PROXY_SSL_HEADER = (header_name, header_value)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Pages are never framed by another site; the document page frames its own PDF, whose view
# answers SAMEORIGIN (and frame-ancestors below says the same to current browsers).
X_FRAME_OPTIONS = "DENY"

# django-csp: scripts and styles only from our static files (no inline code anywhere), no
# plugins, forms posting only here. Applied in development too, so a violation shows early.
INSTALLED_APPS += ["csp", "axes"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF],
        "style-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "frame-ancestors": [csp_constants.SELF],
        "base-uri": [csp_constants.SELF],
        "form-action": [csp_constants.SELF],
    },
}

# django-axes: after LOGIN_FAILURE_LIMIT failed logins of one user from one address, that pair
# is refused (even with the right password) for LOGIN_LOCKOUT_MINUTES, with a Spanish page.
# Its backend must come first: it refuses before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The CSP header is added after axes may have replaced the answer with its lockout page.
MIDDLEWARE += ["csp.middleware.CSPMiddleware", "axes.middleware.AxesMiddleware"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
AXES_ENABLE_ADMIN = False  # unlock with `manage.py axes_reset_username <user>`
AXES_DISABLE_ACCESS_LOG = True  # only failures are kept, not every login
AXES_VERBOSE = False  # no banner on every manage.py command

# Optional error reports (sentry-sdk), without personal data and with these values scrubbed.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config.observability import sentry_init

    sentry_init(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        secrets=[
            SECRET_KEY,
            RECEPTION_ENCRYPTION_KEY,
            DATABASES["default"].get("PASSWORD", ""),
            vars().get("EMAIL_HOST_PASSWORD", ""),
        ],
    )
