"""One bill: its facts, its raw bytes to download, and its lines with the records each became."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from tally.errors import TallyError
from tally.ingest.models import Bill
from tally.services import bills as bill_service
from tally.web import labels
from tally.web.error_labels import error_html, explain_error
from tally.web.permissions import VIEW_BILLS, requires
from tally.web.views.requests import HtmxHttpRequest

log = logging.getLogger(__name__)

# Shown beside the raw line, not as record fields.
PROVENANCE = ("bill_sha256", "line_no")


def _bills() -> Any:
    return Bill.objects.select_related("source", "source_version")


@require_safe
@requires(VIEW_BILLS)
def bill_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    bill = get_object_or_404(_bills(), pk=pk)
    return render(request, "tally/bill_detail.html", {
        "bill": bill,
        "error": bill_service.error_of(bill) if bill.status == Bill.Status.REJECTED else None,
        "imported": bill.status == Bill.Status.IMPORTED,
    })


def attachment(name: str) -> str:
    """Content-Disposition for a download named ``name`` (RFC 6266): the exact name in
    ``filename*`` (RFC 8187, UTF-8) when it is not plain ASCII, after an ASCII ``filename``
    for clients that do not read ``filename*``."""
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\' else "_" for ch in name)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@require_safe
@requires(VIEW_BILLS)
def bill_raw(request: HtmxHttpRequest, pk: int) -> HttpResponseBase:
    # A rejected bill's bytes are not kept: there is nothing to download.
    bill = get_object_or_404(_bills(), pk=pk, status=Bill.Status.IMPORTED)
    try:
        handle = bill_service.raw_file(bill)
    except TallyError as exc:
        log.error("download of bill %s refused: %s", bill.pk, exc)
        messages.error(request, format_html("{} {}", _("The raw bytes of this bill cannot be served."),
                                            error_html(explain_error(exc))))
        return redirect("bill-detail", pk=bill.pk)
    # Streamed in chunks from the open file; the bytes exactly as received (a .gz stays gzip:
    # no Content-Encoding, so no browser unpacks it).
    response = FileResponse(handle, content_type="application/octet-stream")
    response["Content-Disposition"] = attachment(bill.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _number(text: str | None) -> int | None:
    """A positive line number from the query string; None for anything else."""
    if text is None or not text.strip().isdigit():
        return None
    number = int(text.strip())
    return number if 0 < number < 1 << 53 else None


@dataclass(frozen=True)
class RecordRow:
    label: str
    cells: list[tuple[Any, str]]  # (value, currency) per record
    is_money: bool


def record_rows(records: list[dict[str, Any]]) -> list[RecordRow]:
    """The records of a line field by field, one column per record; empty SKU fields skipped."""
    names = [name for name in labels.RECORD_FIELDS
             if name not in ("item", "quantity") or any(record.get(name) is not None for record in records)]
    names += sorted({key for record in records for key in record} - set(labels.RECORD_FIELDS) - set(PROVENANCE))
    return [RecordRow(str(labels.RECORD_FIELDS.get(name, name)),
                      [(_shown(name, record.get(name)), record.get("currency") or "") for record in records],
                      name in labels.MONEY_FIELDS)
            for name in names]


def _shown(name: str, value: Any) -> Any:
    """Money stays minor units (the template's money filter); times in the back office's
    time zone with their offset, so they read like the raw line; dates as ISO."""
    if name in labels.MONEY_FIELDS or value is None:
        return value
    if name == "record_kind":
        return str(labels.RECORD_KINDS.get(value, value))
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


@require_safe
@requires(VIEW_BILLS)
def bill_lines(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    bill = get_object_or_404(_bills(), pk=pk, status=Bill.Status.IMPORTED)
    line = _number(request.GET.get("line"))
    first = _number(request.GET.get("from")) or bill_service.page_start(line or 1)
    context: dict[str, Any] = {"bill": bill, "line": line, "page": None, "records": None, "problem": None}
    try:
        page = bill_service.line_page(bill, first)
        context["page"] = page
        if line is not None and line <= page.total:
            records = bill_service.records_at(bill, line)
            context["records"] = records
            context["record_rows"] = record_rows(records)
    except TallyError as exc:
        log.warning("lines of bill %s unavailable: %s", bill.pk, exc)
        context["problem"] = exc
    return render(request, "tally/bill_lines.html", context)
