"""WeChat Pay trade bills (交易账单), v2 and v3, plain or gzip (FORMATS.md §1).

Layout: a header row, detail rows whose every cell starts with a backtick, then the summary
header (first cell 总交易单数) and one summary row. Columns are found by header name because the
set differs by bill type and by the merchant's format generation. Amounts are yuan with 2
decimals, fees 5; times are Beijing time without offset. The summary row is the bill's control
total: every total it carries must equal the detail rows, or the whole bill is rejected.

The bill is read as a stream of blocks of lines (channels.columnar), so its size does not matter.
Detail rows are read column-wise with pyarrow (``_Bill.block``); a block it is not sure about
goes to the row-by-row code (``_Bill.line``), which decides what is accepted and words every
error. The two give the same records for every bill (tests/channels/test_wechatpay_stream.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tally.channels import ParseContext, columnar
from tally.channels.text import decode, gunzip_if_needed, split_lines
from tally.errors import InputRejected
from tally.money import currency_code, exponent, parse_decimal, to_minor, to_minor_rounded
from tally.records import SCHEMA, batched

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
ENCODINGS = ("utf-8", "gb18030")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_NONE = {"", "0"}  # WeChat writes 0 for "no refund number" on payment rows
_NONE_VALUES = pa.array(sorted(_NONE))
_SUMMARY_MARK = SUMMARY_FIRST_CELL.encode()
# Which column gives each money field, first found wins (current, then legacy header family).
_PAYMENT_AMOUNT = ("订单金额", "应结订单金额", "总金额")
_PAYMENT_DISCOUNT = ("代金券金额", "代金券或立减优惠金额")
_REFUND_AMOUNT = ("申请退款金额", "退款金额")
_REFUND_DISCOUNT = ("充值券退款金额", "代金券或立减优惠退款金额")
_MONEY = tuple(dict.fromkeys((*_PAYMENT_AMOUNT, *_PAYMENT_DISCOUNT, *_REFUND_AMOUNT, *_REFUND_DISCOUNT,
                              *(name for name in TOTALS.values() if name != FEE))))
_USED = ("交易时间", "商户订单号", "交易状态", "货币种类", "微信订单号", "微信退款单号", "商户退款单号", "退款状态",
         FEE, *_MONEY)
_HEADER_FIXES = str.maketrans({"（": "(", "）": ")", "：": ":", "\u3000": " "})


def _header(line: str) -> list[str]:
    return [" ".join(cell.translate(_HEADER_FIXES).split()) for cell in line.split(",")]


def _cells(line: str) -> list[str]:
    # Strip exactly one leading backtick per cell (a lone backtick is an empty value).
    return [cell.removeprefix("`").strip() for cell in line.split(",")]


class WeChatPayTradeBill:
    """The trade-bill channel. ``vectorized=False`` reads every line row by row (tests compare)."""

    category = "pay"

    def __init__(self, *, block_bytes: int = columnar.BLOCK_BYTES, vectorized: bool = True) -> None:
        self.block_bytes = block_bytes
        self.vectorized = vectorized

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "csv.gz" if data.startswith(b"\x1f\x8b") else "csv"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        raw = gunzip_if_needed(data, file=ctx.file_name)
        return split_lines(decode(raw, ENCODINGS, file=ctx.file_name))

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return self.parse_stream(columnar.BillBytes(data=data), ctx)

    def parse_stream(self, raw: columnar.BillBytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        """Like parse, from bytes in memory or a file, holding one block of text at a time."""
        return columnar.stream(raw, ENCODINGS, lambda blocks: self._batches(blocks, ctx), file=ctx.file_name,
                               block_bytes=self.block_bytes)

    def _batches(self, blocks: Iterable[bytes], ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        bill: _Bill | None = None
        line_no = 1  # of the first line of the next block
        for data in blocks:
            if not data:  # a file holding only a byte-order mark
                continue
            rest = data
            if bill is None:
                end = data.find(b"\n") + 1 or len(data)
                bill = _Bill(columnar.lines_of(data[:end])[0], ctx)
                rest, line_no = data[end:], 2
            fast = _fast_end(rest) if self.vectorized and bill.summary is None else 0
            if fast:
                try:
                    batch = bill.block(rest[:fast], line_no)
                except columnar.Fallback:
                    pass
                else:
                    yield batch
                    rest, line_no = rest[fast:], line_no + batch.num_rows
            lines = columnar.lines_of(rest)
            yield from batched(record for n, line in enumerate(lines, start=line_no)
                               if (record := bill.line(n, line)) is not None)
            line_no += len(lines)
        if bill is None:
            raise InputRejected("EMPTY_FILE", "the file is empty", file=ctx.file_name)
        bill.finish(line_no - 1)


def _fast_end(block: bytes) -> int:
    """Where the block's detail rows end: before the summary header and the blank lines above it."""
    marker = block.find(_SUMMARY_MARK)
    end = block.rfind(b"\n", 0, len(block) if marker < 0 else marker) + 1
    kept = end
    while kept and block[kept - 1] in b"\r\n":
        kept -= 1
    return block.find(b"\n", kept) + 1 if kept else 0


class _Bill:
    """One bill while its lines go by: the header, running control totals, the summary once seen."""

    def __init__(self, first_line: str, ctx: ParseContext) -> None:
        file = self.file = ctx.file_name
        self.ctx = ctx
        _check_kind([first_line], file)
        self.header = header = _header(first_line)
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise InputRejected("MISSING_COLUMN", f"the header has no {', '.join(missing)}", file=file, line=1,
                                hint="is this a WeChat Pay trade bill?")
        self.col = col = {name: i for i, name in enumerate(header)}
        self.sums = {name: Decimal(0) for name in TOTALS.values() if name in col}
        self.count = 0
        self.summary: tuple[int, list[str], list[str]] | None = None

    def line(self, line_no: int, line: str) -> dict[str, Any] | None:
        """The row-by-row path: one line's record (None for blank and summary lines), or its error."""
        file, header = self.file, self.header
        if not line.strip():
            return None
        if self.summary is not None:
            if self.summary[2]:
                raise InputRejected("TRAILING_DATA", "text after the summary row", file=file, line=line_no)
            self.summary = (self.summary[0], self.summary[1], _cells(line))
            return None
        if line.split(",", 1)[0].strip() == SUMMARY_FIRST_CELL:
            self.summary = (line_no, _header(line), [])
            return None
        cells = _cells(line)
        if len(cells) != len(header):
            raise InputRejected(
                "COLUMN_COUNT",
                f"row has {len(cells)} cells, the header has {len(header)} (a comma inside a value?)",
                file=file, line=line_no,
            )
        row = dict(zip(header, cells, strict=True))
        record = _record(row, self.ctx, line_no)
        for name in self.sums:
            # Every amount column is checked, not only those the record uses: a bad cell
            # anywhere means the bill is not what WeChat sent.
            self.sums[name] += _decimal(row[name], file, line_no, name) if name == FEE \
                else Decimal(_money(row, (name,), record["currency"], file, line_no)).scaleb(
                    -exponent(record["currency"]))
        self.count += 1
        return record

    def block(self, data: bytes, line_no: int) -> pa.RecordBatch:
        """The vectorized path: the records of a block of detail rows, or Fallback. Gives what
        :meth:`line` gives for each of its lines; the totals change only if the whole block is read."""
        ctx = self.ctx
        used = {name: self.col[name] for name in _USED if name in self.col}
        raw = columnar.read_block(data, len(self.header), used)
        row = {name: columnar.cells(column, "`") for name, column in raw.items()}
        count = len(row["交易时间"])
        empty = pa.repeat("", count)

        def text(name: str) -> pa.Array:
            return row.get(name, empty)

        currency = text("货币种类")
        columnar.check_all(currency, r"^(?:[A-Z]{3})?$")  # else money.currency_code decides, row by row
        currency = pc.if_else(pc.equal(currency, ""), "CNY", currency)
        exponents = {exponent(code) for code in pc.unique(currency).to_pylist()}
        if len(exponents) != 1:
            raise columnar.Fallback  # one scale per block; a bill mixing JPY and CNY goes row by row
        (digits,) = exponents
        occurred_at, business_day = columnar.local_times(text("交易时间"), ctx.timezone.key, TIME_FORMAT)
        fee_units, fee_scale = columnar.decimal_units(text(FEE))
        money = {name: columnar.minor_units(row[name], digits) for name in _MONEY if name in row}
        zero = pa.repeat(pa.scalar(0, pa.int64()), count)

        def first(names: tuple[str, ...]) -> pa.Array:
            return next((money[name] for name in names if name in money), zero)

        status = text("交易状态")
        refund = pc.equal(status, "REFUND")
        sums = {name: Decimal(columnar.exact_sum(fee_units)).scaleb(-fee_scale) if name == FEE
                else Decimal(columnar.exact_sum(money[name])).scaleb(-digits) for name in self.sums}
        refund_no = text("商户退款单号")
        order_id = columnar.null_if_empty(text("微信订单号"))
        refund_state = text("退款状态")
        arrays = {
            "source": pa.repeat(ctx.source, count),
            "business_day": business_day,
            "record_kind": pc.if_else(refund, "refund", pc.if_else(pc.equal(status, "SUCCESS"), "payment", "other")),
            "order_no": columnar.null_if_empty(text("商户订单号")),
            "refund_no": pc.if_else(pc.and_(refund, pc.invert(pc.is_in(refund_no, _NONE_VALUES))), refund_no,
                                    pa.scalar(None, pa.string())),
            "channel_txn_id": pc.if_else(refund, pc.coalesce(columnar.null_if_empty(text("微信退款单号")), order_id),
                                         order_id),
            # Refund columns are positive; money goes out, so the record is negative.
            "amount_minor": pc.if_else(refund, pc.negate(first(_REFUND_AMOUNT)), first(_PAYMENT_AMOUNT)),
            "fee_minor": columnar.round_half_up(fee_units, fee_scale, digits),
            "discount_minor": pc.if_else(refund, pc.negate(first(_REFUND_DISCOUNT)), first(_PAYMENT_DISCOUNT)),
            "currency": currency,
            "occurred_at": occurred_at,
            "status": pc.if_else(pc.and_(refund, pc.not_equal(refund_state, "")), refund_state, status),
            "item": pa.nulls(count, pa.string()),
            "quantity": pa.nulls(count, pa.int64()),
            "bill_sha256": pa.repeat(ctx.bill_sha256, count),
            "line_no": columnar.line_numbers(line_no, count),
        }
        batch = pa.RecordBatch.from_arrays([arrays[name] for name in SCHEMA.names], schema=SCHEMA)
        self.count += count
        for name, value in sums.items():
            self.sums[name] += value
        return batch

    def finish(self, last_line: int) -> None:
        if self.summary is None or not self.summary[2]:
            raise InputRejected("MISSING_TOTALS", "the bill has no summary lines (总交易单数…)", file=self.file,
                                line=last_line, hint="the file is truncated; download it again")
        _check_totals(self.summary, self.count, self.sums, self.file)


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
                return _int64(to_minor(text, currency) if text else 0, text)
            except InputRejected as exc:
                raise InputRejected(exc.code, exc.message, file=file, line=line, field=name) from None
    return 0


def _int64(minor: int, text: str) -> int:
    # The record holds int64 (either sign, so a refund can be negated): refuse, never crash, beyond.
    if abs(minor) >= 2**63:
        raise InputRejected("BAD_AMOUNT", f"amount {text!r} is too large", hint="is the column an amount?")
    return minor


def _record(row: dict[str, str], ctx: ParseContext, line: int) -> dict[str, Any]:
    file = ctx.file_name
    try:
        local = datetime.strptime(row["交易时间"], TIME_FORMAT).replace(tzinfo=ctx.timezone)
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
        fee = _int64(to_minor_rounded(fee_text, currency), fee_text) if fee_text else 0
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
            "amount_minor": -_money(row, _REFUND_AMOUNT, currency, file, line),
            "discount_minor": -_money(row, _REFUND_DISCOUNT, currency, file, line),
            "status": row.get("退款状态") or status,
        }
    else:
        record |= {
            "record_kind": "payment" if status == "SUCCESS" else "other",
            "refund_no": None,
            "channel_txn_id": row.get("微信订单号") or None,
            "amount_minor": _money(row, _PAYMENT_AMOUNT, currency, file, line),
            "discount_minor": _money(row, _PAYMENT_DISCOUNT, currency, file, line),
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
