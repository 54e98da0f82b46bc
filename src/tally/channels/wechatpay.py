"""WeChat Pay trade bills (交易账单), v2 and v3, plain or gzip (FORMATS.md §1).

Layout: a header row, detail rows whose every cell starts with a backtick, then the summary
header (first cell 总交易单数) and one summary row. Columns are found by header name because the
set differs by bill type and by the merchant's format generation. Amounts are yuan with 2
decimals, fees 5; times are Beijing time without offset. The summary row is the bill's control
total: every total it carries must equal the detail rows, or the whole bill is rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.text import decode, gunzip_if_needed, split_lines
from tally.errors import InputRejected
from tally.money import currency_code, exponent, parse_decimal, to_minor, to_minor_rounded
from tally.records import batched

SUMMARY_FIRST_CELL = "总交易单数"
FEE = "手续费"  # the one amount column written with 5 decimals
# summary header -> the detail column it totals (current and legacy families).
TOTALS = {
    "应结订单总金额": "应结订单金额",
    "退款总金额": "退款金额",
    "充值券退款总金额": "充值券退款金额",
    "手续费总金额": "手续费",
    "订单总金额": "订单金额",
    "申请退款总金额": "申请退款金额",
    "总交易额": "总金额",
    "总退款金额": "退款金额",
    "总代金券或立减优惠退款金额": "代金券或立减优惠退款金额",
    "总企业红包退款金额": "企业红包退款金额",
}
REQUIRED = ("交易时间", "商户订单号", "交易状态", "货币种类")
_NONE = {"", "0"}  # WeChat writes 0 for "no refund number" on payment rows
_HEADER_FIXES = str.maketrans({"（": "(", "）": ")", "：": ":", "\u3000": " "})


def _header(line: str) -> list[str]:
    return [" ".join(cell.translate(_HEADER_FIXES).split()) for cell in line.split(",")]


def _cells(line: str) -> list[str]:
    # Strip exactly one leading backtick per cell (a lone backtick is an empty value).
    return [cell.removeprefix("`").strip() for cell in line.split(",")]


class WeChatPayTradeBill:
    category = "pay"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "csv.gz" if data.startswith(b"\x1f\x8b") else "csv"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        raw = gunzip_if_needed(data, file=ctx.file_name)
        return split_lines(decode(raw, ("utf-8", "gb18030"), file=ctx.file_name))

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        file = ctx.file_name
        lines = self.lines(data, ctx)
        _check_kind(lines, file)
        header = _header(lines[0])
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise InputRejected("MISSING_COLUMN", f"the header has no {', '.join(missing)}", file=file, line=1,
                                hint="is this a WeChat Pay trade bill?")
        col = {name: i for i, name in enumerate(header)}
        sums = {name: Decimal(0) for name in TOTALS.values() if name in col}
        count = 0
        summary: tuple[int, list[str], list[str]] | None = None
        for line_no, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            if summary is not None:
                if summary[2]:
                    raise InputRejected("TRAILING_DATA", "text after the summary row", file=file, line=line_no)
                summary = (summary[0], summary[1], _cells(line))
                continue
            if line.split(",")[0].strip() == SUMMARY_FIRST_CELL:
                summary = (line_no, _header(line), [])
                continue
            cells = _cells(line)
            if len(cells) != len(header):
                raise InputRejected(
                    "COLUMN_COUNT",
                    f"row has {len(cells)} cells, the header has {len(header)} (a comma inside a value?)",
                    file=file, line=line_no,
                )
            row = dict(zip(header, cells, strict=True))
            record = _record(row, ctx, line_no)
            for name in sums:
                # Every amount column is checked, not only those the record uses: a bad cell
                # anywhere means the bill is not what WeChat sent.
                sums[name] += _decimal(row[name], file, line_no, name) if name == FEE \
                    else Decimal(_money(row, (name,), record["currency"], file, line_no)).scaleb(
                        -exponent(record["currency"]))
            count += 1
            yield record
        if summary is None or not summary[2]:
            raise InputRejected("MISSING_TOTALS", "the bill has no summary lines (总交易单数…)", file=file,
                                line=len(lines), hint="the file is truncated; download it again")
        _check_totals(summary, count, sums, file)


def _check_kind(lines: list[str], file: str) -> None:
    if not lines:
        raise InputRejected("EMPTY_FILE", "the file is empty", file=file)
    first = lines[0].lstrip()
    if first.startswith("<xml>") or first.startswith("<?xml"):
        raise InputRejected("CHANNEL_ERROR", "the file is a WeChat Pay error answer, not a bill", file=file, line=1)
    if first.startswith("记账时间"):
        raise InputRejected("WRONG_KIND", "this is a fund-flow bill (资金账单), not a trade bill", file=file,
                            line=1, hint="import it into a `wechatpay_fund` source")
    if not first.startswith("交易时间"):
        raise InputRejected("WRONG_KIND", "not a WeChat Pay trade bill: the first header is not 交易时间",
                            file=file, line=1)


def _decimal(text: str, file: str, line: int, name: str) -> Decimal:
    try:
        return parse_decimal(text) if text else Decimal(0)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field=name) from None


def _money(row: dict[str, str], names: tuple[str, ...], currency: str, file: str, line: int) -> int:
    """Minor units of the first of ``names`` the bill has (0 when it has none)."""
    for name in names:
        if name in row:
            text = row[name]
            try:
                return to_minor(text, currency) if text else 0
            except InputRejected as exc:
                raise InputRejected(exc.code, exc.message, file=file, line=line, field=name) from None
    return 0


def _record(row: dict[str, str], ctx: ParseContext, line: int) -> dict[str, Any]:
    file = ctx.file_name
    try:
        local = datetime.strptime(row["交易时间"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ctx.timezone)
    except ValueError:
        raise InputRejected("BAD_DATE", f"交易时间 {row['交易时间']!r} is not yyyy-MM-dd HH:mm:ss",
                            file=file, line=line, field="交易时间") from None
    try:
        currency = currency_code(row["货币种类"] or "CNY")
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field="货币种类") from None
    status = row["交易状态"]
    fee_text = row.get("手续费", "")
    try:
        fee = to_minor_rounded(fee_text, currency) if fee_text else 0
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field="手续费") from None
    record: dict[str, Any] = {
        "source": ctx.source,
        "business_day": local.date(),
        "occurred_at": local.astimezone(UTC),
        "order_no": row["商户订单号"] or None,
        "currency": currency,
        "fee_minor": fee,
        "bill_sha256": ctx.bill_sha256,
        "line_no": line,
    }
    if status == "REFUND":
        refund_no = row.get("商户退款单号", "")
        record |= {
            "record_kind": "refund",
            "refund_no": None if refund_no in _NONE else refund_no,
            "channel_txn_id": row.get("微信退款单号") or row.get("微信订单号") or None,
            # Refund columns are positive; money goes out, so the record is negative.
            "amount_minor": -_money(row, ("申请退款金额", "退款金额"), currency, file, line),
            "discount_minor": -_money(row, ("充值券退款金额", "代金券或立减优惠退款金额"), currency, file, line),
            "status": row.get("退款状态") or status,
        }
    else:
        record |= {
            "record_kind": "payment" if status == "SUCCESS" else "other",
            "refund_no": None,
            "channel_txn_id": row.get("微信订单号") or None,
            "amount_minor": _money(row, ("订单金额", "应结订单金额", "总金额"), currency, file, line),
            "discount_minor": _money(row, ("代金券金额", "代金券或立减优惠金额"), currency, file, line),
            "status": status,
        }
    return record


def _check_totals(summary: tuple[int, list[str], list[str]], count: int, sums: dict[str, Decimal],
                  file: str) -> None:
    line, names, values = summary
    if len(values) != len(names):
        raise InputRejected("COLUMN_COUNT", f"summary row has {len(values)} cells, its header {len(names)}",
                            file=file, line=line + 1)
    for name, text in zip(names, values, strict=True):
        stated = _decimal(text, file, line + 1, name)
        if name == SUMMARY_FIRST_CELL:
            if stated != count:
                raise InputRejected("TOTALS_MISMATCH", f"{name} says {text} rows, the bill has {count}",
                                    file=file, line=line + 1, field=name,
                                    hint="the bill is incomplete or altered; download it again")
        elif TOTALS.get(name) in sums:
            actual = sums[TOTALS[name]]
            if stated != actual:
                raise InputRejected("TOTALS_MISMATCH", f"{name} says {text}, the rows add up to {actual}",
                                    file=file, line=line + 1, field=name,
                                    hint="the bill is incomplete or altered; download it again")


CHANNEL = WeChatPayTradeBill()
