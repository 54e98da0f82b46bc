"""Bills and breaks as plain rows for the CLI, exports and the API (CONTRACT.md fields)."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

from tally.breaks.models import Break
from tally.ingest.models import Bill
from tally.money import format_minor

BREAK_COLUMNS = ["id", "plan", "day", "detected_on", "kind", "status", "record_kind", "order_no", "refund_no",
                 "ours_amount_minor", "theirs_amount_minor", "ours_amount", "theirs_amount", "currency", "reason"]


def bills(source: str | None = None) -> list[dict[str, Any]]:
    query = Bill.objects.select_related("source").order_by("source__name", "business_day", "name")
    if source:
        query = query.filter(source__name=source)
    return [
        {"name": b.name, "sha256": b.sha256, "source": b.source.name,
         "business_day": b.business_day.isoformat() if b.business_day else None, "status": b.status,
         "rows": b.rows, "error": b.error or None, "error_code": b.error_code or None,
         "original_name": b.original_name}
        for b in query
    ]


def breaks(*, plan: str | None = None, day: date | None = None, status: str | None = None) -> list[dict[str, Any]]:
    query = Break.objects.select_related("plan").order_by("plan__name", "day", "kind", "order_no", "id")
    if plan:
        query = query.filter(plan__name=plan)
    if day:
        query = query.filter(day=day)
    if status:
        query = query.filter(status=status)
    return [
        {"id": b.pk, "plan": b.plan.name, "day": b.day.isoformat(), "detected_on": b.detected_on.isoformat(),
         "kind": b.kind, "status": b.status, "record_kind": b.record_kind, "order_no": b.order_no,
         "refund_no": b.refund_no or None, "ours_amount_minor": b.ours_amount_minor,
         "theirs_amount_minor": b.theirs_amount_minor, "ours_amount": _major(b.ours_amount_minor, b.currency),
         "theirs_amount": _major(b.theirs_amount_minor, b.currency), "currency": b.currency, "reason": b.reason}
        for b in query
    ]


def _major(amount_minor: int | None, currency: str) -> str | None:
    return None if amount_minor is None else format_minor(amount_minor, currency)


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralize(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading quote; numbers stay numbers."""
    formula_like = isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r")
    # A plain signed number such as -1.00 is data, not a formula.
    if formula_like and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.DictWriter(out, fieldnames=BREAK_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: neutralize(row[k]) for k in BREAK_COLUMNS})


def write_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("breaks")
    sheet.write_row(0, 0, BREAK_COLUMNS)
    for n, row in enumerate(rows, start=1):
        sheet.write_row(n, 0, [neutralize(row[k]) for k in BREAK_COLUMNS])
    book.close()
