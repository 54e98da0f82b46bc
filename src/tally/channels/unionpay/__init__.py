"""UnionPay 全渠道 (ACP) merchant reconciliation files: the ZM detail, zipped or packaged (FORMATS.md §3).

The same bill arrives three ways: the zip of the file-transfer API (a ZM detail member
``INNyyMMdd88ZM_<merId>``, an RD summary report ``RD…_<merId>``, maybe a ZME error detail), the
API's ``fileContent`` itself (Base64 of the zlib-DEFLATE-compressed zip, what the SDK's
``deCodeFileContent`` unpacks), or the bare ZM file. ZM lines are sliced in :mod:`.layout`, the
RD report's totals are read and checked in :mod:`.summary`.

Business day: the settlement date (清算日期). No ZM line carries it; the member's name does
(``INN`` + yyMMdd, year 20yy). Without such a name the RD report's 清算日期 is used, then a
yyyyMMdd in the file name. occurred_at is 交易传输时间 (MMddHHmmss, no year), read in the
source's timezone (Beijing by default; UnionPay does not say), in the year that puts it nearest
the settlement date, so a 12-31 payment settled on 01-01 stays in the old year.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.packaging import Member, inflate, is_zip, looks_base64, unbase64, unzip
from tally.channels.unionpay.layout import fen, fields, signed_fen, text
from tally.channels.unionpay.summary import DetailSums, RdSummary, check_rd, read_rd
from tally.errors import InputRejected
from tally.money import currency_code, exponent
from tally.records import batched

_ZM_NAME = re.compile(r"INN(\d{2})(\d{2})(\d{2})\w{2}ZM_")
_ZME_NAME = re.compile(r"INN\d{6}\w{2}ZME_")
_DAY_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
# 交易类型 (the ACP txnType) -> record kind; cancellations (撤销) give the money back like a refund.
KINDS = {"01": "payment", "03": "payment", "04": "refund", "31": "refund", "33": "refund"}


@dataclass(frozen=True)
class Package:
    zm: Member
    rd: Member | None
    packaging: str  # zip, b64 or txt: also the bill's file extension


class UnionPayBill:
    category = "pay"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "zip" if is_zip(data) else "b64" if _is_package(data) else "txt"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        return [line.decode("gb18030", errors="replace") for line in _lines(self._unpack(data, ctx).zm.data)]

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _unpack(self, data: bytes, ctx: ParseContext) -> Package:
        file = ctx.file_name
        if not data.strip():
            raise InputRejected("EMPTY_FILE", "the file is empty", file=file)
        if is_zip(data):
            return _from_zip(unzip(data, file=file), file, "zip")
        if _is_package(data):
            inner = inflate(unbase64(data, file=file), file=file)
            if is_zip(inner):
                return _from_zip(unzip(inner, file=file), file, "b64")
            return Package(Member(_base_name(file), inner), None, "b64")
        return Package(Member(_base_name(file), data), None, "txt")

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        file = ctx.file_name
        package = self._unpack(data, ctx)
        rd = read_rd(package.rd.data, f"{file}/{package.rd.name}") if package.rd else None
        settle = _settle_date(package, rd, file)
        currency = _currency(ctx, rd)
        sums = DetailSums(exponent=exponent(currency))
        for line_no, line in enumerate(_lines(package.zm.data), start=1):
            if not line.strip():
                continue
            record, net = _record(line, ctx, settle, currency, line_no)
            sums.count += 1
            sums.amount += record["amount_minor"]
            sums.fee += record["fee_minor"]
            sums.net += net
            yield record
        if rd is not None:
            check_rd(rd, sums)


def _is_package(data: bytes) -> bool:
    return looks_base64(data) and not data.lstrip().startswith(b"<")


def _lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def _base_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _from_zip(members: list[Member], file: str, packaging: str) -> Package:
    zm = [m for m in members if _ZM_NAME.match(m.base_name)]
    rd = [m for m in members if m.base_name.startswith("RD")]
    if any(_ZME_NAME.match(m.base_name) and m.data.strip() for m in members):
        raise InputRejected("UNSUPPORTED_MEMBER", "the zip carries ZME error-detail records, which Tally cannot "
                            "read yet", file=file, hint="settle the ZME entries by hand with UnionPay; the bill is "
                            "refused whole so that nothing is half-imported")
    if not zm:
        raise InputRejected("MISSING_MEMBER", "the zip has no ZM detail file (INNyyMMdd..ZM_<merId>)", file=file,
                            hint="upload the zip exactly as UnionPay's file transfer gave it")
    if len(zm) > 1 or len(rd) > 1:
        raise InputRejected("EXTRA_MEMBER", "the zip holds more than one ZM detail or RD summary", file=file,
                            hint="upload one settlement day per file")
    return Package(zm[0], rd[0] if rd else None, packaging)


def _settle_date(package: Package, rd: RdSummary | None, file: str) -> date:
    named: date | None = None
    if found := _ZM_NAME.match(package.zm.base_name):
        yy, mm, dd = (int(group) for group in found.groups())
        try:
            named = date(2000 + yy, mm, dd)
        except ValueError:
            raise InputRejected("BAD_DATE", f"the ZM file name {package.zm.base_name!r} has no valid date",
                                file=file) from None
    rd_date = rd.settle_date if rd else None
    if rd and named and rd_date and named != rd_date:
        raise InputRejected("BAD_DATE", f"the RD summary's 清算日期 is {rd_date}, the ZM file is for {named}",
                            file=rd.file, line=rd.settle_line, field="清算日期", hint="the zip mixes two days")
    if settle := named or rd_date:
        return settle
    for found in _DAY_IN_NAME.finditer(_base_name(file)):
        try:
            return date(*(int(group) for group in found.groups()))
        except ValueError:
            continue
    raise InputRejected("MISSING_SETTLE_DATE", "the settlement date is unknown: no INNyyMMdd…ZM_ name, no RD "
                        "summary and no yyyyMMdd in the file name", file=file,
                        hint="keep UnionPay's file name (INNyyMMdd88ZM_<merId>) or upload the whole zip")


def _currency(ctx: ParseContext, rd: RdSummary | None) -> str:
    try:
        currency = currency_code(str(ctx.options.get("currency") or "CNY"))
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=ctx.file_name, hint="fix the source's `currency`") from None
    if rd is not None and rd.currency is not None and rd.currency != currency:
        raise InputRejected("BAD_CURRENCY", f"the RD summary settles in {rd.currency}, the source says {currency}",
                            file=rd.file, field="清算币种", hint="set the source's `currency`")
    return currency


def _occurred_at(stamp: str, ctx: ParseContext, settle: date, line_no: int) -> datetime:
    """交易传输时间 MMddHHmmss in the year nearest the settlement date."""
    candidates = []
    if len(stamp) == 10 and stamp.isascii() and stamp.isdigit():
        for year in (settle.year - 1, settle.year, settle.year + 1):
            try:
                candidates.append(datetime.strptime(f"{year}{stamp}", "%Y%m%d%H%M%S").replace(tzinfo=ctx.timezone))
            except ValueError:
                continue
    if not candidates:
        raise InputRejected("BAD_DATE", f"交易传输时间 {stamp!r} is not MMddHHmmss", file=ctx.file_name,
                            line=line_no, field="交易传输时间")
    noon = datetime(settle.year, settle.month, settle.day, 12, tzinfo=ctx.timezone)
    return min(candidates, key=lambda at: abs(at - noon))


def _record(line: bytes, ctx: ParseContext, settle: date, currency: str, line_no: int) -> tuple[dict[str, Any], int]:
    file = ctx.file_name
    raw = fields(line, file, line_no)
    code = text(raw, "交易代码", file, line_no)
    if not code:
        raise InputRejected("BAD_VALUE", "交易代码 is blank", file=file, line=line_no, field="交易代码")
    net = signed_fen(raw, "清算净额", file, line_no)
    kind = KINDS.get(text(raw, "交易类型", file, line_no), "other")
    # Payments bring money in, refunds and cancellations take it out; for any other code the
    # settlement direction (C/D of 清算净额) is the only sign the line carries.
    sign = {"payment": 1, "refund": -1}.get(kind, -1 if net < 0 else 1)
    order_no = text(raw, "商户订单号", file, line_no) or None
    signed_fen(raw, "结算金额", file, line_no)  # checked, not kept: a bad cell means a bad bill
    record = {
        "source": ctx.source,
        "business_day": settle,
        "occurred_at": _occurred_at(text(raw, "交易传输时间", file, line_no), ctx, settle, line_no).astimezone(UTC),
        "record_kind": kind,
        # A refund is its own ACP order: its 商户订单号 is the merchant's refund number.
        "order_no": (text(raw, "原始交易订单号", file, line_no) or None) if kind == "refund" else order_no,
        "refund_no": order_no if kind == "refund" else None,
        "channel_txn_id": text(raw, "查询流水号", file, line_no) or None,
        "amount_minor": sign * fen(raw, "交易金额", file, line_no),
        "fee_minor": -signed_fen(raw, "商户手续费", file, line_no),  # D (debit to the merchant) is a cost
        "discount_minor": sign * abs(signed_fen(raw, "优惠金额", file, line_no, required=False)),
        "currency": currency,
        "status": code,
        "bill_sha256": ctx.bill_sha256,
        "line_no": line_no,
    }
    return record, net


CHANNEL = UnionPayBill()
