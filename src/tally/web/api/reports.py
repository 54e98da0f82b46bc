"""A plan's daily statement over the API: the figures ``tally report --json`` prints, one per day.

Each day is ``tally.services.reports.statement`` rendered by ``report_export.as_json`` (the same
function the CLI prints), so the API and the command never disagree. The permission is the
reports page's (``breaks.view_break``); a plan the caller may not see is 404 like a missing one.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from tally.engine.plan import Plan as PlanSpec
from tally.errors import ConfigError
from tally.records import EARLIEST_DAY, LATEST_DAY
from tally.services import access, report_export, reports
from tally.web.api.answers import errors
from tally.web.api.auth import require
from tally.web.api.plans import visible

router = Router(tags=["reports"])
VIEW = access.VIEW  # the reports page
MAX_DAYS = 31  # each day reads the lake's totals of every source of the plan


class Days(Schema):
    first: date = Field(..., ge=EARLIEST_DAY, le=LATEST_DAY)
    last: date | None = Field(None, ge=EARLIEST_DAY, le=LATEST_DAY)  # default: first


class Figure(Schema):
    count: int
    amount_minor: int


class CurrencyLine(Schema):
    """One currency of the day, all in its minor units (应收 expected, 实收 received, …)."""

    expected_minor: int
    expected_records: int
    received_minor: int
    received_records: int
    difference_minor: int
    fees_minor: int
    long_minor: int
    short_minor: int
    mismatch_minor: int
    long_count: int
    short_count: int
    mismatch_count: int
    carried_in_minor: int
    carried_in_count: int
    carried_out_minor: int
    carried_out_count: int


class SourceTotal(Schema):
    source: str
    side: str  # ours | theirs
    currency: str
    records: int
    amount_minor: int
    fee_minor: int
    discount_minor: int


class Statement(Schema):
    plan: str
    day: date
    channel: str  # the plan's theirs side
    ours: str
    matched: int | None  # None: the day was not run
    pending: int
    cross_day: int
    currencies: dict[str, CurrencyLine]
    statuses: dict[str, dict[str, Figure]]  # status -> currency -> figure
    aging: dict[str, dict[str, Figure]]  # 0-1, 2-7, 8-30, >30 -> currency -> figure
    sources: list[SourceTotal]


class Statements(Schema):
    plan: str
    channel: str
    ours: str
    first: date
    last: date
    days: list[Statement]  # oldest first


@router.get("/{plan}", response={200: Statements, **errors(400, 401, 403, 404, 422)},
            summary=f"The plan's daily statement per channel for a day or a range of at most {MAX_DAYS} days")
def statement_days(request: HttpRequest, plan: str, days: Query[Days]) -> dict[str, Any]:
    require(request, VIEW)
    found = visible(request, plan)
    first, last = days.first, days.last or days.first
    if last < first:
        raise ConfigError("BAD_RANGE", f"last ({last}) is before first ({first})", field="last")
    if (last - first).days + 1 > MAX_DAYS:
        raise ConfigError("RANGE_TOO_LONG", f"a report covers at most {MAX_DAYS} days", field="last")
    spec = PlanSpec.from_spec(found.name, found.spec)
    out = [report_export.as_json(reports.statement(found, first + timedelta(days=n)))
           for n in range((last - first).days + 1)]
    return {"plan": found.name, "channel": " + ".join(spec.theirs), "ours": " + ".join(spec.ours),
            "first": first, "last": last, "days": out}
