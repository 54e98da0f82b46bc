"""Bills: the list (filters, pages), one bill, and its raw bytes exactly as received."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema

from tally.ingest.models import Bill
from tally.services import bills as bill_service
from tally.web.api.auth import require
from tally.web.api.paging import Paged, page
from tally.web.permissions import VIEW_BILLS
from tally.web.views.bill_detail import attachment

router = Router(tags=["bills"])


class BillOut(Schema):
    id: int
    name: str
    sha256: str
    source: str
    business_day: date | None
    status: str
    rows: int
    size_bytes: int
    days: list[str]
    error_code: str
    error: str
    original_name: str
    received_at: datetime
    source_version: int | None


class BillPage(Schema):
    count: int
    items: list[BillOut]


class BillFilters(Paged):
    source: str | None = None
    status: str | None = None
    day: date | None = None


def _out(bill: Bill) -> dict[str, Any]:
    return {"id": bill.pk, "name": bill.name, "sha256": bill.sha256, "source": bill.source.name,
            "business_day": bill.business_day, "status": bill.status, "rows": bill.rows,
            "size_bytes": bill.size_bytes, "days": list(bill.days), "error_code": bill.error_code,
            "error": bill.error, "original_name": bill.original_name, "received_at": bill.received_at,
            "source_version": bill.source_version.number if bill.source_version else None}


@router.get("/", response=BillPage, summary="Bills, newest business day first")
def bill_list(request: HttpRequest, filters: Query[BillFilters]) -> dict[str, Any]:
    require(request, VIEW_BILLS)
    bills = Bill.objects.select_related("source", "source_version").order_by("-business_day", "name", "pk")
    if filters.source:
        bills = bills.filter(source__name=filters.source)
    if filters.status:
        bills = bills.filter(status=filters.status)
    if filters.day:
        bills = bills.filter(business_day=filters.day)
    return page(bills, filters, _out)


@router.get("/{bill_id}", response=BillOut, summary="One bill")
def bill_detail(request: HttpRequest, bill_id: int) -> dict[str, Any]:
    require(request, VIEW_BILLS)
    return _out(get_object_or_404(Bill.objects.select_related("source", "source_version"), pk=bill_id))


@router.get("/{bill_id}/raw", summary="The bill's bytes as received (imported bills only)",
            response={200: bytes}, openapi_extra={"responses": {200: {
                "description": "the archived bytes", "content": {"application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"}}}}}})
def bill_raw(request: HttpRequest, bill_id: int) -> FileResponse:
    require(request, VIEW_BILLS)
    bill = get_object_or_404(Bill, pk=bill_id, status=Bill.Status.IMPORTED)
    response = FileResponse(bill_service.raw_file(bill), content_type="application/octet-stream")
    response["Content-Disposition"] = attachment(bill.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
