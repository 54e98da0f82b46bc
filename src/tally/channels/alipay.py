"""Alipay trade-detail bills (bill_type=trade, 业务明细), zipped or as the bare detail CSV (FORMATS.md §2).

The download is a zip whose member names are GBK without the UTF-8 flag: the detail CSV
(`…_业务明细.csv`, first line ``#支付宝业务明细查询``) and the summary (`…_业务明细(汇总).csv`,
``#支付宝业务汇总查询``). Members are recognised by their first line, not their name. Content is
GBK; many id cells end with a TAB so Excel keeps long numbers; every cell is trimmed.

Amounts are yuan with 2 decimals, already signed from the merchant's view (refund rows negative).
Times are Beijing time; 完成时间 (payment time, or refund completion) gives occurred_at and the
business day. Control totals: the ``#交易合计`` and ``#退款合计`` trailer lines, and the summary
member's ``合计`` row when the zip carries one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.packaging import Member, is_zip, unzip
from tally.channels.text import decode, split_lines
from tally.errors import InputRejected
from tally.money import currency_code, parse_decimal, to_minor
from tally.records import batched

DETAIL_TITLE = "#支付宝业务明细查询"
SUMMARY_TITLE = "#支付宝业务汇总查询"
ACCOUNT_TITLE = "#支付宝账务明细查询"
ENCODINGS = ("utf-8", "gb18030")
REQUIRED = ("支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额(元)", "商家实收(元)")
# Platform-funded discounts (Alipay pays them to the merchant); merchant-funded ones (商家优惠,
# 券核销) are already missing from 商家实收 and are not a channel discount.
PLATFORM_DISCOUNTS = ("支付宝红包(元)", "集分宝(元)", "集分宝抵扣(元)", "支付宝优惠(元)", "支付宝优惠")
KINDS = {"交易": "payment", "退款": "refund"}
_HEADER_FIXES = str.maketrans({"（": "(", "）": ")", "：": ":", "\u3000": " "})
_TRAILER = re.compile(r"#\s*(交易|退款)合计")


def header_name(cell: str) -> str:
    return "".join(cell.translate(_HEADER_FIXES).split())


class AlipayTradeBill:
    category = "pay"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "csv.zip" if is_zip(data) else "csv"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        detail, _ = self._members(data, ctx)
        return self._text(detail, ctx)

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _text(self, member: Member, ctx: ParseContext) -> list[str]:
        return split_lines(decode(member.data, ENCODINGS, file=_where(ctx, member)))

    def _members(self, data: bytes, ctx: ParseContext) -> tuple[Member, Member | None]:
        """The detail CSV and, when the zip has one, the summary CSV."""
        if not is_zip(data):
            return Member(ctx.file_name, data), None
        by_title: dict[str, list[Member]] = {}
        for member in unzip(data, file=ctx.file_name):
            first = member.data[:200].decode("gb18030", errors="replace").lstrip("\ufeff \r\n")
            title = next((t for t in (DETAIL_TITLE, SUMMARY_TITLE, ACCOUNT_TITLE) if first.startswith(t)), "")
            by_title.setdefault(title, []).append(member)
        details, summaries = by_title.get(DETAIL_TITLE, []), by_title.get(SUMMARY_TITLE, [])
        if not details:  # by name, so that a damaged detail member is reported as damaged, not as missing
            details = [m for m in by_title.get("", []) if "业务明细" in m.base_name and "汇总" not in m.base_name]
        if not details:
            if ACCOUNT_TITLE in by_title:
                raise InputRejected("WRONG_KIND", "this zip holds an account statement (账务明细, signcustomer), "
                                    "not the trade detail", file=ctx.file_name,
                                    hint="download the bill with bill_type=trade")
            raise InputRejected("MISSING_MEMBER", f"the zip has no detail CSV ({DETAIL_TITLE})", file=ctx.file_name,
                                hint="upload the zip exactly as Alipay's bill download gave it")
        if len(details) > 1 or len(summaries) > 1:
            raise InputRejected("EXTRA_MEMBER", "the zip holds more than one detail or summary CSV",
                                file=ctx.file_name, hint="upload one day's bill per file")
        return details[0], (summaries[0] if summaries else None)

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        file = ctx.file_name
        detail, summary = self._members(data, ctx)
        lines = self._text(detail, ctx)
        _check_kind(lines, file)
        currency = _currency(ctx)
        header: list[str] | None = None
        tally = Tally()
        trailers: dict[str, tuple[int, str]] = {}
        data_ended = False
        for line_no, line in enumerate(lines, start=1):
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                if header is not None:
                    data_ended = True  # the end marker, totals and export time follow the rows
                    found = _TRAILER.match(stripped)
                    if found:
                        trailers[found.group(1)] = (line_no, stripped)
                continue
            if data_ended:
                raise InputRejected("TRAILING_DATA", "a data row after the end of the detail list", file=file,
                                    line=line_no)
            if header is None:
                header = _header(line, file, line_no)
                tally = Tally(header)
                continue
            cells = _cells(line)
            if len(cells) != len(header):
                raise InputRejected("COLUMN_COUNT",
                                    f"row has {len(cells)} cells, the header has {len(header)} (a comma in a value?)",
                                    file=file, line=line_no)
            row = dict(zip(header, cells, strict=True))
            record = _record(row, ctx, currency, line_no)
            tally.add(row, file, line_no)
            yield record
        if header is None:
            raise InputRejected("MISSING_COLUMN", "the file has no header row", file=file, line=len(lines),
                                hint="the file is truncated; download it again")
        check_trailers(trailers, tally, file, len(lines))
        if summary is not None:
            check_summary(self._text(summary, ctx), tally, _where(ctx, summary))


def _where(ctx: ParseContext, member: Member) -> str:
    return ctx.file_name if member.name == ctx.file_name else f"{ctx.file_name}/{member.name}"


def _check_kind(lines: list[str], file: str) -> None:
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first:
        raise InputRejected("EMPTY_FILE", "the file is empty", file=file)
    if first.startswith(DETAIL_TITLE):
        return
    if first.startswith(SUMMARY_TITLE):
        raise InputRejected("WRONG_KIND", "this is the summary CSV (业务汇总), not the detail", file=file, line=1,
                            hint="upload the whole zip, or the …_业务明细.csv member")
    if first.startswith(ACCOUNT_TITLE):
        raise InputRejected("WRONG_KIND", "this is an account statement (账务明细, signcustomer), not the trade "
                            "detail", file=file, line=1, hint="download the bill with bill_type=trade")
    if first.startswith(("<", "{")):
        raise InputRejected("CHANNEL_ERROR", "the file is an Alipay error page, not a bill", file=file, line=1,
                            hint="the download link is valid for 30 seconds; query a new one and download at once")
    raise InputRejected("WRONG_KIND", f"not an Alipay trade detail: the first line is not {DETAIL_TITLE}",
                        file=file, line=1)


def _header(line: str, file: str, line_no: int) -> list[str]:
    header = [header_name(cell) for cell in _cells(line)]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise InputRejected("MISSING_COLUMN", f"the header has no {', '.join(missing)}", file=file, line=line_no,
                            hint="is this an Alipay trade detail (业务明细)?")
    return header


def _cells(line: str) -> list[str]:
    # One physical line is one row; quoting is honoured if Alipay ever quotes a value.
    try:
        cells = next(csv.reader([line]), [])
    except csv.Error:
        cells = line.split(",")
    return [cell.strip() for cell in cells]


def _currency(ctx: ParseContext) -> str:
    # The trade detail has no currency column: a domestic Alipay account settles CNY.
    try:
        return currency_code(str(ctx.options.get("currency") or "CNY"))
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=ctx.file_name, hint="fix the source's `currency`") from None


def _money(row: dict[str, str], name: str, currency: str, file: str, line: int) -> int:
    text = row.get(name, "")
    try:
        return to_minor(text, currency) if text else 0
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field=name) from None


def _time(row: dict[str, str], ctx: ParseContext, line: int) -> datetime:
    name = "完成时间"  # payment time, or refund completion on refund rows: when the money moved
    text = row[name]
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ctx.timezone)
    except ValueError:
        raise InputRejected("BAD_DATE", f"{name} {text!r} is not yyyy-MM-dd HH:mm:ss", file=ctx.file_name,
                            line=line, field=name) from None


def _record(row: dict[str, str], ctx: ParseContext, currency: str, line: int) -> dict[str, Any]:
    file = ctx.file_name
    local = _time(row, ctx, line)
    business_type = row["业务类型"]
    kind = KINDS.get(business_type, "other")
    fee = abs(_money(row, "服务费(元)", currency, file, line))
    # Alipay's sign of 服务费 is not settled (0.00 in captures, -0.12 in a third-party fixture): a fee on
    # a trade is a cost and on a refund is returned, whichever sign the file writes.
    return {
        "source": ctx.source,
        "business_day": local.date(),
        "occurred_at": local.astimezone(UTC),
        "record_kind": kind,
        "order_no": row["商户订单号"] or None,
        "refund_no": (row.get("退款批次号/请求号") or None) if kind == "refund" else None,
        "channel_txn_id": row["支付宝交易号"] or None,
        "amount_minor": _money(row, "订单金额(元)", currency, file, line),
        "fee_minor": -fee if kind == "refund" else fee,
        "discount_minor": sum(_money(row, name, currency, file, line) for name in PLATFORM_DISCOUNTS),
        "currency": currency,
        "status": business_type or None,
        "bill_sha256": ctx.bill_sha256,
        "line_no": line,
    }


def _decimal(text: str, file: str, line: int, name: str) -> Decimal:
    try:
        return parse_decimal(text) if text else Decimal(0)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field=name) from None


class Tally:
    """Row counts and column sums per 业务类型, and over all rows, for the control totals."""

    def __init__(self, header: list[str] | None = None) -> None:
        self.amount_columns = [name for name in header or () if name.endswith("(元)")]
        self.counts: dict[str, int] = {}
        self.sums: dict[str, dict[str, Decimal]] = {}
        self.all: dict[str, Decimal] = dict.fromkeys(self.amount_columns, Decimal(0))

    def add(self, row: dict[str, str], file: str, line: int) -> None:
        kind = row["业务类型"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        sums = self.sums.setdefault(kind, dict.fromkeys(self.amount_columns, Decimal(0)))
        for name in self.amount_columns:
            value = _decimal(row[name], file, line, name)
            sums[name] += value
            self.all[name] += value


def _mismatch(what: str, stated: object, actual: object, file: str, line: int, field: str) -> InputRejected:
    return InputRejected("TOTALS_MISMATCH", f"{what} says {stated}, the rows add up to {actual}", file=file,
                         line=line, field=field, hint="the bill is incomplete or altered; download it again")


def check_trailers(trailers: dict[str, tuple[int, str]], tally: Tally, file: str, last_line: int) -> None:
    """``#交易合计：N笔，商家实收共X元，商家优惠共Y元`` and the same for 退款, against the rows of that type."""
    for kind in ("交易", "退款"):
        if kind not in trailers:
            raise InputRejected("MISSING_TOTALS", f"the bill has no #{kind}合计 line", file=file, line=last_line,
                                hint="the file is truncated; download it again")
        line, text = trailers[kind]
        label = f"#{kind}合计"
        parts = text.translate(_HEADER_FIXES).split(":", 1)[-1].split("，")
        count = re.fullmatch(r"\s*(\d+)\s*笔\s*", parts[0])
        if count is None:
            raise InputRejected("BAD_VALUE", f"{label} does not start with a row count (N笔)", file=file, line=line,
                                field=label)
        if int(count.group(1)) != tally.counts.get(kind, 0):
            raise _mismatch(label, f"{count.group(1)} rows", tally.counts.get(kind, 0), file, line, label)
        for part in parts[1:]:
            found = re.fullmatch(r"\s*(\S+?)共\s*([^元]*)元\s*", part)
            if found is None:
                continue  # a total this parser does not know how to read is left to the summary check
            name = found.group(1).removesuffix("退款") + "(元)"
            if name not in tally.all:
                continue
            stated = _decimal(found.group(2), file, line, f"{label} {found.group(1)}")
            actual = tally.sums.get(kind, {}).get(name, Decimal(0))
            if stated != actual:
                raise _mismatch(f"{label} {found.group(1)}", found.group(2), actual, file, line, name)


def check_summary(lines: list[str], tally: Tally, file: str) -> None:
    """The summary member's 合计 row: trade and refund counts, and each amount column both files have."""
    header: list[str] | None = None
    for line_no, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = _cells(line)
        if header is None:
            header = [header_name(cell) for cell in cells]
            continue
        if cells[0] != "合计":
            continue
        if len(cells) != len(header):
            raise InputRejected("COLUMN_COUNT", f"the 合计 row has {len(cells)} cells, the header {len(header)}",
                                file=file, line=line_no)
        expected: dict[str, Decimal] = {"交易订单总笔数": Decimal(tally.counts.get("交易", 0)),
                                        "退款订单总笔数": Decimal(tally.counts.get("退款", 0))}
        expected |= {name: tally.all[name] for name in header if name in tally.all}
        for name, text in zip(header, cells, strict=True):
            if name in expected and (stated := _decimal(text, file, line_no, name)) != expected[name]:
                raise _mismatch(f"合计 {name}", stated, expected[name], file, line_no, name)
        return
    raise InputRejected("MISSING_TOTALS", "the summary CSV has no 合计 row", file=file, line=len(lines),
                        hint="upload the zip exactly as Alipay's bill download gave it")


CHANNEL = AlipayTradeBill()
