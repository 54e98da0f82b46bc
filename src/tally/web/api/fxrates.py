"""FX rates over the API: the table the ``fx`` rule reads, and importing a rates CSV.

The upload is the file ``tally rates import`` reads (``day,base,quote,rate``) and goes through the
same service: every row is checked first, then all are written in one transaction, or none is
(400 with the code and the line). Listing needs ``breaks.view_fxrate`` (every role); importing
``breaks.add_fxrate`` (admins), as on the back office's rates page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from tally.breaks.models import FxRate
from tally.errors import InputRejected
from tally.services import fxrates
from tally.web.api.answers import errors
from tally.web.api.auth import needs, require
from tally.web.api.paging import Paged, page
from tally.web.permissions import IMPORT_FX_RATES, VIEW_FX_RATES

router = Router(tags=["fx rates"])


class RateFilters(Paged):
    day: date | None = None
    base: str | None = None  # ISO 4217; a code that is not one is 400 BAD_CURRENCY
    quote: str | None = None


class RateOut(Schema):
    day: date
    base: str
    quote: str
    rate: str  # units of quote per one base, exact decimal text (never a float)
    source: str  # the file it came from
    imported_at: datetime


class RatePage(Schema):
    count: int
    items: list[RateOut]


class Imported(Schema):
    created: int
    updated: int
    unchanged: int
    pairs: list[str]  # BASE/QUOTE


def _out(rate: FxRate) -> dict[str, Any]:
    return {"day": rate.day, "base": rate.base, "quote": rate.quote, "rate": rate.rate, "source": rate.source,
            "imported_at": rate.imported_at}


@router.get("/", response={200: RatePage, **errors(400, 401, 403, 422)},
            summary="FX rates, newest day first, by day and currency pair")
def rate_list(request: HttpRequest, filters: Query[RateFilters]) -> dict[str, Any]:
    require(request, VIEW_FX_RATES)
    query = fxrates.rates(filters.day, filters.base, filters.quote)
    return page(query, filters, _out)


@router.post("/import", response={201: Imported, **errors(400, 401, 403, 422)}, auth=needs(IMPORT_FX_RATES),
             summary="Import a rates CSV (day,base,quote,rate): all rows or none; a changed rate replaces the old")
def rate_import(request: HttpRequest, file: File[UploadedFile]) -> Status[dict[str, Any]]:
    require(request, IMPORT_FX_RATES)
    name = file.name or "rates.csv"
    if (file.size or 0) > fxrates.MAX_BYTES:
        raise InputRejected("FILE_TOO_LARGE", f"the rates file is larger than {fxrates.MAX_BYTES // 1024**2} MB",
                            file=name, hint="split it into several files")
    result = fxrates.import_rates_bytes(file.read(fxrates.MAX_BYTES + 1), name)
    return Status(201, {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                        "pairs": [f"{b}/{q}" for b, q in sorted(result.pairs)]})
