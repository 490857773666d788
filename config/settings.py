"""Fieldguide settings: one file, configured from the environment.

Defaults are safe for local development (SQLite, DEBUG on, localhost only). Production sets
DJANGO_DEBUG=0, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_SECRET = "django-insecure-fieldguide-development-only-key-change-me"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_tables2",
    "django_filters",
    "django.contrib.postgres",  # full-text search and trigram lookups (inert on SQLite)
    "accounts",
    "kb",
    "triage",
]

MIDDLEWARE = [
    "config.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.request_guard.RequestCharsetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.htmx.VaryOnHtmxMiddleware",
    "accounts.middleware.HtmxLoginRedirectMiddleware",
    "config.security.DatabaseUnavailableMiddleware",
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
                "kb.context_processors.roles",
                "kb.context_processors.form_token",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A small team on SQLite writes concurrently: readers must not block the writer (WAL),
    # and a writer waits its turn rather than failing at once. A transaction takes the write
    # lock when it begins (IMMEDIATE): with the default (DEFERRED) two transactions that
    # both read, then write, deadlock and one fails at once with "database is locked"
    # whatever the timeout. Waiting up to 20 s is far longer than any write here takes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": int(os.environ.get("FIELDGUIDE_SQLITE_TIMEOUT", "20")),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# "default" holds what every worker must see alike: sessions and signed-in users when
# FIELDGUIDE_CACHE_URL=redis://host:6379/0 names a shared cache (accounts.backends), else
# nothing that matters across processes. "local" is each process's own memory, for values
# that are correct wherever they are read: rendered page parts under versioned keys
# (kb.fragments) and "already recorded this minute" marks.
_CACHE_URL = os.environ.get("FIELDGUIDE_CACHE_URL", "")
_LOCAL_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fieldguide-local",
    # Entries are 15-50 kB (a runbook page ~20 kB, a runbook with all its parts ~50 kB):
    # the default keeps a worker's cache under about 150 MB.
    "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("FIELDGUIDE_LOCAL_CACHE_ENTRIES", "3000"))},
}
CACHES = {
    "default": (
        {"BACKEND": "config.cache.ReusedClientRedisCache", "LOCATION": _CACHE_URL}
        if _CACHE_URL
        else {**_LOCAL_CACHE, "LOCATION": "fieldguide-default"}
    ),
    "local": _LOCAL_CACHE,
}
# Login throttling sits in the backend, so every way in (login page, admin) honours it.
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]
if _CACHE_URL:
    # A cache every worker shares can also hold sessions (written through to the database)
    # and signed-in users (dropped on change: accounts.backends).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    AUTHENTICATION_BACKENDS = ["accounts.backends.CachedUserBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Production hardening (DJANGO_DEBUG=0 passes `manage.py check --deploy` with no warnings).
# Behind a TLS-terminating proxy set DJANGO_SECURE_PROXY_SSL_HEADER=1 (trusts
# X-Forwarded-Proto); DJANGO_SECURE_SSL_REDIRECT=0 when the proxy already redirects.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(
    os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Login throttling (accounts.throttling): this many failures per username (4x per address)
# within the window refuse further attempts with 429 until it passes.
FIELDGUIDE_LOGIN_MAX_FAILURES = int(os.environ.get("FIELDGUIDE_LOGIN_MAX_FAILURES", "5"))
FIELDGUIDE_LOGIN_WINDOW_SECONDS = 900
# Proxies (addresses or networks) whose X-Forwarded-For names the real client, for login
# throttling by address: e.g. "127.0.0.1" behind a local nginx. Empty: REMOTE_ADDR only.
FIELDGUIDE_TRUSTED_PROXIES = env_list("FIELDGUIDE_TRUSTED_PROXIES", "")
for _proxy in FIELDGUIDE_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _error:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"FIELDGUIDE_TRUSTED_PROXIES: {_error}") from None


LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Runbook import limits (DESIGN.md §4).
FIELDGUIDE_MAX_RUNBOOK_BYTES = 2 * 1024 * 1024

# Learning the ranking (DESIGN.md §6); any key of triage.ranking.RankingParams.
FIELDGUIDE_RANKING = {
    "prior_strength": float(os.environ.get("FIELDGUIDE_PRIOR_STRENGTH", "4")),
    "unlisted_prior": 0.5,
    # "off" keeps all evidence at full weight forever.
    "half_life_days": (
        None
        if os.environ.get("FIELDGUIDE_HALF_LIFE_DAYS", "180").lower() in {"off", "none", "0"}
        else float(os.environ.get("FIELDGUIDE_HALF_LIFE_DAYS", "180"))
    ),
}
# A re-rank is proposed once this much (decayed) evidence disagrees with the author.
FIELDGUIDE_PROPOSAL_MIN_SESSIONS = 10
# kb shows learned rankings without importing triage (DESIGN.md §2 dependency rule).
FIELDGUIDE_RANKING_PROVIDER = "triage.learning.runbook_ranking"
FIELDGUIDE_RUNBOOK_PANEL = "triage.insights.runbook_panel"
# () → {runbook id: triage sessions}, for "never used in a triage" on /runbooks/health/.
FIELDGUIDE_RUNBOOK_USAGE = "triage.selectors.runbook_session_counts"
# kb.search_query.ParsedQuery → finished sessions that match, for the search page.
FIELDGUIDE_PAST_INCIDENTS = "triage.search.past_incidents"

# Alertmanager webhook (/hooks/alertmanager/): accepted bearer tokens, comma-separated so a
# token can be rotated. None configured → the endpoint refuses every request.
FIELDGUIDE_ALERTMANAGER_TOKENS = env_list("FIELDGUIDE_ALERTMANAGER_TOKENS", "")


# Logs go to stderr (the service manager or container runtime keeps them), one line each,
# with the request id (config/request_id.py): server errors with their traceback, refused
# requests Django flags (bad Host, suspicious operations), refused webhook posts and runbook
# imports. FIELDGUIDE_LOG_LEVEL=DEBUG shows more of Fieldguide's own.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.request_id.RequestIdFilter"}},
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "line",
        },
    },
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "fieldguide": {
            "handlers": ["stderr"],
            "level": os.environ.get("FIELDGUIDE_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
    },
}
