"""Django settings for liftsafe.

Everything a deployment changes comes from environment variables with safe
defaults, so that a fresh clone runs on the embedded default (SQLite) and a
production host only sets variables:

- ``LIFTSAFE_PROFILE``: ``dev`` (default) or ``production`` (secure cookies,
  HSTS, no debug; ``manage.py check --deploy`` passes).
- ``LIFTSAFE_DATABASE_URL``: e.g. ``postgresql://liftsafe@db/liftsafe``;
  default ``sqlite:///<data dir>/liftsafe.sqlite3``.
- ``LIFTSAFE_TEST_DATABASE_URL``: the database the test suite runs on
  (default: SQLite).
- ``LIFTSAFE_SECRET_KEY``, ``LIFTSAFE_ALLOWED_HOSTS`` (comma separated),
  ``LIFTSAFE_TIME_ZONE`` (default ``Asia/Shanghai``), ``LIFTSAFE_DATA_DIR``
  (default ``./var``), ``LIFTSAFE_MEDIA_ROOT``.
- ``LIFTSAFE_IMPORT_DIR``: the only directory scheduled imports may read (default
  ``<data dir>/imports``; ``check --deploy`` warns when unset).
- ``LIFTSAFE_CSP_IMG_SRC``: extra image sources for the Content-Security-Policy
  (space separated, e.g. an S3 media host).
- ``LIFTSAFE_S3_BUCKET`` (+ ``LIFTSAFE_S3_ENDPOINT_URL``, ``LIFTSAFE_S3_REGION``,
  ``LIFTSAFE_S3_PREFIX``): media on S3-compatible storage instead of the disk.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


PROFILE = env("LIFTSAFE_PROFILE", "dev")
PRODUCTION = PROFILE == "production"
TESTING = "pytest" in sys.modules or env_bool("LIFTSAFE_TESTING", False)

DATA_DIR = Path(env("LIFTSAFE_DATA_DIR", str(REPO_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

_DEV_SECRET = "dev-only-insecure-secret-key-do-not-use-in-production-liftsafe"
SECRET_KEY = env("LIFTSAFE_SECRET_KEY", None if PRODUCTION else _DEV_SECRET)
if not SECRET_KEY:
    raise RuntimeError("LIFTSAFE_SECRET_KEY must be set when LIFTSAFE_PROFILE=production")

# Debug pages only when asked for (LIFTSAFE_DEBUG=1): the demo is shown to people, and Django's
# debug 404 page lists every URL pattern.
DEBUG = env_bool("LIFTSAFE_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in (env("LIFTSAFE_ALLOWED_HOSTS", "" if PRODUCTION else "*") or "").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in (env("LIFTSAFE_CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "simple_history",
    "ninja",  # serves Swagger UI's files locally (/api/docs works without internet)
    "axes",  # login throttling (liftsafe.core.throttle)
    "csp",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below)
    "liftsafe.core",
    "liftsafe.registry",
    "liftsafe.emergency",
    "liftsafe.monitoring",
    "liftsafe.hazards",
    "liftsafe.inspection",
    "liftsafe.reports",
    "liftsafe.exchange",
    "liftsafe.maintenance",
    "liftsafe.insurance",
    "liftsafe.notices",
    "liftsafe.risk",
    "liftsafe.rating",
    "liftsafe.disclosure",
    "liftsafe.publicity",
    "liftsafe.command",  # the wall screen and the regulator's map (issue 15)
    "liftsafe.demo",  # above the domain apps: the demo data and `liftsafe demo`
]

MIDDLEWARE = [
    "liftsafe.core.input.InputMiddleware",  # first: refuses NUL/surrogates/bad JSON/bad multipart; /api/ errors in JSON
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy header on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "liftsafe.core.i18n.PlatformLanguageMiddleware",  # zh-Hans unless the user chose another language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # login throttling: turns a locked-out sign-in into the 429 page (last)
]

ROOT_URLCONF = "liftsafe.urls"
WSGI_APPLICATION = "liftsafe.wsgi.application"

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
                "liftsafe.core.context_processors.platform",
                "csp.context_processors.nonce",  # {{ CSP_NONCE }} for the few inline <style> blocks
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
_default_db_url = f"sqlite:///{DATA_DIR / 'liftsafe.sqlite3'}"
_db_url = env("LIFTSAFE_TEST_DATABASE_URL") if TESTING else None
_db_url = _db_url or (None if TESTING else env("LIFTSAFE_DATABASE_URL")) or _default_db_url
DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=0 if TESTING else 60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run while the importer or the intake API writes;
    # IMMEDIATE transactions make concurrent writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if TESTING:
        # A file, not Django's shared-cache in-memory database: threads in the
        # tests (MQTT consumers, concurrent intake) then queue on the busy
        # timeout like production does instead of failing with "database
        # table is locked" (SQLITE_LOCKED ignores busy_timeout).
        DATABASES["default"]["TEST"] = {
            "NAME": env("LIFTSAFE_TEST_SQLITE_PATH", str(DATA_DIR / f"test_liftsafe_{os.getpid()}.sqlite3"))
        }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    if TESTING:
        DATABASES["default"]["TEST"] = {"NAME": env("LIFTSAFE_TEST_DATABASE_NAME", "test_liftsafe")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Login throttling per account and per address (django-axes; liftsafe.core.throttle, limits in rules.py)
AUTHENTICATION_BACKENDS = ["liftsafe.core.throttle.LoginThrottleBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = "liftsafe.core.throttle.failure_limit"
AXES_COOLOFF_TIME = "liftsafe.core.throttle.cool_off"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "liftsafe.core.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "liftsafe.core.throttle.client_ip"
LIFTSAFE_PROXY_COUNT = int(env("LIFTSAFE_PROXY_COUNT", "0") or 0)  # trusted reverse proxies in front (X-Forwarded-For)
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18n and time ---------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("LIFTSAFE_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Outside production, WhiteNoise also serves straight from the apps' static folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
# Leaflet and Leaflet.markercluster are served from their XStatic packages (no CDN, no vendored copy; docs/map.md)
import xstatic.pkg.leaflet as _xs_leaflet  # noqa: E402
import xstatic.pkg.leaflet_markercluster as _xs_markercluster  # noqa: E402

STATICFILES_DIRS += [("vendor/leaflet", _xs_leaflet.BASE_DIR), ("vendor/leaflet.markercluster", _xs_markercluster.BASE_DIR)]
# The map's tile layer (docs/map.md): a URL template such as "https://tiles.example.gov.cn/{z}/{x}/{y}.png", or empty
# (the default) for no tiles at all: lifts on a blank background with area extents (tests and intranets have no internet).
# LIFTSAFE_MAP_TILES_CRS says which datum the tiles are drawn in: "wgs84" (OpenStreetMap, most government servers),
# "gcj02" (AMap/Tencent) or "bd09" (Baidu); the map then shifts every point into it (liftsafe.command.geo).
LIFTSAFE_MAP_TILES = env("LIFTSAFE_MAP_TILES", "") or ""
LIFTSAFE_MAP_TILES_CRS = env("LIFTSAFE_MAP_TILES_CRS", "wgs84") or "wgs84"
LIFTSAFE_MAP_ATTRIBUTION = env("LIFTSAFE_MAP_ATTRIBUTION", "") or ""
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("LIFTSAFE_MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING or not PRODUCTION
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Media (evidence photos, reports) on S3-compatible object storage (AWS S3, MinIO,
# Aliyun OSS, Tencent COS …) when LIFTSAFE_S3_BUCKET is set; needs the optional
# extra: pip install -e ".[s3]" (django-storages). Credentials: the usual
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables.
if env("LIFTSAFE_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("LIFTSAFE_S3_BUCKET"),
            "endpoint_url": env("LIFTSAFE_S3_ENDPOINT_URL"),
            "region_name": env("LIFTSAFE_S3_REGION"),
            "location": env("LIFTSAFE_S3_PREFIX", "media"),
            "default_acl": None,
            "querystring_auth": True,  # private objects, time-limited signed URLs
            "file_overwrite": False,
        },
    }

# --- Uploads / imports -------------------------------------------------------
# Import drop directory: scheduled imports (exchange) may only watch directories inside it
# (LIFTSAFE_IMPORT_DIR; default <data dir>/imports; `check --deploy` warns when it is not set).
LIFTSAFE_IMPORT_DIR = Path(env("LIFTSAFE_IMPORT_DIR", str(DATA_DIR / "imports")))
LIFTSAFE_IMPORT_DIR_CONFIGURED = env("LIFTSAFE_IMPORT_DIR") is not None
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security (production profile) ------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("LIFTSAFE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("LIFTSAFE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): the platform serves every asset itself, so only 'self'; no inline
# script at all (behaviours in static/liftsafe/app.js, htmx without eval), inline <style> only with the
# per-request nonce; images also as data: URIs (Swagger UI, chart exports). Extra sources for a deployment
# (e.g. an S3 media host for images): LIFTSAFE_CSP_IMG_SRC (space separated).
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", *(env("LIFTSAFE_CSP_IMG_SRC", "") or "").split()],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # a 403 from PermissionDenied is an expected outcome: one line (user, path, reason), no traceback
    "filters": {"forbidden_one_line": {"()": "liftsafe.core.logfilters.ForbiddenOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"django.request": {"filters": ["forbidden_one_line"]}},
    "root": {"handlers": ["console"], "level": env("LIFTSAFE_LOG_LEVEL", "WARNING" if TESTING else "INFO")},
}

# Rule parameters (time limits, thresholds, weights) live in liftsafe/rules.py;
# a deployment overrides any of them here or with LIFTSAFE_RULES (JSON).
LIFTSAFE_RULES: dict = {}

# Notification outbox channels (liftsafe.core.notifications): the log always; Django e-mail when
# LIFTSAFE_NOTIFY_EMAIL=1 (EMAIL_* settings); a signed webhook when LIFTSAFE_WEBHOOK_URL and
# LIFTSAFE_WEBHOOK_SECRET are set (header X-Liftsafe-Signature: sha256=HMAC(secret, "<ts>.<body>")).
LIFTSAFE_NOTIFICATION_CHANNELS = [{"name": "log", "class": "liftsafe.core.notifications.LogChannel"}]
if env_bool("LIFTSAFE_NOTIFY_EMAIL", False):
    LIFTSAFE_NOTIFICATION_CHANNELS.append({"name": "email", "class": "liftsafe.core.notifications.EmailChannel"})
if env("LIFTSAFE_WEBHOOK_URL"):
    LIFTSAFE_NOTIFICATION_CHANNELS.append({"name": "webhook", "class": "liftsafe.core.notifications.WebhookChannel",
                                           "url": env("LIFTSAFE_WEBHOOK_URL"), "secret": env("LIFTSAFE_WEBHOOK_SECRET", "")})
