"""Django settings for the back office, the API and the service layer.

Everything that differs per deployment comes from the environment (CONTRACT.md: TALLY_HOME,
DATABASE_URL, TALLY_ENGINE; plus TALLY_SECRET_KEY, TALLY_ALLOWED_HOSTS, TALLY_DEBUG).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from tally.home import database_url, home

TALLY_HOME = home()
BASE_DIR = Path(__file__).resolve().parent


def _secret_key() -> str:
    """From the environment, else a random key kept in TALLY_HOME (never logged)."""
    if key := os.environ.get("TALLY_SECRET_KEY"):
        return key
    path = TALLY_HOME / "secret_key"
    if not path.exists():
        TALLY_HOME.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("TALLY_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("TALLY_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "tally.ingest",
    "tally.breaks",
    "tally.web",
]

MIDDLEWARE = [
    "tally.web.middleware.RequestLog",
    "django.middleware.security.SecurityMiddleware",
    "tally.web.middleware.SecurityHeaders",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tally.web.middleware.UserPreferences",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tally.web.urls"
# Django's widget templates, with inputs and selects written out in Python (the same markup).
FORM_RENDERER = "tally.web.renderer.FormRenderer"
WSGI_APPLICATION = "tally.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(database_url(), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web read while a run writes; the timeout waits out a writer instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # Tests get a database file too, not Django's shared in-memory one: there a job's thread that
    # writes while the test reads fails at once ("database table is locked"; the timeout does not
    # apply to shared-cache locks), where a real database file waits as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(home() / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Five failed logins in 15 minutes lock the account for 15 minutes (tally.web.lockout).
AUTHENTICATION_BACKENDS = ["tally.web.lockout.LockoutBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TALLY_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = TALLY_HOME / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Security: sessions expire, cookies are HTTP-only, CSRF is on for every form.
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
TALLY_UPLOAD_MAX_BYTES = int(os.environ.get("TALLY_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
# A whole request (several files at once) larger than this is refused with 413 before a view reads it.
TALLY_REQUEST_MAX_BYTES = int(os.environ.get("TALLY_REQUEST_MAX_BYTES", str(1024 * 1024 * 1024)))
# Behind a TLS-terminating proxy (docs/deploy.md): secure cookies, HSTS, the proxy's scheme header.
if os.environ.get("TALLY_HTTPS") == "1":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS if host and host != "*"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "tally.web.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"},
                 "requests_stdout": {"class": "logging.StreamHandler", "formatter": "json",
                                     "stream": "ext://sys.stdout"},
                 "requests_file": {"class": "tally.web.logs.HomeFileHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TALLY_LOG_LEVEL", "WARNING")},
    # One JSON line per request (tally.web.middleware.RequestLog), to stdout and TALLY_HOME/logs/requests.log.
    "loggers": {"tally.requests": {"handlers": ["requests_stdout", "requests_file"], "level": "INFO",
                                   "propagate": False}},
}

# The worker (docs/deploy.md, "The worker"): Redis for its queue when set, else SQLite under
# TALLY_HOME; where alerts about late bills go. The webhook secret signs, and is never logged.
TALLY_REDIS_URL = os.environ.get("TALLY_REDIS_URL", "")
TALLY_ALERT_EMAILS = [a.strip() for a in os.environ.get("TALLY_ALERT_EMAILS", "").split(",") if a.strip()]
TALLY_ALERT_WEBHOOK_URL = os.environ.get("TALLY_ALERT_WEBHOOK_URL", "")
TALLY_ALERT_WEBHOOK_SECRET = os.environ.get("TALLY_ALERT_WEBHOOK_SECRET", "")
# New breaks at or above this amount (minor units; a plan may override it with alert_threshold_minor).
TALLY_ALERT_BREAK_MINOR = int(os.environ.get("TALLY_ALERT_BREAK_MINOR", "0"))
# A proposed action still waiting after this many hours is reminded again, at most once per this many
# hours (the worker; `tally actions --remind`); 0 turns reminders off.
TALLY_APPROVAL_REMIND_HOURS = int(os.environ.get("TALLY_APPROVAL_REMIND_HOURS", "24"))
# Exports made in the back office are deleted, file and row, this many days after they were asked for (the worker).
TALLY_EXPORT_KEEP_DAYS = int(os.environ.get("TALLY_EXPORT_KEEP_DAYS", "7"))
EMAIL_BACKEND = os.environ.get("TALLY_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("TALLY_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("TALLY_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("TALLY_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("TALLY_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("TALLY_EMAIL_TLS") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("TALLY_FROM_EMAIL", "tally@localhost")

# The break workflow (docs/workflow.md): the merchant's webhook for 补单 and status syncs (a plan's
# merchant_webhook_url overrides the URL), its HMAC secret, and the evidence file size limit.
TALLY_MERCHANT_WEBHOOK_URL = os.environ.get("TALLY_MERCHANT_WEBHOOK_URL", "")
TALLY_MERCHANT_WEBHOOK_SECRET = os.environ.get("TALLY_MERCHANT_WEBHOOK_SECRET", "")
TALLY_EVIDENCE_MAX_BYTES = int(os.environ.get("TALLY_EVIDENCE_MAX_BYTES", str(10 * 1024 * 1024)))
