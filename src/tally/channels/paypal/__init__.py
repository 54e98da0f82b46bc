"""PayPal Settlement Report (STL) and Transaction Detail Report (TRR) (FORMATS.md §4).

Every row starts with its type: RH report header, FH file header; per section SH header, CH
column names, SB data rows, SF totals (one row per currency), SC row count; then RF report
totals (per currency), RC report row count and FF file footer. SB cells are read by their CH
name, compared without case and whitespace, so the legacy header `TransactionID` and the
double-spaced `Transaction  Debit or Credit` both match. Amounts are unsigned hundredths with a
CR/DR column; dates carry the reporting window's UTC offset. Every footer is checked against
the rows (in :mod:`.totals`); how values are written is in :mod:`.values`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.paypal.totals import Block, check_count, check_footer
from tally.channels.paypal.values import hundredths, located, sign, to_minor, when
from tally.channels.text import decode, split_lines
from tally.errors import InputRejected
from tally.money import currency_code
from tally.records import batched

_TCODE = re.compile(r"T[0-9]{4}")
# Which row type may follow which; None is the start of the file.
NEXT: dict[str | None, set[str]] = {
    None: {"RH"}, "RH": {"FH", "SH", "RF", "RC"}, "FH": {"SH", "RF", "RC"},
    "SH": {"CH", "SB", "SF", "SC"}, "CH": {"SB", "SF", "SC"}, "SB": {"SB", "SF", "SC"}, "SF": {"SF", "SC"},
    "SC": {"SH", "RF", "RC"}, "RF": {"RF", "RC"}, "RC": {"FF"}, "FF": set(),
}
IN_SECTION = {"SH", "CH", "SB", "SF"}
# T-code event group (digits 2-3) -> record kind; T1107 (payment refund) is the one code more
# specific than its group. Groups: 00 payments, 01 non-payment fees, 02 currency conversion,
# 04 bank withdrawal, 11 reversals, 12 adjustments, 15 holds, 19 corrections, 21 reserves.
# Everything else (deposits, authorizations, transfers …) is "other".
REFUND_TCODE = "T1107"
GROUP_KINDS = {"00": "payment", "01": "fee", "04": "payout",
               **dict.fromkeys(["02", "11", "12", "15", "19", "21"], "adjustment")}
NO_MONEY_STATUSES = {"P", "D"}  # TRR Transactional Status: pending and denied moved no money
ORDER_COLUMNS = ("Invoice ID", "Custom Field")
REQUIRED = ("Transaction ID", "Transaction Event Code", "Transaction Debit or Credit", "Gross Transaction Amount",
            "Gross Transaction Currency")
COMPLETED, INITIATED = "Transaction Completion Date", "Transaction Initiation Date"
STATUS = "Transactional Status"  # TRR only


def _key(name: str) -> str:
    return "".join(name.split()).lower()


class PayPalReport:
    category = "fund"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "csv"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        # UTF-8 with or without BOM; legacy reports were UTF-16 (FORMATS.md §4.5).
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        elif len(data) > 1 and data[1] == 0 and data[0] != 0:
            encoding = "utf-16-le"
        else:
            encoding = "utf-8"
        return split_lines(decode(data, (encoding,), file=ctx.file_name))

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        file = ctx.file_name
        columns: dict[str, int] | None = None
        section, report, whole = Block(), Block(), Block()
        previous: str | None = None
        line = 0
        for line, cells in _rows(self.lines(data, ctx), file):
            kind = cells[0]
            _check_order(previous, kind, section, line, file)
            previous = kind
            if kind == "SH":
                section = Block(opened_at=line)
            elif kind == "CH":
                columns = _columns(cells, line, file)
            elif kind == "SB":
                if columns is None:
                    raise InputRejected("MISSING_COLUMN", "no CH row names the columns of this data row",
                                        file=file, line=line)
                record, amounts = _record(cells, columns, ctx, line)
                for block in (section, report, whole):
                    block.add(*amounts)
                yield record
            elif kind in ("SF", "RF"):
                check_footer(cells, section if kind == "SF" else report, kind, line, file)
            elif kind in ("SC", "RC", "FF"):
                check_count(cells, {"SC": section, "RC": report, "FF": whole}[kind], kind, line, file)
        if previous is None:
            raise InputRejected("EMPTY_FILE", "the file has no rows", file=file)
        if previous != "FF":
            what = f"the section opened on line {section.opened_at} has no SC row" if previous in IN_SECTION \
                else "the file has no file footer (FF)"
            raise InputRejected("MISSING_TOTALS", what, file=file, line=line,
                                hint="the file is truncated; download it again")


def _check_order(previous: str | None, kind: str, section: Block, line: int, file: str) -> None:
    if kind in NEXT[previous]:
        return
    if previous is None:
        raise InputRejected("WRONG_KIND", "not a PayPal STL/TRR report: the first row is not RH", file=file,
                            line=line, hint="is this a PayPal settlement or transaction detail report?")
    if previous == "FF":
        raise InputRejected("TRAILING_DATA", "a row after the file footer (FF)", file=file, line=line)
    if kind not in NEXT:
        raise InputRejected("BAD_VALUE", f"unknown row type {kind!r}", file=file, line=line, field="row type",
                            hint="PayPal rows start with RH, FH, SH, CH, SB, SF, SC, RF, RC or FF")
    if previous in IN_SECTION and kind in ("SH", "RF", "RC", "FF"):
        raise InputRejected("MISSING_TOTALS", f"the section opened on line {section.opened_at} has no SC row",
                            file=file, line=line, hint="the file is truncated or altered; download it again")
    if kind == "FF":
        raise InputRejected("MISSING_TOTALS", "the report has no RC row before the file footer", file=file,
                            line=line, hint="the file is truncated or altered; download it again")
    raise InputRejected("BAD_VALUE", f"a {kind} row cannot follow a {previous} row", file=file, line=line,
                        field="row type")


def _rows(lines: list[str], file: str) -> Iterator[tuple[int, list[str]]]:
    """Non-empty rows with the line each starts on; quoted values may span lines."""
    first = next((text for text in lines if text.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","  # the website's TRR may be tab-separated
    reader = csv.reader((text + "\n" for text in lines), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, [cell.strip() for cell in cells]
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputRejected("BAD_CSV", f"the row is not valid CSV: {exc}", file=file, line=start,
                            hint="a quote is not closed, or a value is too long") from None


def _columns(cells: list[str], line: int, file: str) -> dict[str, int]:
    """Normalised CH name -> cell index; the key "" holds the row width."""
    while cells and not cells[-1]:
        cells = cells[:-1]  # a trailing delimiter adds empty cells
    columns = {"": len(cells)}
    for i, name in enumerate(cells[1:], start=1):
        columns.setdefault(_key(name), i)
    missing = [name for name in REQUIRED if _key(name) not in columns]
    if _key(COMPLETED) not in columns and _key(INITIATED) not in columns:
        missing.append(COMPLETED)
    if missing:
        raise InputRejected("MISSING_COLUMN", f"the column header has no {', '.join(missing)}", file=file,
                            line=line, hint="is this a PayPal STL or TRR report?")
    return columns


def _record(cells: list[str], columns: dict[str, int], ctx: ParseContext,
            line: int) -> tuple[dict[str, Any], tuple[str, int, int, int, int]]:
    file = ctx.file_name
    width = columns[""]
    if len(cells) == width + 1 and not cells[-1]:
        cells = cells[:-1]  # one trailing delimiter, as PayPal writes after RH
    if len(cells) != width:
        raise InputRejected("COLUMN_COUNT", f"the row has {len(cells)} cells, the CH row {width}", file=file,
                            line=line, hint="a comma inside an unquoted value?")

    def cell(name: str) -> str:
        index = columns.get(_key(name))
        return cells[index] if index is not None else ""

    def checked(name: str, parse: Any, *args: Any) -> Any:
        return located(file, line, name, parse, *args)

    currency = checked("Gross Transaction Currency", currency_code, cell("Gross Transaction Currency"))
    fee_currency = checked("Fee Currency", currency_code, cell("Fee Currency") or currency)
    if fee_currency != currency:
        raise InputRejected("BAD_CURRENCY", f"the fee is in {fee_currency}, the amount in {currency}", file=file,
                            line=line, field="Fee Currency", hint="PayPal charges fees in the payment's currency")
    gross = checked("Gross Transaction Amount", hundredths, cell("Gross Transaction Amount"), False)
    gross_sign = checked("Transaction Debit or Credit", sign, cell("Transaction Debit or Credit"), False)
    fee = checked("Fee Amount", hundredths, cell("Fee Amount"), True)
    fee_sign = checked("Fee Debit or Credit", sign, cell("Fee Debit or Credit"), not fee)
    scale = ctx.options.get("amount_exponent", 2)
    amount_minor = checked("Gross Transaction Amount", to_minor, gross, currency, scale)
    fee_minor = checked("Fee Amount", to_minor, fee, currency, scale)
    tcode = cell("Transaction Event Code")
    if not _TCODE.fullmatch(tcode):
        raise InputRejected("BAD_VALUE", f"{tcode!r} is not a T-code such as T0006", file=file, line=line,
                            field="Transaction Event Code")
    kind = "refund" if tcode == REFUND_TCODE else GROUP_KINDS.get(tcode[1:3], "other")
    has_status = _key(STATUS) in columns
    if has_status and cell(STATUS) in NO_MONEY_STATUSES:
        kind = "other"
    completed = checked(COMPLETED, when, cell(COMPLETED))
    initiated = checked(INITIATED, when, cell(INITIATED))
    booked, happened = completed or initiated, initiated or completed
    if booked is None or happened is None:
        raise InputRejected("BAD_DATE", "the row has neither an initiation nor a completion date", file=file,
                            line=line, field=COMPLETED)
    record = {
        "source": ctx.source,
        # The local date in the reporting window's zone: the offset PayPal wrote, not ctx.timezone.
        "business_day": booked.date(),
        "record_kind": kind,
        "order_no": _order_no(cell, ctx),
        "refund_no": None,
        "channel_txn_id": cell("Transaction ID") or None,
        "amount_minor": gross_sign * amount_minor,
        "fee_minor": -fee_sign * fee_minor,  # a DR fee is a cost (+), a CR fee is given back (−)
        "discount_minor": 0,
        "currency": currency,
        "occurred_at": happened.astimezone(UTC),
        "status": (cell(STATUS) if has_status else tcode) or None,
        "bill_sha256": ctx.bill_sha256,
        "line_no": line,
    }
    return record, (currency, gross, gross_sign, fee, fee_sign)


def _order_no(cell: Any, ctx: ParseContext) -> str | None:
    names = ctx.options.get("order_no_column", ORDER_COLUMNS)
    for name in [names] if isinstance(names, str) else names:
        if value := cell(str(name)):
            return str(value)
    return None


CHANNEL = PayPalReport()
