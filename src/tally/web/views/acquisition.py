"""Bills by day: the calendar of source × day, its Retry button, and each source's fetch history.

The states and their reasons come from tally.services.acquisition (the same rules the worker
follows); Retry runs one fetch now through tally.services.fetching (an inbox source: one scan),
exactly what ``tally fetch`` does; a try that failed, was refused or rejected says why in the
reader's language (tally.web.fetch_reasons), beside the reason as recorded. Fetch settings are shown
as declared: secrets appear only as the names of their environment variables or files, never as
values.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from tally.errors import TallyError
from tally.ingest.models import FetchAttempt, Source
from tally.services import acquisition, fetching, inbox
from tally.web import labels
from tally.web.error_labels import error_html, explain_error
from tally.web.fetch_reasons import attempt_reason, cell_reason, fetch_error
from tally.web.permissions import ADD_BILL, VIEW_BILLS, VIEW_FETCHES, requires
from tally.web.views.requests import HtmxHttpRequest

CALENDAR_DAYS = 14
PAGE_SIZE = 50
# Keys of a fetch table that would hold a secret's value; a declaration never has them
# (tally.config refuses it), and the page would not show one if it did.
SECRET_VALUES = ("password", "private_key", "passphrase", "api_key", "private_key_password", "app_auth_token")


@require_safe
@requires(VIEW_BILLS)
def calendar(request: HtmxHttpRequest) -> HttpResponse:
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(CALENDAR_DAYS, 0, -1)]
    rows = []
    for source, cells in acquisition.calendar(days, timezone.now()):
        fetch = source.spec.get("fetch") or {}
        rows.append({"source": source, "transport": fetch.get("transport", ""),
                     "cells": [{"cell": c, "label": labels.FETCH_STATES.get(c.state, c.state),
                                "reason": cell_reason(c.reason)} for c in cells]})
    context = {"days": days, "rows": rows, "states": labels.FETCH_STATES}
    return render(request, "tally/calendar.html", context)


@require_POST
@requires(ADD_BILL)
def retry(request: HtmxHttpRequest) -> HttpResponse:
    source = get_object_or_404(Source, name=request.POST.get("source", ""))
    try:
        day = date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        return HttpResponseBadRequest(_("The day is not a date YYYY-MM-DD."))
    back = reverse("calendar") + f"#{source.name}-{day.isoformat()}"
    try:
        if (source.spec.get("fetch") or {}).get("transport") == "inbox":
            scanned = inbox.scan(source.name)
            messages.info(request, _("%(source)s: %(count)s file(s) taken from the inbox.")
                          % {"source": source.name, "count": len(scanned)})
            return redirect(back)
        attempt = fetching.fetch(source.name, day)
    except TallyError as exc:
        messages.error(request, error_html(explain_error(exc)))
        return redirect(back)
    outcome = labels.FETCH_OUTCOMES.get(attempt.outcome, attempt.outcome)
    text = _("%(source)s, %(day)s: %(outcome)s") % {"source": source.name, "day": day.isoformat(), "outcome": outcome}
    error = fetch_error(attempt.outcome, attempt.code, attempt.reason)
    if error is not None:
        messages.error(request, format_html("{} {}", text, error_html(error)))
        return redirect(back)
    if attempt.reason:
        text = f"{text} — {attempt_reason(attempt.reason)}"
    if attempt.exit_code == 0:
        messages.success(request, text)
    else:
        messages.error(request, text)
    return redirect(back)


@require_safe
@requires(VIEW_FETCHES)
def fetch_history(request: HtmxHttpRequest, name: str) -> HttpResponse:
    source = get_object_or_404(Source, name=name)
    attempts = FetchAttempt.objects.filter(source=source).select_related("bill").order_by("-started_at", "-pk")
    page = Paginator(attempts, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"attempt": a, "label": labels.FETCH_OUTCOMES.get(a.outcome, a.outcome), "seconds": _seconds(a),
             "error": fetch_error(a.outcome, str(a.details.get("code") or ""), a.reason),
             "reason": attempt_reason(a.reason),
             "details": _details(a.details)} for a in page]
    context = {"source": source, "page": page, "rows": rows, "settings": shown_settings(source.spec.get("fetch"))}
    return render(request, "tally/fetch_history.html", context)


def shown_settings(table: Any) -> list[tuple[str, str]]:
    """The fetch table as ``key = value`` lines; a secret's value (never declared) is masked."""
    if not isinstance(table, dict):
        return []
    return [(key, "••••••" if key in SECRET_VALUES else str(value)) for key, value in sorted(table.items())]


def _seconds(attempt: FetchAttempt) -> float | None:
    if attempt.finished_at is None:
        return None
    return round((attempt.finished_at - attempt.started_at).total_seconds(), 1)


def _details(details: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for key, value in sorted(details.items()):
        text = str(value)
        if key == "remote_files" and isinstance(value, list):
            text = ", ".join(f"{f.get('path')} ({f.get('size')} B)" for f in value if isinstance(f, dict))
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        shown.append((key, text))
    return shown
