"""The data browser: a source's records for a day or a range, served by the engine from the lake.
Its exports are jobs (web.views.exports)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from tally.errors import TallyError
from tally.ingest.models import Bill, Source
from tally.services import browsing
from tally.web.browse_forms import BrowseForm
from tally.web.permissions import VIEW_BILLS, requires
from tally.web.templatetags.tally_format import MISSING, money, record_kind_label
from tally.web.views.requests import HtmxHttpRequest, wants_fragment

PAGE_SIZE = 50
RESULTS_ID = "records"


def _form(request: HtmxHttpRequest) -> BrowseForm:
    data = request.GET.copy()
    if "source" not in data:
        # Nothing asked yet: the first source's latest day with a bill.
        bill = (Bill.objects.filter(status=Bill.Status.IMPORTED, business_day__isnull=False)
                .select_related("source").order_by("-business_day", "source__name").first())
        source = bill.source if bill else Source.objects.order_by("name").first()
        if source is not None:
            data["source"] = source.name
            day = bill.business_day if bill and bill.business_day else timezone.localdate()
            data.setdefault("first", day.isoformat())
    return BrowseForm(data)


def _query(form: BrowseForm) -> Any:
    data = form.cleaned_data
    return browsing.query(data["source"], data["first"], data["last"], form.filters())


@require_safe
@requires(VIEW_BILLS)
def browser(request: HtmxHttpRequest) -> HttpResponse:
    form = _form(request)
    context: dict[str, Any] = {"form": form, "results_id": RESULTS_ID, "rows": [], "error": None}
    if form.is_bound and form.is_valid():
        try:
            q = _query(form)
            result = browsing.page(q, after=request.GET.getlist("after") or None, limit=PAGE_SIZE)
        except TallyError as exc:
            context["error"] = exc
        else:
            start = _int(request.GET.get("n"))
            params = QueryDict(mutable=True)
            params.update(form.data)
            params.pop("after", None)
            params.pop("n", None)
            context.update(_page_context(q, result, params, start))
    if wants_fragment(request, RESULTS_ID):
        return render(request, "tally/office/_records.html", context)
    return render(request, "tally/office/browser.html", context)


def _int(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0


def _page_context(q: Any, result: Any, params: QueryDict, start: int) -> dict[str, Any]:
    shas = {row["bill_sha256"] for row in result.rows}
    bills = dict(Bill.objects.filter(sha256__in=shas, status=Bill.Status.IMPORTED).values_list("sha256", "name"))
    cursor = browsing.next_cursor(result)
    next_query = None
    if cursor is not None:
        following = params.copy()
        following.setlist("after", cursor)
        following["n"] = str(start + len(result.rows))
        next_query = following.urlencode()
    return {"rows": [_shown(row, bills) for row in result.rows], "first_row": start + 1,
            "last_row": start + len(result.rows),
            "next_query": next_query, "first_query": params.urlencode() if start else None,
            "query_string": params.urlencode(), "files": len(q.files)}


def _shown(row: dict[str, Any], bills: dict[str, str]) -> dict[str, Any]:
    """A record as the table shows it, formatted here once (fifty rows of template filters cost
    more than the query that found them)."""
    currency = row.get("currency") or ""
    occurred = row.get("occurred_at")
    local = timezone.localtime(occurred) if occurred is not None else None
    return {
        **row, "bill_name": bills.get(row["bill_sha256"], row["bill_sha256"][:12]),
        "day_text": row["business_day"].isoformat(), "kind_text": record_kind_label(row.get("record_kind")),
        "amount_text": money(row.get("amount_minor"), currency), "fee_text": money(row.get("fee_minor"), currency),
        "occurred_text": local.strftime("%Y-%m-%d %H:%M:%S") if local else MISSING,
        "occurred_iso": local.isoformat() if local else "",
    }


@require_safe
@requires(VIEW_BILLS)
def record_count(request: HtmxHttpRequest) -> HttpResponse:
    """How many records match: its own request, so a page never waits for a count."""
    form = _form(request)
    if not form.is_valid():
        return HttpResponse("")
    try:
        total = browsing.count(_query(form))
    except TallyError as exc:
        return HttpResponse(str(exc.message), status=400)
    return render(request, "tally/office/_record_count.html", {"total": total})
