"""SWIFT MT940 customer statements (FORMATS.md §6.2), with or without SWIFT blocks or bank preambles.

A message runs from ``:20:`` to its closing balance ``:62F:``/``:62M:`` (then ``:64:``/``:65:``/
``:86:`` and a ``-`` line). Lines that start no tag continue the previous tag; lines outside a
message (``ABNANL2A``, ``940``, ``{1:…}{2:…}{4:``) are the bank's envelope and are skipped.
A ``:61:`` statement line is: value date YYMMDD, optional entry date MMDD, mark C/D/RC/RD,
optional funds code, amount with a decimal comma, transaction type, customer reference,
``//`` bank reference. RC (reversal of a credit) takes money out and RD puts it back
(WoLpH/mt940 #130 gets RC wrong). The entry date is the booking date and so the business day;
its year is the value date's, moved by one when the two straddle New Year (WoLpH/mt940 #121).
Control totals: per message, opening balance + Σ statement lines = closing balance, and an
intermediate opening ``:60M:`` must continue the previous ``:62M:`` of the same account.
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
from tally.money import currency_code, format_minor, to_minor
from tally.records import batched

_TAG = re.compile(r":(\d{2}[A-Z]?):")
_END = re.compile(r"-(\}.*|[A-Z]{3})?")  # "-", "-}", "-}{5:…}" and ING's "-XXX" end a message
_BALANCE = re.compile(r"([CD])(\d{6})([A-Z]{3})(\d+,\d*)")
_LINE = re.compile(r"(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?(?P<amount>\d+,\d*)"
                   r"(?P<type>[NSF][A-Z0-9]{3})(?P<cref>.*?)(?://(?P<bref>.*))?")
KNOWN_TAGS = frozenset({"20", "21", "13", "13D", "25", "25P", "28", "28C", "60F", "60M", "61", "86", "62F", "62M",
                        "64", "65"})
# SWIFT transaction type codes (after N): charges and commission are fees; returned items reversals.
FEE_TYPES = frozenset({"CHG", "COM", "BRF"})
RETURN_TYPES = frozenset({"RTI"})
_NO_REF = {"NONREF", "NOTPROVIDED", ""}


@dataclass
class _Field:
    tag: str
    line: int
    text: str  # the value, continuation lines joined with "\n"


@dataclass
class _Message:
    line: int
    account: str = ""
    opening: tuple[int, str, str] | None = None  # minor, currency, tag
    total: int = 0
    closed: bool = False


class Mt940Statement:
    category = "stmt"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "sta"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        if b"\x00" in data:  # cp1252 would decode it: UTF-16 or binary must not pass as text
            raise InputRejected("BAD_ENCODING", "the file contains NUL bytes (UTF-16 or not text at all)",
                                file=ctx.file_name, hint="save the statement as UTF-8 or the bank's code page")
        encodings = (str(ctx.options["encoding"]),) if "encoding" in ctx.options else ("utf-8", "cp1252")
        try:
            return split_lines(decode(data, encodings, file=ctx.file_name))
        except LookupError:
            raise InputRejected("BAD_ENCODING", f"unknown encoding {encodings[0]!r}", file=ctx.file_name,
                                hint="check the source's `encoding` setting") from None

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        file = ctx.file_name
        if not data.strip():
            raise InputRejected("EMPTY_FILE", "the file is empty", file=file)
        message: _Message | None = None
        last_closing: dict[str, int] = {}  # account -> :62M: minor, to check the next :60M:
        messages = 0
        for fld in _fields(self.lines(data, ctx), file):
            if fld.tag == "20":
                if message is not None and not message.closed:
                    raise _missing(message, file)
                message, messages = _Message(fld.line), messages + 1
                continue
            if message is None:
                raise InputRejected("BAD_VALUE", f":{fld.tag}: before any :20: starts a message", file=file,
                                    line=fld.line, field=f":{fld.tag}:", hint="is this an MT940 statement?")
            if message.closed and fld.tag[:2] in ("60", "61", "62"):
                raise InputRejected("BAD_VALUE", f":{fld.tag}: after the closing balance", file=file, line=fld.line,
                                    field=f":{fld.tag}:", hint="a message must start with :20:")
            if fld.tag in ("25", "25P"):
                message.account = fld.text.strip()
            elif fld.tag in ("60F", "60M"):
                minor, currency = _balance(fld, file)
                previous = last_closing.get(message.account)
                if fld.tag == "60M" and previous is not None and previous != minor:
                    raise InputRejected("TOTALS_MISMATCH", f":60M: says {format_minor(minor, currency)}, the previous "
                                        f":62M: of account {message.account} {format_minor(previous, currency)}",
                                        file=file, line=fld.line, field=":60M:", hint="a message is missing")
                message.opening = (minor, currency, fld.tag)
            elif fld.tag == "61":
                if message.opening is None:
                    raise InputRejected("BAD_VALUE", "statement line before the opening balance", file=file,
                                        line=fld.line, field=":61:")
                record = _record(fld, message.opening[1], ctx)
                message.total += record["amount_minor"]
                yield record
            elif fld.tag in ("62F", "62M"):
                closing = _close(message, fld, file)
                if fld.tag == "62M":
                    last_closing[message.account] = closing
                else:
                    last_closing.pop(message.account, None)
            elif fld.tag not in KNOWN_TAGS:
                raise InputRejected("BAD_VALUE", f"unknown MT940 tag :{fld.tag}:", file=file, line=fld.line,
                                    field=f":{fld.tag}:")
        if message is None:
            raise InputRejected("WRONG_KIND", "no :20: tag: this is not an MT940 statement", file=file, line=1)
        if not message.closed:
            raise _missing(message, file)


def _missing(message: _Message, file: str) -> InputRejected:
    return InputRejected("MISSING_TOTALS", "the message has no closing balance :62F:/:62M:", file=file,
                         line=message.line, field=":62F:", hint="the file is truncated; fetch it again")


def _fields(lines: list[str], file: str) -> Iterator[_Field]:
    """Tagged fields in order; continuation lines joined, envelopes and blank lines skipped."""
    current: _Field | None = None
    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        tag = _TAG.match(line)
        if tag:
            if current is not None:
                yield current
            current = _Field(tag.group(1), line_no, line[tag.end():])
        elif _END.fullmatch(line.strip()):
            if current is not None:
                yield current
            current = None
        elif line and current is not None:
            current.text += "\n" + line
    if current is not None:
        yield current


def _amount(text: str, currency: str, file: str, line: int, tag: str) -> int:
    try:
        return to_minor(text.replace(",", "."), currency)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field=tag) from None


def _date(text: str, file: str, line: int, tag: str) -> date:
    try:
        return datetime.strptime(text, "%y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError:
        raise InputRejected("BAD_DATE", f"{text!r} is not a YYMMDD date", file=file, line=line,
                            field=tag) from None


def _balance(fld: _Field, file: str) -> tuple[int, str]:
    found = _BALANCE.fullmatch(fld.text.strip())
    if not found:
        raise InputRejected("BAD_AMOUNT", f":{fld.tag}: {fld.text.strip()!r} is not C/D, YYMMDD, currency, amount "
                            "with a decimal comma", file=file, line=fld.line, field=f":{fld.tag}:")
    mark, day, currency, amount = found.groups()
    _date(day, file, fld.line, f":{fld.tag}:")
    try:
        currency = currency_code(currency)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=fld.line, field=f":{fld.tag}:") from None
    minor = _amount(amount, currency, file, fld.line, f":{fld.tag}:")
    return (-minor if mark == "D" else minor), currency


def _close(message: _Message, fld: _Field, file: str) -> int:
    if message.opening is None:
        raise InputRejected("MISSING_TOTALS", "the message has no opening balance :60F:/:60M:", file=file,
                            line=message.line, field=":60F:")
    closing, currency = _balance(fld, file)
    opening, open_currency, open_tag = message.opening
    if currency != open_currency:
        raise InputRejected("BAD_CURRENCY", f":{fld.tag}: is in {currency}, :{open_tag}: in {open_currency}",
                            file=file, line=fld.line, field=f":{fld.tag}:")
    if opening + message.total != closing:
        raise InputRejected("TOTALS_MISMATCH", f":{fld.tag}: says {format_minor(closing, currency)}, the opening "
                            f"balance {format_minor(opening, currency)} and the statement lines add up to "
                            f"{format_minor(opening + message.total, currency)}", file=file, line=fld.line,
                            field=f":{fld.tag}:", hint="the statement is incomplete or altered; fetch it again")
    message.closed = True
    return closing


def _record(fld: _Field, currency: str, ctx: ParseContext) -> dict[str, Any]:
    file, first = ctx.file_name, fld.text.split("\n", 1)[0].strip()
    found = _LINE.fullmatch(first)
    if not found:
        raise InputRejected("BAD_VALUE", f":61: {first!r} is not value date, [entry date], C/D/RC/RD, amount, type, "
                            "reference", file=file, line=fld.line, field=":61:")
    value_day = _date(found["value"], file, fld.line, ":61:")
    day = value_day
    if found["entry"]:
        day = _entry_day(value_day, found["entry"], file, fld.line)
    minor = _amount(found["amount"], currency, file, fld.line, ":61:")
    mark, kind_code = found["mark"], found["type"][1:]
    reference = found["cref"].strip()
    return {
        "source": ctx.source,
        "business_day": day,
        "record_kind": "adjustment" if mark in ("RC", "RD") or kind_code in RETURN_TYPES
        else "fee" if kind_code in FEE_TYPES else "other",
        "order_no": None if reference.upper() in _NO_REF else reference,
        "refund_no": None,
        "channel_txn_id": (found["bref"] or "").strip() or None,
        # C and RD put money in; D and RC take it out.
        "amount_minor": minor if mark in ("C", "RD") else -minor,
        "currency": currency,
        "occurred_at": None,
        "status": "BOOK",
        "bill_sha256": ctx.bill_sha256,
        "line_no": fld.line,
    }


def _entry_day(value_day: date, mmdd: str, file: str, line: int) -> date:
    """The booking date: month and day from the entry date, the year nearest the value date."""
    candidates = []
    for year in (value_day.year - 1, value_day.year, value_day.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    if not candidates:
        raise InputRejected("BAD_DATE", f"entry date {mmdd!r} is not MMDD", file=file, line=line, field=":61:")
    return min(candidates, key=lambda d: abs((d - value_day).days))


CHANNEL = Mt940Statement()
