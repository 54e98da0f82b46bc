"""The bills as received: standard name, source, business day, status, rows, error."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from tally.ingest.models import Bill
from tally.web.forms import BillFilter
from tally.web.permissions import VIEW_BILLS, requires
from tally.web.views.requests import HtmxHttpRequest, wants_fragment

PAGE_SIZE = 50
RESULTS_ID = "results"


@require_safe
@requires(VIEW_BILLS)
def bill_list(request: HtmxHttpRequest) -> HttpResponse:
    form = BillFilter(request.GET)
    bills = form.apply(Bill.objects.select_related("source").order_by("-business_day", "name", "pk"))
    page = Paginator(bills, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "results_id": RESULTS_ID}
    if wants_fragment(request, RESULTS_ID):
        return render(request, "tally/_bill_results.html", context)
    return render(request, "tally/bill_list.html", context)
