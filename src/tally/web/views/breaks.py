"""The break list (filters, 50 per page) and one break's two sides with their raw bill lines."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from tally.breaks.models import Break
from tally.errors import TallyError
from tally.ingest.models import Bill
from tally.services import access
from tally.web import labels
from tally.web.forms import BreakFilter
from tally.web.paging import CappedPaginator
from tally.web.permissions import VIEW_BREAKS, requires
from tally.web.templatetags.tally_format import (
    MISSING,
    kind_label,
    money,
    reason_label,
    record_kind_label,
    status_label,
)
from tally.web.views import workflow
from tally.web.views.requests import HtmxHttpRequest, wants_fragment
from tally.web.workflow_forms import BULK_OPERATIONS, WRITE_OFF_LABELS

log = logging.getLogger(__name__)

PAGE_SIZE = 50
RESULTS_ID = "results"
# Provenance keys of a normalized record: shown with the raw line, not compared.
PROVENANCE = ("bill_sha256", "line_no", "bill_name")


@require_safe
@requires(VIEW_BREAKS)
def break_list(request: HtmxHttpRequest) -> HttpResponse:
    form = BreakFilter(request.GET)
    form.fields["plan"].queryset = access.plans(request.user)  # type: ignore[attr-defined]
    # The table shows none of a break's records or suggestions, nor its plan's spec: not read, not parsed.
    queue = Break.objects.select_related("plan").defer("ours", "theirs", "suggestions", "plan__spec")
    breaks = form.apply(access.breaks(request.user, queue))
    # Counted up to 10,000 only: the queue may hold millions of breaks (tally.web.paging).
    page = CappedPaginator(breaks, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    context = {"form": form, "page": page, "rows": [_shown(brk) for brk in page.object_list],
               "results_id": RESULTS_ID, "filters_query": filters.urlencode(),
               "bulk_operations": list(BULK_OPERATIONS.items()), "write_off_codes": list(WRITE_OFF_LABELS.items())}
    if wants_fragment(request, RESULTS_ID):
        return render(request, "tally/_break_results.html", context)
    return render(request, "tally/break_list.html", context)


def _shown(brk: Break) -> dict[str, Any]:
    """A break as the queue's table shows it, formatted here once, by the same filters the
    template used (fifty rows of template filters cost more than the queries that found them)."""
    return {
        "pk": brk.pk, "url": reverse("break-detail", args=[brk.pk]), "plan_name": brk.plan.name,
        "day_text": brk.day.isoformat(), "detected_text": brk.detected_on.isoformat(),
        "kind": brk.kind, "kind_text": kind_label(brk.kind), "record_kind_text": record_kind_label(brk.record_kind),
        "order_no": brk.order_no or MISSING, "refund_no": brk.refund_no or MISSING,
        "ours_text": money(brk.ours_amount_minor, brk.currency),
        "theirs_text": money(brk.theirs_amount_minor, brk.currency),
        "currency": brk.currency, "reason": brk.reason, "reason_text": reason_label(brk.reason),
        "status": brk.status, "status_text": status_label(brk.status),
    }


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    ours: Any
    theirs: Any
    differs: bool
    is_money: bool


def field_rows(ours: Mapping[str, Any] | None, theirs: Mapping[str, Any] | None) -> list[FieldRow]:
    """The two records column by column; ``differs`` only where both sides exist and disagree."""
    ours, theirs = ours or {}, theirs or {}
    names = list(labels.RECORD_FIELDS)
    names += sorted((set(ours) | set(theirs)) - set(names) - set(PROVENANCE))
    both = bool(ours) and bool(theirs)
    rows = []
    for name in names:
        left, right = ours.get(name), theirs.get(name)
        if left is None and right is None and name not in labels.RECORD_FIELDS:
            continue
        if left is None and right is None and name in ("item", "quantity"):
            continue  # money sources have no SKU columns; do not show empty rows for them
        rows.append(FieldRow(
            name=name,
            label=str(labels.RECORD_FIELDS.get(name, name)),
            ours=left,
            theirs=right,
            differs=both and left != right,
            is_money=name in labels.MONEY_FIELDS,
        ))
    return rows


@dataclass(frozen=True)
class Side:
    record: Mapping[str, Any] | None
    bill_name: str | None
    bill_sha256: str | None
    line_no: int | None
    raw_line: str | None
    bill_id: int | None = None  # the imported bill, for links to its line viewer


def raw_line(sha256: str, line_no: int) -> str | None:
    """The bill line as received, from the archive through the service layer."""
    try:
        from tally.services.bills import raw_line as service_raw_line
    except ImportError:  # the service layer is not installed in this build yet
        return None
    try:
        return service_raw_line(sha256, line_no)
    except TallyError as exc:
        log.warning("raw line of %s:%s unavailable: %s", sha256, line_no, exc.code)
        return None


def side(record: Mapping[str, Any] | None) -> Side:
    if not record:
        return Side(None, None, None, None, None)
    sha256 = record.get("bill_sha256") or None
    line_no = record.get("line_no")
    line_no = int(line_no) if line_no is not None else None
    name = record.get("bill_name") or None
    bill_id = None
    if sha256:
        # The same bytes may be a bill of two sources: prefer the record's own.
        bills = Bill.objects.filter(sha256=sha256, status=Bill.Status.IMPORTED)
        found = (bills.filter(source__name=record.get("source")).values_list("pk", "name").first()
                 or bills.values_list("pk", "name").first())
        if found is not None:
            bill_id, name = found[0], name or found[1]
    line = raw_line(sha256, line_no) if sha256 and line_no is not None else None
    return Side(record, name, sha256, line_no, line, bill_id)


@require_safe
@requires(VIEW_BREAKS)
def break_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    # A break of a plan the user may not see is a 404, like one that does not exist.
    brk = get_object_or_404(access.breaks(request.user, Break.objects.select_related("plan", "assignee")), pk=pk)
    difference = None
    if brk.ours_amount_minor is not None and brk.theirs_amount_minor is not None:
        difference = brk.ours_amount_minor - brk.theirs_amount_minor
    return render(request, "tally/break_detail.html", {
        "break": brk,
        "rows": field_rows(brk.ours, brk.theirs),
        "ours": side(brk.ours),
        "theirs": side(brk.theirs),
        "ours_currency": (brk.ours or {}).get("currency") or brk.currency,
        "theirs_currency": (brk.theirs or {}).get("currency") or brk.currency,
        "difference": difference,
        **workflow.context(request, brk),
    })
