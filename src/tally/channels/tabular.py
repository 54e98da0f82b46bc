"""Any CSV, TXT, JSON Lines or Excel file read through a column mapping (source kind ``table``).

Finance staff describe a file instead of writing a parser: which header holds which normalized
column, value maps, units, sign convention, time zone. The ``sql`` kind reuses the same mapping:
its fetcher snapshots the query result as JSON Lines, and that snapshot is the bill.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.text import decode, gunzip_if_needed, split_lines
from tally.errors import InputRejected
from tally.money import currency_code, to_minor
from tally.records import RECORD_KINDS, batched

MONEY = ("amount_minor", "fee_minor", "discount_minor")
TEXT = ("order_no", "refund_no", "channel_txn_id", "status", "item", "record_kind", "currency")
NEGATIVE_KINDS = {"refund", "payout"}
HEADER_SCAN_ROWS = 50


class TableMapping:
    """A source's mapping, checked once, applied to every row."""

    def __init__(self, options: Mapping[str, Any], source: str) -> None:
        self.source = source
        self.columns: dict[str, str] = dict(options.get("columns", {}))
        self.values: dict[str, dict[str, str]] = {k: dict(v) for k, v in options.get("values", {}).items()}
        self.unit = str(options.get("amount_unit", "major"))
        self.currency = options.get("currency")
        self.sign = str(options.get("sign", "by_kind"))
        self.tz = ZoneInfo(str(options.get("timezone", "Asia/Shanghai")))
        self.time_format = options.get("time_format")
        self.date_format = options.get("date_format", "%Y-%m-%d")
        self.default_kind = str(options.get("record_kind", "payment"))

    def record(self, row: Mapping[str, Any], bill_sha256: str, line: int, file: str) -> dict[str, Any]:
        get = self._getter(row, line, file)
        kind = get("record_kind") or self.default_kind
        if kind not in RECORD_KINDS:
            raise InputRejected("BAD_VALUE", f"record kind {kind!r} is not one of {', '.join(RECORD_KINDS)}",
                                file=file, line=line, field=self.columns.get("record_kind"),
                                hint="add a value map: [sources.X.values.record_kind]")
        currency = get("currency") or self.currency
        if not currency:
            raise InputRejected("MISSING_CURRENCY", "no currency column and no `currency` setting", file=file,
                                line=line)
        currency = self._checked(currency_code, currency, line, file, "currency")
        rec: dict[str, Any] = {name: get(name) for name in ("order_no", "refund_no", "channel_txn_id", "status",
                                                             "item")}
        rec |= {"source": self.source, "record_kind": kind, "currency": currency,
                "bill_sha256": bill_sha256, "line_no": line}
        for name in MONEY:
            text = get(name)
            value = self._checked(lambda t, c=currency: to_minor(t, c, unit=self.unit), text, line, file, name) \
                if text is not None else 0
            rec[name] = value
        if self.sign == "by_kind" and kind in NEGATIVE_KINDS:
            rec["amount_minor"] = -abs(rec["amount_minor"])
        elif self.sign == "by_kind" and kind == "payment":
            rec["amount_minor"] = abs(rec["amount_minor"])
        quantity = get("quantity")
        rec["quantity"] = self._checked(_integer, quantity, line, file, "quantity") if quantity is not None else None
        occurred = row.get(self.columns["occurred_at"]) if "occurred_at" in self.columns else None
        rec["occurred_at"] = self._checked(self._timestamp, occurred, line, file, "occurred_at") \
            if occurred not in (None, "") else None
        day = row.get(self.columns["business_day"]) if "business_day" in self.columns else None
        if day not in (None, ""):
            rec["business_day"] = self._checked(self._date, day, line, file, "business_day")
        elif rec["occurred_at"] is not None:
            rec["business_day"] = rec["occurred_at"].astimezone(self.tz).date()
        else:
            raise InputRejected("MISSING_VALUE", "neither a business day nor a time on this row", file=file,
                                line=line, field=self.columns.get("occurred_at"))
        return rec

    def _getter(self, row: Mapping[str, Any], line: int, file: str) -> Any:
        def get(name: str) -> str | None:
            header = self.columns.get(name)
            if header is None:
                return None
            value = row.get(header)
            if value is None:
                return None
            text = _text(value).strip()
            mapped = self.values.get(name, {})
            if mapped:
                if text not in mapped:
                    raise InputRejected("BAD_VALUE", f"{text!r} has no entry in the value map of {name}",
                                        file=file, line=line, field=header)
                text = mapped[text]
            return text or None

        return get

    def _checked(self, parse: Any, text: Any, line: int, file: str, name: str) -> Any:
        try:
            return parse(text)
        except InputRejected as exc:
            raise InputRejected(exc.code, exc.message, file=file, line=line,
                                field=self.columns.get(name, name), hint=exc.hint) from None

    def _timestamp(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            moment = value
        else:
            text = _text(value).strip()
            try:
                # Naive on purpose: the source's time zone is attached below when the text has none.
                if self.time_format:
                    moment = datetime.strptime(text, self.time_format)  # noqa: DTZ007
                else:
                    moment = datetime.fromisoformat(text.replace("/", "-"))
            except ValueError:
                raise InputRejected("BAD_DATE", f"{text!r} is not a time"
                                    + (f" in the format {self.time_format}" if self.time_format else ""),
                                    hint="set `time_format` for this source") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        return moment.astimezone(UTC)

    def _date(self, value: Any) -> date:
        if isinstance(value, date):
            return value
        text = _text(value).strip()
        try:
            return datetime.strptime(text, self.date_format).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            raise InputRejected("BAD_DATE", f"{text!r} is not a date in the format {self.date_format}",
                                hint="set `date_format` for this source") from None

    def headers(self) -> list[str]:
        return list(self.columns.values())


def _text(value: Any) -> str:
    if isinstance(value, float):
        # A JSON float is already inexact; an amount must be written as text or integer.
        raise InputRejected("BAD_AMOUNT", f"{value!r} is a binary float", hint="write amounts as strings")
    return value if isinstance(value, str) else str(value)


def _integer(text: str) -> int:
    value = Decimal(text) if text.strip().lstrip("+-").isdigit() else None
    if value is None:
        raise InputRejected("BAD_NUMBER", f"{text!r} is not a whole number")
    return int(value)


class TableChannel:
    category = "data"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "jsonl" if ctx.options.get("kind") == "sql" else str(ctx.options.get("format", "csv"))

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        raw = gunzip_if_needed(data, file=ctx.file_name)
        return split_lines(decode(raw, (self._encoding(ctx),), file=ctx.file_name))

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        mapping = TableMapping(ctx.options, ctx.source)
        fmt = "jsonl" if ctx.options.get("kind") == "sql" else str(ctx.options.get("format", "csv"))
        rows = {"csv": self._csv_rows, "txt": self._csv_rows, "jsonl": self._jsonl_rows}.get(fmt)
        if rows is None:
            raise InputRejected("UNSUPPORTED_FORMAT", f"format {fmt!r} is not supported yet", file=ctx.file_name)
        return batched(mapping.record(row, ctx.bill_sha256, line, ctx.file_name)
                       for line, row in rows(data, ctx, mapping))

    @staticmethod
    def _encoding(ctx: ParseContext) -> str:
        encoding = str(ctx.options.get("encoding", "utf-8")).lower()
        return "utf-8-sig" if encoding in ("utf-8", "utf8") else encoding

    def _csv_rows(self, data: bytes, ctx: ParseContext, mapping: TableMapping) -> Iterator[tuple[int, dict[str, str]]]:
        file = ctx.file_name
        text = decode(gunzip_if_needed(data, file=file), (self._encoding(ctx),), file=file)
        delimiter = str(ctx.options.get("delimiter", ","))
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        wanted = mapping.headers()
        header: list[str] | None = None
        best: tuple[int, list[str]] = (-1, [])
        try:
            for row in reader:
                line = reader.line_num
                if header is None:
                    cells = [cell.strip() for cell in row]
                    found = sum(name in cells for name in wanted)
                    if found == len(wanted):
                        header = cells
                    elif found > best[0]:
                        best = (found, cells)
                    if header is None and line >= HEADER_SCAN_ROWS:
                        break
                    continue
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise InputRejected("COLUMN_COUNT", f"row has {len(row)} cells, the header has {len(header)}",
                                        file=file, line=line)
                yield line, dict(zip(header, row, strict=True))
        except csv.Error as exc:
            raise InputRejected("BAD_CSV", str(exc), file=file, line=reader.line_num) from None
        if header is None:
            missing = [name for name in wanted if name not in best[1]]
            raise InputRejected("MISSING_COLUMN", f"no header row with the mapped columns; missing: "
                                f"{', '.join(missing)}", file=file, line=1,
                                hint="check the column mapping against the file's header")

    def _jsonl_rows(self, data: bytes, ctx: ParseContext,
                    mapping: TableMapping) -> Iterator[tuple[int, dict[str, Any]]]:
        file = ctx.file_name
        text = decode(gunzip_if_needed(data, file=file), ("utf-8-sig",), file=file)
        for line, raw in enumerate(split_lines(text), start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise InputRejected("BAD_JSON", f"not a JSON object: {exc.msg}", file=file, line=line) from None
            if not isinstance(row, dict):
                raise InputRejected("BAD_JSON", "each line must be a JSON object", file=file, line=line)
            missing = [name for name in mapping.headers() if name not in row]
            if missing:
                raise InputRejected("MISSING_COLUMN", f"no {', '.join(missing)} in this object", file=file,
                                    line=line)
            yield line, row


CHANNEL = TableChannel()
