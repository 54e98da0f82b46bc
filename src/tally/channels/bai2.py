"""BAI2 cash-management balance reports (FORMATS.md §6.3): records 01/02/03/16/88/49/98/99.

Each record is comma-separated and ends with ``/``; ``88`` continues the record before it
(an 03's summaries, a 16's fields or text). Amounts are integers in the currency's minor unit
(``34726979`` USD = 347,269.79; JPY has none), so they go into ``amount_minor`` as written. A 16's
type code says the direction: 100–399 and 720–728 credits (+), 400–699 and 760 debits (−), 890–899
non-monetary; 900–999 are bank-defined and need the source option ``bai2_type_codes``
(``{"901" = "credit"}``). Every trailer is checked: 49 = Σ amounts of the account's 03 and 16
records and its record count, 98 = Σ of its 49s with account and record counts, 99 = Σ of the
98s with group and record counts (88s count as records). A blank control total means zero:
that is how banks write an account without activity (the ``account_trailer_amount_blank`` sample).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.text import decode, split_lines
from tally.errors import InputRejected
from tally.money import currency_code
from tally.records import batched

_SIGNED = re.compile(r"[+-]?\d+")
_FUNDS_EXTRA = {"": 0, "Z": 0, "0": 0, "1": 0, "2": 0, "S": 3, "V": 2}  # D: a count, then that many pairs
FEE_CODES = frozenset({"398", "524", "564", "567", "661", "698"})
ADJUSTMENT_CODES = frozenset({
    "123", "168", "172", "251", "252", "254", "255", "256", "257", "258", "260", "261", "266", "268", "357", "395",
    "423", "468", "551", "552", "554", "555", "556", "557", "558", "560", "561", "566", "568", "631", "694", "695",
})
GROUP_STATUS = {"1": "BOOK", "3": "CORRECTION"}
_INTERIM = {"1", "3"}  # as-of-date modifiers: interim previous-day / same-day


@dataclass
class _Record:
    code: str
    line: int
    fields: list[str]  # after the record code, "/" removed, 88 continuations appended
    physical: int = 1


@dataclass
class _Scope:
    line: int
    total: int = 0
    records: int = 0
    children: int = 0
    currency: str = ""
    day: date | None = None
    status: str = "BOOK"


class Bai2Report:
    category = "stmt"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "bai2"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        if b"\x00" in data:  # cp1252 would decode it: UTF-16 or binary must not pass as text
            raise InputRejected("BAD_ENCODING", "the file contains NUL bytes (UTF-16 or not text at all)",
                                file=ctx.file_name, hint="save the file as ASCII or UTF-8")
        return split_lines(decode(data, ("utf-8", "cp1252"), file=ctx.file_name))

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        file = ctx.file_name
        if not data.strip():
            raise InputRejected("EMPTY_FILE", "the file is empty", file=file)
        bank = _Scope(0)  # the file
        group: _Scope | None = None
        account: _Scope | None = None
        done = False
        for rec in _logical(self.lines(data, ctx), file):
            if done:
                raise InputRejected("TRAILING_DATA", f"record {rec.code} after the file trailer 99", file=file,
                                    line=rec.line)
            expected = {"01": bank.line == 0, "02": bank.line > 0 and group is None,
                        "03": group is not None and account is None, "16": account is not None,
                        "49": account is not None, "98": group is not None and account is None,
                        "99": bank.line > 0 and group is None}
            if rec.code not in expected:
                raise InputRejected("BAD_VALUE", f"unknown record code {rec.code!r}", file=file, line=rec.line,
                                    field="record code", hint="is this a BAI2 file?")
            if not expected[rec.code]:
                if bank.line == 0:
                    raise InputRejected("WRONG_KIND", "a BAI2 file starts with a 01 file header", file=file,
                                        line=rec.line)
                raise InputRejected("BAD_VALUE", f"record {rec.code} is out of place (01, 02, 03, 16…, 49, 98, 99)",
                                    file=file, line=rec.line, field="record code")
            for scope in (bank, group, account):
                if scope is not None:
                    scope.records += rec.physical
            if rec.code == "01":
                if _get(rec, 7) != "2":
                    raise InputRejected("WRONG_KIND", f"version {_get(rec, 7)!r} in the file header; only BAI "
                                        "version 2 is read", file=file, line=rec.line, field="version")
                bank = _Scope(rec.line, records=rec.physical)
            elif rec.code == "02":
                group = _group(rec, ctx)
                bank.children += 1
            elif rec.code == "03" and group is not None:
                account = _account(rec, group, ctx)
                group.children += 1
            elif rec.code == "16" and account is not None:
                record = _detail(rec, account, ctx)
                account.total += record.pop("_control")
                yield record
            elif rec.code == "49" and group is not None and account is not None:
                _trailer(rec, account, "account", None, file)
                group.total += account.total
                account = None
            elif rec.code == "98" and group is not None:
                _trailer(rec, group, "group", "accounts", file)
                bank.total += group.total
                group = None
            elif rec.code == "99":
                _trailer(rec, bank, "file", "groups", file)
                done = True
        if not done:
            raise InputRejected("MISSING_TOTALS", "the file has no 99 file trailer", file=file,
                                hint="the file is truncated; fetch it again")


def _logical(lines: list[str], file: str) -> Iterator[_Record]:
    """Logical records: each physical record with its 88 continuations, numbered by first line."""
    current: _Record | None = None
    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip()  # fixed-length files pad records with spaces
        if not line:
            continue
        code, _, rest = line.partition(",")
        fields = rest.removesuffix("/").split(",") if rest else []
        if code == "88":
            if current is None:
                raise InputRejected("BAD_VALUE", "a continuation 88 before any record", file=file, line=line_no)
            current.fields.extend(fields)
            current.physical += 1
            continue
        if current is not None:
            yield current
        current = _Record(code, line_no, fields)
    if current is not None:
        yield current


def _get(rec: _Record, index: int) -> str:
    return rec.fields[index].strip() if index < len(rec.fields) else ""


def _int(text: str, rec: _Record, what: str, *, signed: bool = True) -> int:
    text = text.strip()
    if not text:
        return 0  # a defaulted amount field
    if not _SIGNED.fullmatch(text) or (not signed and text[0] in "+-"):
        raise InputRejected("BAD_AMOUNT", f"{what} {text!r} is not a whole number of minor units",
                            file=None, line=rec.line, field=what)
    return int(text)


def _located(exc: InputRejected, file: str, rec: _Record) -> InputRejected:
    return exc.located(file=file, line=rec.line)  # type: ignore[return-value]


def _group(rec: _Record, ctx: ParseContext) -> _Scope:
    status = _get(rec, 2)
    if status not in GROUP_STATUS:
        what = {"2": "deletes an earlier report", "4": "is test data"}.get(status, f"has status {status!r}")
        raise InputRejected("BAD_VALUE", f"the group {what}; only updates (1) and corrections (3) carry bookings",
                            file=ctx.file_name, line=rec.line, field="group status")
    try:
        day = datetime.strptime(_get(rec, 3), "%y%m%d").date()  # noqa: DTZ007 - a calendar date
    except ValueError:
        raise InputRejected("BAD_DATE", f"as-of date {_get(rec, 3)!r} is not YYMMDD", file=ctx.file_name,
                            line=rec.line, field="as-of date") from None
    scope = _Scope(rec.line, records=rec.physical, currency=_get(rec, 5), day=day)
    scope.status = "INTERIM" if status == "1" and _get(rec, 6) in _INTERIM else GROUP_STATUS[status]
    return scope


def _funds(rec: _Record, index: int, what: str) -> int:
    """Index after a funds type and its availability fields."""
    funds = _get(rec, index).upper()
    if funds == "D":
        pairs = _int(_get(rec, index + 1), rec, f"{what} distribution count", signed=False)
        return index + 2 + 2 * pairs
    if funds not in _FUNDS_EXTRA:
        raise InputRejected("BAD_VALUE", f"funds type {funds!r} is not Z, 0, 1, 2, S, V or D", line=rec.line,
                            field=f"{what} funds type")
    return index + 1 + _FUNDS_EXTRA[funds]


def _account(rec: _Record, group: _Scope, ctx: ParseContext) -> _Scope:
    try:
        currency = currency_code(_get(rec, 1) or group.currency or str(ctx.options.get("currency", "USD")))
        scope = _Scope(rec.line, records=rec.physical, currency=currency, day=group.day, status=group.status)
        index = 2
        while index < len(rec.fields):
            code = _get(rec, index)
            if not code:  # a trailing or doubled delimiter ("…,,/" ends some banks' records)
                index += 1
                continue
            scope.total += _int(_get(rec, index + 1), rec, f"summary {code} amount")
            _int(_get(rec, index + 2), rec, f"summary {code} item count", signed=False)
            index = _funds(rec, index + 3, f"summary {code}")
    except InputRejected as exc:
        raise _located(exc, ctx.file_name, rec) from None
    return scope


def _direction(code: str, rec: _Record, ctx: ParseContext) -> int:
    custom = ctx.options.get("bai2_type_codes", {})
    if code in custom:
        return {"credit": 1, "debit": -1}.get(str(custom[code]), 0)
    if not re.fullmatch(r"\d{3}", code):
        raise InputRejected("BAD_VALUE", f"type code {code!r} is not three digits", line=rec.line, field="type code")
    number = int(code)
    if 100 <= number <= 399 or 720 <= number <= 728:
        return 1
    if 400 <= number <= 699 or number == 760:
        return -1
    if 890 <= number <= 899:
        return 0
    raise InputRejected("BAD_VALUE", f"type code {code} has no known direction for a 16 record", line=rec.line,
                        field="type code", hint='map bank-defined codes in the source option bai2_type_codes, '
                        'e.g. {"901" = "credit"}')


def _detail(rec: _Record, account: _Scope, ctx: ParseContext) -> dict[str, Any]:
    try:
        code = _get(rec, 0)
        direction = _direction(code, rec, ctx)
        if not _get(rec, 1):
            raise InputRejected("BAD_AMOUNT", "the transaction has no amount", line=rec.line, field="amount")
        amount = _int(_get(rec, 1), rec, "amount", signed=False)
        if direction == 0 and amount:
            raise InputRejected("BAD_AMOUNT", f"non-monetary type code {code} carries amount {amount}",
                                line=rec.line, field="amount")
        index = _funds(rec, 2, "transaction")
    except InputRejected as exc:
        raise _located(exc, ctx.file_name, rec) from None
    bank_ref, customer_ref = _get(rec, index), _get(rec, index + 1)
    assert account.day is not None
    return {
        "source": ctx.source,
        "business_day": account.day,
        "record_kind": "fee" if code in FEE_CODES else "adjustment" if code in ADJUSTMENT_CODES else "other",
        "order_no": customer_ref or None,
        "refund_no": None,
        "channel_txn_id": bank_ref or None,
        "amount_minor": direction * amount,
        "currency": account.currency,
        "occurred_at": None,
        "status": account.status,
        "bill_sha256": ctx.bill_sha256,
        "line_no": rec.line,
        "_control": amount,  # trailers add amounts as written, unsigned
    }


def _trailer(rec: _Record, scope: _Scope, name: str, children: str | None, file: str) -> None:
    """Check a 49/98/99 trailer: control total, child count (groups, accounts) and record count."""
    try:
        stated = _int(_get(rec, 0), rec, f"{name} control total")
        counts = [(_get(rec, 1), scope.children, children)] if children else []
        counts.append((_get(rec, 2 if children else 1), scope.records, "records"))
        if stated != scope.total:
            raise InputRejected("TOTALS_MISMATCH", f"the {name} control total says {stated}, the amounts add up to "
                                f"{scope.total}", line=rec.line, field=f"{name} control total",
                                hint="the file is incomplete or altered; fetch it again")
        for text, actual, what in counts:
            if _int(text, rec, f"{name} number of {what}", signed=False) != actual:
                raise InputRejected("TOTALS_MISMATCH", f"the {name} trailer says {text or 0} {what}, the {name} has "
                                    f"{actual}", line=rec.line, field=f"{name} number of {what}",
                                    hint="the file is incomplete or altered; fetch it again")
    except InputRejected as exc:
        raise _located(exc, file, rec) from None


CHANNEL = Bai2Report()
