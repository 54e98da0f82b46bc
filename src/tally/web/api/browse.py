"""The data browser over the API: a source's records for a day or a range, in keyset pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from tally.errors import NotFound
from tally.ingest.models import Source
from tally.services import browsing
from tally.web.api.auth import require
from tally.web.permissions import VIEW_BILLS

router = Router(tags=["data browser"])
# Amounts are int64 minor units in the lake: bounds well inside them.
AMOUNT_BOUND = 10**15


class BrowseQuery(Schema):
    source: str
    first: date
    last: date | None = None
    q: str | None = None
    record_kind: str | None = None
    currency: str | None = None
    status: str | None = None
    min_amount_minor: int | None = Field(None, ge=-AMOUNT_BOUND, le=AMOUNT_BOUND)
    max_amount_minor: int | None = Field(None, ge=-AMOUNT_BOUND, le=AMOUNT_BOUND)
    sort: Literal["line_no", "business_day", "amount_minor", "fee_minor", "occurred_at", "order_no", "record_kind",
                  "status"] = "line_no"
    order: Literal["asc", "desc"] = "asc"
    after: list[str] | None = None
    limit: int = Field(50, ge=1, le=1000)


class Record(Schema):
    source: str
    business_day: date
    record_kind: str
    order_no: str | None
    refund_no: str | None
    channel_txn_id: str | None
    amount_minor: int
    fee_minor: int
    discount_minor: int
    currency: str
    occurred_at: datetime | None
    status: str | None
    item: str | None
    quantity: int | None
    bill_sha256: str
    line_no: int


class RecordPage(Schema):
    records: list[Record]
    next_after: list[str] | None


class Count(Schema):
    count: int


def _query(params: BrowseQuery) -> Any:
    source = Source.objects.filter(name=params.source).first()
    if source is None:
        raise NotFound("UNKNOWN_SOURCE", f"there is no source {params.source!r}")
    filters = browsing.Filters(record_kind=params.record_kind, currency=(params.currency or "").upper() or None,
                               status=params.status, search=params.q, min_amount_minor=params.min_amount_minor,
                               max_amount_minor=params.max_amount_minor, sort=params.sort,
                               descending=params.order == "desc")
    return browsing.query(source, params.first, params.last or params.first, filters)


@router.get("/", response=RecordPage, summary="One page of a source's records; pass next_after back as after")
def browse(request: HttpRequest, params: Query[BrowseQuery]) -> dict[str, Any]:
    require(request, VIEW_BILLS)
    q = _query(params)
    result = browsing.page(q, after=params.after or None, limit=params.limit)
    return {"records": result.rows, "next_after": browsing.next_cursor(result)}


@router.get("/count", response=Count, summary="How many records match")
def browse_count(request: HttpRequest, params: Query[BrowseQuery]) -> dict[str, Any]:
    require(request, VIEW_BILLS)
    return {"count": browsing.count(_query(params))}
