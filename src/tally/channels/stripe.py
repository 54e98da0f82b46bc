"""Stripe balance and payout reconciliation reports, itemized (FORMATS.md §5).

Two shapes of the same balance transactions:

* the Reports API CSV (`balance_change_from_activity.itemized.*`,
  `payout_reconciliation.itemized.*`): columns found by header name, because the `columns`
  parameter picks the set; `gross`, `fee`, `net` in MAJOR units as decimal text; currency
  lower-case; `*_utc` timestamps in UTC, the unsuffixed ones in the report's time zone;
* the API's balance transaction objects, one JSON object per line (a fetcher writes each
  object, or each `{"object": "list", "data": […]}` page, on its own line): `amount`, `fee`,
  `net` are integers in MINOR units and `created` / `available_on` are Unix seconds.

Neither carries footer totals, so each row is checked on its own: gross − fee = net.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.text import decode, split_lines
from tally.errors import InputRejected
from tally.money import currency_code, to_minor
from tally.records import batched

REQUIRED = ("balance_transaction_id", "currency", "gross", "fee", "net", "reporting_category")
# reporting_category -> record kind; anything not named here is "other" (transfers, top-ups,
# Issuing, Climate, financing …). A payout reversal is the payout coming back: still a payout.
KINDS = {
    "charge": "payment", "refund": "refund", "fee": "fee", "network_cost": "fee", "tax": "fee",
    "payout": "payout", "payout_reversal": "payout",
    **dict.fromkeys(["dispute", "dispute_reversal", "other_adjustment", "partial_capture_reversal",
                     "refund_failure", "charge_failure", "risk_reserved_funds", "connect_reserved_funds",
                     "unreconciled_customer_funds"], "adjustment"),
}
DAY_COLUMNS = ("created", "available_on", "automatic_payout_effective_at")
MAX_MINOR = 10**18  # beyond int64 once stored
_METADATA = {"charge": "payment_metadata", "payment_intent": "payment_metadata", "refund": "refund_metadata"}


class StripeReport:
    category = "fund"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "jsonl" if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        return split_lines(decode(data, ("utf-8",), file=ctx.file_name))

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        lines = self.lines(data, ctx)
        first = next((text.strip() for text in lines if text.strip()), "")
        if not first:
            raise InputRejected("EMPTY_FILE", "the file is empty", file=ctx.file_name)
        day_column = ctx.options.get("business_day_column", "created")
        if day_column not in DAY_COLUMNS:
            raise InputRejected("BAD_VALUE", f"business_day_column {day_column!r} is not one of "
                                f"{', '.join(DAY_COLUMNS)}", file=ctx.file_name, field="business_day_column")
        rows = _api_rows(lines, ctx) if first.startswith("{") else _report_rows(lines, ctx)
        for line, row in rows:
            yield _record(row, line, ctx)


def _report_rows(lines: list[str], ctx: ParseContext) -> Iterator[tuple[int, dict[str, Any]]]:
    file = ctx.file_name
    reader = csv.reader((text + "\n" for text in lines), strict=True)
    start, header = 1, None
    separator = str(ctx.options.get("decimal_separator", "."))
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _header(cells, ctx, line)
                continue
            if len(cells) != len(header):
                raise InputRejected("COLUMN_COUNT", f"the row has {len(cells)} cells, the header {len(header)}",
                                    file=file, line=line, hint="a comma inside an unquoted value?")
            row = dict(zip(header, (cell.strip() for cell in cells), strict=True))
            currency = _located(file, line, "currency", currency_code, row["currency"])
            for name in ("gross", "fee", "net"):
                text = row[name].replace(separator, ".") if separator != "." else row[name]
                row[name] = _located(file, line, name, _major, text, currency)
            row["currency"] = currency
            row["created"] = _located(file, line, "created_utc", _created, row, ctx)
            for name in DAY_COLUMNS[1:]:
                row[name] = _located(file, line, name, _date, row, name)
            yield line, row
    except csv.Error as exc:
        raise InputRejected("BAD_CSV", f"the row is not valid CSV: {exc}", file=file, line=start,
                            hint="a quote is not closed, or a value is too long") from None
    if header is None:
        raise InputRejected("WRONG_KIND", "the file has no header row", file=file, line=1,
                            hint="is this a Stripe report?")


def _header(cells: list[str], ctx: ParseContext, line: int) -> list[str]:
    file = ctx.file_name
    header = [cell.strip() for cell in cells]
    if "balance_transaction_id" not in header:
        summary = "category" in header or "ID" in header
        raise InputRejected("WRONG_KIND", "not an itemized Stripe report: there is no balance_transaction_id column",
                            file=file, line=line,
                            hint="a summary report or the Dashboard export is not reconcilable; run "
                                 "balance_change_from_activity.itemized or payout_reconciliation.itemized"
                            if summary else "is this a Stripe report?")
    missing = [name for name in REQUIRED if name not in header]
    if "created_utc" not in header and "created" not in header:
        missing.append("created_utc")
    for option in ("order_no_column", "refund_no_column", "business_day_column"):
        name = ctx.options.get(option)
        name = f"{name}_utc" if option == "business_day_column" and f"{name}_utc" in header else name
        if name is not None and name not in header:
            missing.append(str(name))
    if missing:
        raise InputRejected("MISSING_COLUMN", f"the header has no {', '.join(missing)}", file=file, line=line,
                            hint="add it to the report run's `columns` parameter")
    return header


def _api_rows(lines: list[str], ctx: ParseContext) -> Iterator[tuple[int, dict[str, Any]]]:
    """Balance transaction objects (or list pages of them), one JSON value per line."""
    file = ctx.file_name
    for line, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            raise InputRejected("BAD_JSON", "the line is not one JSON object", file=file, line=line,
                                hint="write one balance transaction (or one list page) per line") from None
        if isinstance(value, dict) and value.get("object") == "list" and isinstance(value.get("data"), list):
            items = value["data"]
        else:
            items = [value]
        for item in items:
            if not isinstance(item, dict) or item.get("object") != "balance_transaction":
                raise InputRejected("WRONG_KIND", "a JSON value that is not a Stripe balance_transaction",
                                    file=file, line=line)
            yield line, _located(file, line, None, _api_row, item, ctx)


def _api_row(item: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
    """The API object in the report's column names; amounts stay in minor units."""
    currency = currency_code(_text(item, "currency"))
    row: dict[str, Any] = {"balance_transaction_id": _text(item, "id"), "currency": currency,
                           "reporting_category": _text(item, "reporting_category")}
    for name, key in (("gross", "amount"), ("fee", "fee"), ("net", "net")):
        amount = item.get(key)
        if not isinstance(amount, int) or isinstance(amount, bool) or abs(amount) >= MAX_MINOR:
            raise InputRejected("BAD_AMOUNT", f"{key} is {amount!r}, expected an integer of minor units")
        row[name] = amount
    for key in ("created", "available_on"):
        seconds = item.get(key)
        try:
            if not isinstance(seconds, int) or isinstance(seconds, bool):
                raise TypeError(key)
            row[key] = datetime.fromtimestamp(seconds, UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            raise InputRejected("BAD_DATE", f"{key} is {seconds!r}, expected Unix seconds") from None
    row["available_on"] = row["available_on"].date()  # a day, given as its 00:00 UTC
    row["automatic_payout_effective_at"] = None
    row["description"] = item.get("description") if isinstance(item.get("description"), str) else ""
    source = item.get("source")
    if isinstance(source, dict):  # expanded: its metadata are the report's payment_/refund_metadata[…]
        prefix = _METADATA.get(str(source.get("object")), "metadata")
        metadata = source.get("metadata")
        if isinstance(metadata, dict):
            row |= {f"{prefix}[{key}]": str(value) for key, value in metadata.items()}
    return row


def _record(row: dict[str, Any], line: int, ctx: ParseContext) -> dict[str, Any]:
    file = ctx.file_name
    gross, fee, net = row["gross"], row["fee"], row["net"]
    if gross - fee != net:
        raise InputRejected("TOTALS_MISMATCH", f"net says {net}, gross − fee is {gross - fee} (minor units) for "
                            f"{row['balance_transaction_id']}", file=file, line=line, field="net",
                            hint="the report is altered or mis-exported; run it again")
    category = row["reporting_category"]
    kind = KINDS.get(category, "other")
    created: datetime = row["created"]
    # `created` is an instant: its local date in the source's time zone. available_on and
    # automatic_payout_effective_at are days: taken as Stripe wrote them (see _date).
    day_column = ctx.options.get("business_day_column", "created")
    day = row.get(day_column) if day_column != "created" else None
    return {
        "source": ctx.source,
        "business_day": day or created.astimezone(ctx.timezone).date(),
        "record_kind": kind,
        "order_no": _reference(row, ctx, "order_no"),
        "refund_no": _reference(row, ctx, "refund_no") if kind == "refund" else None,
        "channel_txn_id": row["balance_transaction_id"] or None,
        "amount_minor": gross,
        "fee_minor": fee,  # Stripe's fee is positive when charged: already "+ is a cost"
        "discount_minor": 0,
        "currency": row["currency"],
        "occurred_at": created,
        "status": category or None,
        "bill_sha256": ctx.bill_sha256,
        "line_no": line,
    }


def _reference(row: dict[str, Any], ctx: ParseContext, what: str) -> str | None:
    """order_no / refund_no from the configured column, optionally through a regex's first group."""
    default = {"order_no": ("payment_metadata[order_id]", "description"),
               "refund_no": ("refund_metadata[refund_id]",)}[what]
    # The first default column the report has, not the first non-empty cell: a payout row must
    # not take its description as an order number because its metadata cell is empty.
    name = ctx.options.get(f"{what}_column") or next((column for column in default if column in row), None)
    value = str(row.get(name) or "") if name else ""
    pattern = ctx.options.get(f"{what}_pattern")
    if pattern and value:
        try:
            found = re.search(str(pattern), value)
        except re.error as exc:
            raise InputRejected("BAD_VALUE", f"{what}_pattern is not a regular expression: {exc}",
                                file=ctx.file_name, field=f"{what}_pattern") from None
        value = (found.group(1) if found.groups() else found.group(0)) if found else ""
    return value or None


def _major(text: str, currency: str) -> int:
    minor = to_minor(text, currency)
    if abs(minor) >= MAX_MINOR:
        raise InputRejected("BAD_AMOUNT", f"amount {text!r} is too large")
    return minor


def _parsed(text: str, column: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputRejected("BAD_DATE", f"{column} {text!r} is not yyyy-mm-dd HH:MM:SS") from None


def _created(row: dict[str, Any], ctx: ParseContext) -> datetime:
    """The instant in UTC: `created_utc`, else `created` read in the source's time zone."""
    if "created_utc" in row:
        value = _parsed(row["created_utc"], "created_utc")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    value = _parsed(row["created"], "created")
    return (value.replace(tzinfo=ctx.timezone) if value.tzinfo is None else value).astimezone(UTC)


def _date(row: dict[str, Any], name: str) -> date | None:
    """A day column: the unsuffixed one (the report's time zone) if the report has it, else the
    `_utc` one's UTC date (Stripe gives these days as 00:00 UTC); None when blank."""
    for column in (name, f"{name}_utc"):
        if row.get(column):
            return _parsed(row[column], column).date()
    return None


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise InputRejected("BAD_VALUE", f"{key} is {value!r}, expected text")
    return value


def _located(file: str, line: int, name: str | None, parse: Any, *args: Any) -> Any:
    """parse(*args), with the file, line and field added to the error it raises."""
    try:
        return parse(*args)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field=name or exc.where.field,
                            hint=exc.hint) from None


CHANNEL = StripeReport()
