"""The effective settings, read-only, for admins: what this installation runs with. Secrets are
never shown: only whether they are set."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from tally import __version__
from tally.home import engine_name
from tally.web import jobs, lockout
from tally.web.permissions import requires
from tally.web.views.requests import HtmxHttpRequest

VIEW_SETTINGS = "web.read_settings"


def _url_without_secrets(url: str) -> str:
    """``redis://:pw@host:6379/0`` → ``redis://host:6379/0``."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _is_set(value: Any) -> str:
    return str(_("set")) if value else str(_("not set"))


def effective() -> list[tuple[Any, list[tuple[str, Any]]]]:
    db = settings.DATABASES["default"]
    database = (f"{db['ENGINE'].rsplit('.', 1)[-1]} {db.get('NAME')}" if "sqlite" in db["ENGINE"]
                else f"{db['ENGINE'].rsplit('.', 1)[-1]} {db.get('USER') or ''}@{db.get('HOST') or ''}:"
                     f"{db.get('PORT') or ''}/{db.get('NAME')}")
    return [
        (_("Installation"), [
            ("Tally", __version__), ("TALLY_HOME", str(settings.TALLY_HOME)), ("DATABASE_URL", database),
            ("database vendor", connection.vendor), ("TALLY_ENGINE", engine_name()),
            ("DEBUG", settings.DEBUG), ("ALLOWED_HOSTS", ", ".join(settings.ALLOWED_HOSTS)),
        ]),
        (_("Language and time"), [
            ("LANGUAGE_CODE", settings.LANGUAGE_CODE), ("LANGUAGES", ", ".join(c for c, _n in settings.LANGUAGES)),
            ("TIME_ZONE", settings.TIME_ZONE),
        ]),
        (_("Security"), [
            ("SESSION_COOKIE_AGE", f"{settings.SESSION_COOKIE_AGE} s"),
            ("SESSION_EXPIRE_AT_BROWSER_CLOSE", settings.SESSION_EXPIRE_AT_BROWSER_CLOSE),
            ("SESSION_COOKIE_SECURE", settings.SESSION_COOKIE_SECURE),
            ("SECURE_HSTS_SECONDS", settings.SECURE_HSTS_SECONDS),
            ("login lockout", f"{lockout.FAILURES} failures / {lockout.WINDOW} → {lockout.LOCK}"),
            ("TALLY_UPLOAD_MAX_BYTES", settings.TALLY_UPLOAD_MAX_BYTES),
            ("TALLY_REQUEST_MAX_BYTES", settings.TALLY_REQUEST_MAX_BYTES),
            ("TALLY_SECRET_KEY", _is_set(settings.SECRET_KEY)),
        ]),
        (_("Worker and alerts"), [
            ("TALLY_REDIS_URL", _url_without_secrets(settings.TALLY_REDIS_URL) or str(_("not set (SQLite queue)"))),
            ("worker", str(_("running")) if jobs.worker_alive() else str(_("no heartbeat in 3 minutes"))),
            ("TALLY_ALERT_EMAILS", ", ".join(settings.TALLY_ALERT_EMAILS) or "—"),
            ("TALLY_ALERT_WEBHOOK_URL", _url_without_secrets(settings.TALLY_ALERT_WEBHOOK_URL) or "—"),
            ("TALLY_ALERT_WEBHOOK_SECRET", _is_set(settings.TALLY_ALERT_WEBHOOK_SECRET)),
            ("TALLY_ALERT_BREAK_MINOR", settings.TALLY_ALERT_BREAK_MINOR),
            ("TALLY_APPROVAL_REMIND_HOURS", settings.TALLY_APPROVAL_REMIND_HOURS),
            ("TALLY_EXPORT_KEEP_DAYS", settings.TALLY_EXPORT_KEEP_DAYS),
            ("EMAIL_BACKEND", settings.EMAIL_BACKEND),
            ("EMAIL_HOST", f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"),
            ("TALLY_EMAIL_PASSWORD", _is_set(settings.EMAIL_HOST_PASSWORD)),
        ]),
    ]


@require_safe
@requires(VIEW_SETTINGS)
def site_settings(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "tally/office/settings.html", {"groups": effective()})
