"""The one settings module. Every value comes from `antenne.config` (documented in
docs/settings.md); nothing here reads the environment directly or restates a default: the
readers take it from the declarations in `antenne/config/`, and the few defaults computed
from other settings (allowed hosts, database, secure cookies, OpenID endpoints) are declared
empty there, with their meaning documented."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

from antenne import config
from antenne.config import private_files

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()
config.private_dir(DATA_DIR)  # mode 0700: the database, secret key, covers, exports


def _secret_key() -> str:
    explicit = config.get("ANTENNE_SECRET_KEY")
    if explicit:
        return explicit
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once never write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = config.get_bool("ANTENNE_DEBUG")

BASE_URL = config.get("ANTENNE_BASE_URL").rstrip("/")
_base = urlsplit(BASE_URL)
if _base.scheme not in ("http", "https") or not _base.hostname:
    raise config.ConfigError(f"ANTENNE_BASE_URL={BASE_URL!r}: expected http(s)://host[:port]")
ALLOWED_HOSTS = config.get_list("ANTENNE_ALLOWED_HOSTS") or [
    _base.hostname,
    "127.0.0.1",
    "localhost",
]
SECURE_COOKIES = config.get_bool("ANTENNE_SECURE_COOKIES", computed=_base.scheme == "https")

WORKSPACE_NAME = config.get("ANTENNE_WORKSPACE_NAME")
WORKSPACE_EMAIL_DOMAINS = [
    d.lower().lstrip("@") for d in config.get_list("ANTENNE_WORKSPACE_EMAIL_DOMAINS")
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "dsfr",
    "widget_tweaks",
    "mozilla_django_oidc",
    "antenne.core",
    "antenne.outbox",
    "antenne.accounts",
    "antenne.mailing",
    "antenne.events",
    "antenne.registrations",
    "antenne.rooms",
    "antenne.analytics",
    "antenne.telephony",
    "antenne.control",
    "antenne.public",
    "antenne.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "antenne.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "antenne.core.middleware.LanguageMiddleware",
    "antenne.core.request_checks.RequestChecksMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "antenne.core.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "antenne.urls"
ASGI_APPLICATION = "antenne.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "antenne.core.context_processors.antenne",
            ],
        },
    }
]

# --- Database
DATABASES = {
    "default": dj_database_url.parse(
        config.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'antenne.sqlite3'}",
        # No persistent connections: under ASGI each request runs its sync code in its own
        # thread, so kept connections pile up until PostgreSQL refuses new clients
        # (bench/registrations.py hit "too many clients" with two processes).
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the in-process worker write while web requests read; IMMEDIATE transactions
    # take the write lock up front instead of failing half-way with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    _sqlite = Path(DATABASES["default"]["NAME"])
    if _sqlite.parent.is_dir() and not str(_sqlite).startswith((":memory:", "file:")):
        # 0600 before SQLite creates it: its journal files copy the database's mode.
        config.private_file(_sqlite)
        for _suffix in ("-wal", "-shm", "-journal"):
            config.make_private(_sqlite.with_name(_sqlite.name + _suffix))
DB_POOL_SIZE = config.get_int("ANTENNE_DB_POOL_SIZE")
if DB_POOL_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_SIZE,
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer, cache
REDIS_URL = config.get("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "antenne",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Background tasks
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
RUN_WORKER = config.get_bool("ANTENNE_RUN_WORKER")
WORKER_INTERVAL = float(config.get_int("ANTENNE_WORKER_INTERVAL"))

# --- Accounts and sessions
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "public:login"
LOGIN_REDIRECT_URL = "control:dashboard"
LOGOUT_REDIRECT_URL = "public:home"
LOGIN_LINK_MINUTES = config.get_int("ANTENNE_LOGIN_LINK_MINUTES", minimum=1)
SESSION_ENGINE = "antenne.core.sessions"
SESSION_COOKIE_AGE = config.get_int("ANTENNE_SESSION_DAYS", minimum=1) * 86400
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"]
CSRF_FAILURE_VIEW = "antenne.core.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SECURE_COOKIES:
    SECURE_HSTS_SECONDS = 31536000

# OpenID Connect (ProConnect-compatible), active only when an issuer is configured.
OIDC_ENABLED = bool(config.get("ANTENNE_OIDC_ISSUER"))
if OIDC_ENABLED:
    _issuer = config.get("ANTENNE_OIDC_ISSUER").rstrip("/")
    AUTHENTICATION_BACKENDS.append("antenne.accounts.oidc.AntenneOIDCBackend")
    OIDC_RP_CLIENT_ID = config.get("ANTENNE_OIDC_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = config.get("ANTENNE_OIDC_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = config.get("ANTENNE_OIDC_SIGN_ALGO")
    OIDC_RP_SCOPES = config.get("ANTENNE_OIDC_SCOPES")
    OIDC_OP_AUTHORIZATION_ENDPOINT = config.get(
        "ANTENNE_OIDC_AUTHORIZATION_ENDPOINT", computed=f"{_issuer}/authorize"
    )
    OIDC_OP_TOKEN_ENDPOINT = config.get("ANTENNE_OIDC_TOKEN_ENDPOINT", computed=f"{_issuer}/token")
    OIDC_OP_USER_ENDPOINT = config.get(
        "ANTENNE_OIDC_USERINFO_ENDPOINT", computed=f"{_issuer}/userinfo"
    )
    OIDC_OP_JWKS_ENDPOINT = config.get("ANTENNE_OIDC_JWKS_ENDPOINT", computed=f"{_issuer}/jwks")
    _acr = config.get("ANTENNE_OIDC_ACR_VALUES")
    OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"acr_values": _acr} if _acr else {}
    OIDC_USE_NONCE = True
    OIDC_CREATE_USER = False
    OIDC_STORE_ID_TOKEN = True
    OIDC_TIMEOUT = 10
    OIDC_CALLBACK_CLASS = "antenne.accounts.oidc.AntenneOIDCCallbackView"
    LOGIN_REDIRECT_URL_FAILURE = "/login/?oidc=failed"

# --- Email
EMAIL_MODE = config.get("ANTENNE_EMAIL").lower()
_EMAIL_BACKENDS = {
    "mailbox": "antenne.outbox.backends.MailboxBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
}
if EMAIL_MODE not in _EMAIL_BACKENDS:
    raise config.ConfigError(f"ANTENNE_EMAIL={EMAIL_MODE!r}: expected mailbox, smtp or console")
EMAIL_BACKEND = _EMAIL_BACKENDS[EMAIL_MODE]
EMAIL_HOST = config.get("ANTENNE_EMAIL_HOST")
EMAIL_PORT = config.get_int("ANTENNE_EMAIL_PORT", minimum=1)
EMAIL_HOST_USER = config.get("ANTENNE_EMAIL_USER")
EMAIL_HOST_PASSWORD = config.get("ANTENNE_EMAIL_PASSWORD")
_tls = config.get("ANTENNE_EMAIL_TLS").lower()
if _tls not in ("none", "starttls", "ssl"):
    raise config.ConfigError(f"ANTENNE_EMAIL_TLS={_tls!r}: expected none, starttls or ssl")
EMAIL_USE_TLS = _tls == "starttls"
EMAIL_USE_SSL = _tls == "ssl"
EMAIL_TIMEOUT = config.get_int("ANTENNE_EMAIL_TIMEOUT", minimum=1)
EMAIL_RETRY_SECONDS = config.get_int("ANTENNE_EMAIL_RETRY_SECONDS", minimum=0)
EMAIL_MAX_ATTEMPTS = config.get_int("ANTENNE_EMAIL_MAX_ATTEMPTS", minimum=1)
SECOND_APPROVAL_THRESHOLD = config.get_int("ANTENNE_SECOND_APPROVAL_THRESHOLD", minimum=0)
CAMPAIGN_CANARY_SIZE = config.get_int("ANTENNE_CAMPAIGN_CANARY_SIZE", minimum=0)
CAMPAIGN_CANARY_PAUSE = config.get_int("ANTENNE_CAMPAIGN_CANARY_PAUSE", minimum=0)
FOLLOWUP_DELAY_MINUTES = config.get_int("ANTENNE_FOLLOWUP_DELAY_MINUTES", minimum=0)
LIVE_MAX_CONNECTIONS = config.get_int("ANTENNE_LIVE_MAX_CONNECTIONS", minimum=0)
LIVE_JOIN_TIMEOUT = config.get_int("ANTENNE_LIVE_JOIN_TIMEOUT", minimum=1)
LIVE_MAX_UNJOINED = config.get_int("ANTENNE_LIVE_MAX_UNJOINED", minimum=1)
DEFAULT_FROM_EMAIL = config.get("ANTENNE_EMAIL_FROM")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Webinars
CONFLICT_BUFFER_MINUTES = config.get_int("ANTENNE_CONFLICT_BUFFER_MINUTES")
MAX_PARALLEL_SESSIONS = config.get_int("ANTENNE_MAX_PARALLEL_SESSIONS", minimum=1)
CONSENT_TEXT = config.get("ANTENNE_CONSENT_TEXT")  # empty: the translated default
PRIVACY_URL = config.get("ANTENNE_PRIVACY_URL")
COVER_MAX_BYTES = config.get_int("ANTENNE_COVER_MAX_MB", minimum=1) * 1024 * 1024

# --- Analytics and data protection
AUTO_EXPORT_ON_END = config.get_bool("ANTENNE_AUTO_EXPORT_ON_END")
EXPORT_LINK_DAYS = config.get_int("ANTENNE_EXPORT_LINK_DAYS", minimum=1)
RETENTION_DAYS = config.get_int("ANTENNE_RETENTION_DAYS", minimum=0)
# Export files: in the data dir, never under static or media (served by a checking view).
EXPORTS_DIR = DATA_DIR / "exports"

# --- Media
MEDIA_ENGINE = config.get("ANTENNE_MEDIA_ENGINE").lower()
if MEDIA_ENGINE not in ("embedded", "janus"):
    raise config.ConfigError(f"ANTENNE_MEDIA_ENGINE={MEDIA_ENGINE!r}: expected embedded or janus")
ICE_SERVERS = config.get_ice_servers("ANTENNE_ICE_SERVERS")
STAGE_MAX_STREAMS = config.get_int("ANTENNE_STAGE_MAX_STREAMS", minimum=1)
JANUS_URLS = config.get_list("ANTENNE_JANUS_URLS")
JANUS_ADMIN_URLS = config.get_list("ANTENNE_JANUS_ADMIN_URLS")
JANUS_API_SECRET = config.get("ANTENNE_JANUS_API_SECRET")
JANUS_ADMIN_SECRET = config.get("ANTENNE_JANUS_ADMIN_SECRET")
JANUS_ROOM_SECRET = config.get("ANTENNE_JANUS_ROOM_SECRET")
JANUS_EVENTS_SECRET = config.get("ANTENNE_JANUS_EVENTS_SECRET")
if MEDIA_ENGINE == "janus" and not (JANUS_API_SECRET and JANUS_ADMIN_SECRET):
    raise config.ConfigError(
        "ANTENNE_MEDIA_ENGINE=janus needs ANTENNE_JANUS_API_SECRET and ANTENNE_JANUS_ADMIN_SECRET"
    )

# --- Telephony
PHONE_NUMBER = config.get("ANTENNE_PHONE_NUMBER")
SIP_BIND = config.get("ANTENNE_SIP_BIND")
SIP_PUBLIC_HOST = config.get("ANTENNE_SIP_PUBLIC_HOST")
SIP_MAX_CALLS = config.get_int("ANTENNE_SIP_MAX_CALLS", minimum=1)
SIP_ALLOWED_SOURCES = config.get_networks("ANTENNE_SIP_ALLOWED_SOURCES")
SIP_REGISTRAR = config.get("ANTENNE_SIP_REGISTRAR")
SIP_USERNAME = config.get("ANTENNE_SIP_USERNAME")
SIP_PASSWORD = config.get("ANTENNE_SIP_PASSWORD")
RATE_LIMIT_PIN = config.get_rate("ANTENNE_RATE_LIMIT_PIN")

# --- Rate limits (count, seconds)
RATE_LIMIT_LOGIN = config.get_rate("ANTENNE_RATE_LIMIT_LOGIN")
RATE_LIMIT_ACCESS_REQUEST = config.get_rate("ANTENNE_RATE_LIMIT_ACCESS_REQUEST")
RATE_LIMIT_SECRET = config.get_rate("ANTENNE_RATE_LIMIT_SECRET")
RATE_LIMIT_REGISTER = config.get_rate("ANTENNE_RATE_LIMIT_REGISTER")
RATE_LIMIT_REGISTER_CLIENT = config.get_rate("ANTENNE_RATE_LIMIT_REGISTER_CLIENT")
RATE_LIMIT_LIVE_JOIN = config.get_rate("ANTENNE_RATE_LIMIT_LIVE_JOIN")
# The reverse proxies whose X-Forwarded-For / -Proto are believed (`core.ratelimit.client_ip`,
# and uvicorn's proxy headers in `antenne run`).
TRUSTED_PROXIES = config.get_networks("ANTENNE_TRUSTED_PROXIES")

# --- Internationalisation
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LANGUAGE_CODE = config.get("ANTENNE_LANGUAGE")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise config.ConfigError(f"ANTENNE_LANGUAGE={LANGUAGE_CODE!r}: expected fr or en")
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = config.get("ANTENNE_TIME_ZONE")

# --- Static and media files
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_PERMISSIONS = private_files.FILE_MODE  # uploaded covers: 0600, in 0700 folders
FILE_UPLOAD_DIRECTORY_PERMISSIONS = private_files.DIR_MODE
WHITENOISE_USE_FINDERS = True
DSFR_USE_INTEGRITY_CHECKSUMS = True

NINJA_PAGINATION_PER_PAGE = 50

# --- Logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"private_path": {"()": "antenne.core.error_log.PrivatePathFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "errors": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["private_path"],
        },
    },
    "loggers": {
        "antenne": {"handlers": ["console"], "level": config.get("ANTENNE_LOG_LEVEL")},
        "django_tasks_db": {"handlers": ["console"], "level": "WARNING"},
        # A view's unhandled error (a 500), with its traceback and the path without the
        # secrets some paths carry (`core.error_log`). Django alone only emails ADMINS.
        "django.request": {"handlers": ["errors"], "level": "ERROR", "propagate": False},
    },
}
