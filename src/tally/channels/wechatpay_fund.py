"""WeChat Pay fund-flow bills (资金账单) of the BASIC, OPERATION and FEES accounts (FORMATS.md §1.4).

Same physical shape as the trade bill: a header row, detail rows whose every cell starts with a
backtick, then the summary header (first cell 资金流水总笔数) and one summary row; plain or gzip.
Each row is one booking on the merchant's WeChat Pay account: 收支金额 is unsigned and 收支类型
(收入/支出) gives the direction. 记账时间 is Beijing time without offset and is the booking
time, so its local date is the business day. The summary row's counts and amounts are the bill's
control totals; its counts may be written as floats (`20.0`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.text import decode, gunzip_if_needed, split_lines
from tally.errors import InputRejected
from tally.money import currency_code, exponent, parse_decimal, to_minor
from tally.records import batched

FIRST_HEADER = "记账时间"
SUMMARY_FIRST_CELL = "资金流水总笔数"
AMOUNT = "收支金额(元)"
BALANCE = "账户结余(元)"
REQUIRED = (FIRST_HEADER, "收支类型", AMOUNT, "业务类型")
DIRECTION = {"收入": 1, "支出": -1}
# 业务类型 (else 业务名称) text -> record kind; the first fragment found wins, so the fee entry
# "扣除交易手续费" is a fee although it mentions 交易.
KIND_BY_TEXT = (("手续费", "fee"), ("退款", "refund"), ("提现", "payout"), ("结算", "payout"), ("交易", "payment"))
_HEADER_FIXES = str.maketrans({"（": "(", "）": ")", "：": ":", "\u3000": " "})


def _header(line: str) -> list[str]:
    return [" ".join(cell.translate(_HEADER_FIXES).split()) for cell in line.split(",")]


def _cells(line: str) -> list[str]:
    # Strip exactly one leading backtick per cell (a lone backtick is an empty value).
    return [cell.strip().removeprefix("`").strip() for cell in line.split(",")]


def record_kind(business_type: str, business_name: str) -> str:
    for text in (business_type, business_name):
        for fragment, kind in KIND_BY_TEXT:
            if fragment in text:
                return kind
    return "other"


class WeChatPayFundFlowBill:
    category = "fund"

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
                                hint="is this a WeChat Pay fund-flow bill (资金账单)?")
        currency = _currency(ctx)
        counts = {1: 0, -1: 0}
        sums = {1: Decimal(0), -1: Decimal(0)}
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
                raise InputRejected("COLUMN_COUNT",
                                    f"row has {len(cells)} cells, the header has {len(header)} (a comma in a value?)",
                                    file=file, line=line_no)
            row = dict(zip(header, cells, strict=True))
            record = _record(row, ctx, currency, line_no)
            sign = DIRECTION[row["收支类型"]]
            counts[sign] += 1
            sums[sign] += abs(Decimal(record["amount_minor"]).scaleb(-exponent(currency)))
            yield record
        if summary is None or not summary[2]:
            raise InputRejected("MISSING_TOTALS", f"the bill has no summary lines ({SUMMARY_FIRST_CELL}…)",
                                file=file, line=len(lines), hint="the file is truncated; download it again")
        _check_totals(summary, counts, sums, file)


def _check_kind(lines: list[str], file: str) -> None:
    if not lines:
        raise InputRejected("EMPTY_FILE", "the file is empty", file=file)
    first = lines[0].lstrip()
    if first.startswith(("<xml>", "<?xml", "{")):
        raise InputRejected("CHANNEL_ERROR", f"the file is a WeChat Pay error answer, not a bill: {_error(lines)}",
                            file=file, line=1, hint="fetch the bill again later, or check the account type")
    if first.startswith("交易时间"):
        raise InputRejected("WRONG_KIND", "this is a trade bill (交易账单), not a fund-flow bill", file=file,
                            line=1, hint="import it into a `wechatpay` source")
    if not first.startswith(FIRST_HEADER):
        raise InputRejected("WRONG_KIND", f"not a WeChat Pay fund-flow bill: the first header is not {FIRST_HEADER}",
                            file=file, line=1)


def _error(lines: list[str]) -> str:
    text = "\n".join(lines[:20])[:2000]
    try:
        answer = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(answer, dict):
        return " ".join(str(answer.get(key, "")) for key in ("code", "message")).strip() or text[:200]
    return text[:200]


def _currency(ctx: ParseContext) -> str:
    # The fund bill has no currency column: a WeChat Pay account in mainland China books CNY.
    try:
        return currency_code(str(ctx.options.get("currency") or "CNY"))
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=ctx.file_name, hint="fix the source's `currency`") from None


def _amount(text: str, currency: str, file: str, line: int, name: str) -> int:
    try:
        return to_minor(text, currency)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field=name) from None


def _record(row: dict[str, str], ctx: ParseContext, currency: str, line: int) -> dict[str, Any]:
    file = ctx.file_name
    try:
        local = datetime.strptime(row[FIRST_HEADER], "%Y-%m-%d %H:%M:%S").replace(tzinfo=ctx.timezone)
    except ValueError:
        raise InputRejected("BAD_DATE", f"{FIRST_HEADER} {row[FIRST_HEADER]!r} is not yyyy-MM-dd HH:mm:ss",
                            file=file, line=line, field=FIRST_HEADER) from None
    direction = DIRECTION.get(row["收支类型"])
    if direction is None:
        raise InputRejected("BAD_VALUE", f"收支类型 is {row['收支类型']!r}, expected 收入 or 支出", file=file,
                            line=line, field="收支类型")
    amount = _amount(row[AMOUNT], currency, file, line, AMOUNT)
    if amount < 0:
        raise InputRejected("BAD_AMOUNT", f"{AMOUNT} is negative; the direction belongs in 收支类型", file=file,
                            line=line, field=AMOUNT)
    if row.get(BALANCE):
        _amount(row[BALANCE], currency, file, line, BALANCE)  # checked, not kept: a bad cell means a bad bill
    kind = record_kind(row["业务类型"], row.get("业务名称", ""))
    voucher = row.get("业务凭证号") or None  # the merchant's order or refund number
    return {
        "source": ctx.source,
        "business_day": local.date(),
        "occurred_at": local.astimezone(UTC),
        "record_kind": kind,
        "order_no": voucher if kind == "payment" else None,
        "refund_no": voucher if kind == "refund" else None,
        "channel_txn_id": row.get("微信支付业务单号") or None,
        "amount_minor": direction * amount,
        "fee_minor": 0,  # a fee is its own row here (record_kind fee, amount negative), never counted twice
        "discount_minor": 0,
        "currency": currency,
        "status": row["业务类型"] or row.get("业务名称") or None,
        "bill_sha256": ctx.bill_sha256,
        "line_no": line,
    }


def _check_totals(summary: tuple[int, list[str], list[str]], counts: dict[int, int], sums: dict[int, Decimal],
                  file: str) -> None:
    line, names, values = summary
    line += 1
    if len(values) != len(names):
        raise InputRejected("COLUMN_COUNT", f"summary row has {len(values)} cells, its header {len(names)}",
                            file=file, line=line)
    actual: dict[str, Decimal] = {
        SUMMARY_FIRST_CELL: Decimal(counts[1] + counts[-1]),
        "收入笔数": Decimal(counts[1]), "收入金额": sums[1],
        "支出笔数": Decimal(counts[-1]), "支出金额": sums[-1],
    }
    for name, text in zip(names, values, strict=True):
        if name not in actual:
            continue
        try:
            stated = parse_decimal(text)
        except InputRejected as exc:
            raise InputRejected(exc.code, exc.message, file=file, line=line, field=name) from None
        if stated != actual[name]:
            is_count = name.endswith(("笔数", "总笔数"))
            shown = int(actual[name]) if is_count else actual[name]
            raise InputRejected("TOTALS_MISMATCH", f"{name} says {text}, the rows add up to {shown}",
                                file=file, line=line, field=name,
                                hint="the bill is incomplete or altered; download it again")
    absent = [name for name in actual if name not in names]
    if absent:
        raise InputRejected("MISSING_TOTALS", f"the summary has no {', '.join(absent)}", file=file, line=line - 1,
                            hint="the file is not a complete fund-flow bill; download it again")


CHANNEL = WeChatPayFundFlowBill()
