"""OFX bank and credit-card statements (FORMATS.md §6.4): 1.x SGML and 2.x XML.

1.x is a ``KEY:VALUE`` header, then SGML whose leaf elements are not closed: read here by a
small tokenizer (an element with text is a leaf, closed by the next tag; an element whose name
is never closed anywhere in the file is an empty leaf; anything else is an aggregate), decoded
as the header's CHARSET says (1252 by default). 2.x is XML and goes through the hardened
:mod:`tally.channels.xmlsafe`. Both give the same events, so the statement is read once.

Each ``STMTTRN`` is a record: ``TRNAMT`` is signed already (money in +), ``DTPOSTED`` is the
posting date and so the business day (the date as written; with a time the UTC instant is
``occurred_at``, GMT when the file gives no zone, as the spec says), ``FITID`` is the bank's id.
OFX carries a closing ledger balance but no opening balance, so opening + Σ = closing cannot be
checked from one file; what is checked: a server status of 0, one CURDEF and one LEDGERBAL with a
valid amount and date per statement, every transaction with TRNAMT, DTPOSTED and FITID, and
FITIDs unique within a statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.text import decode, split_lines
from tally.channels.xmlsafe import Event, EventBuilder, Node, iterparse, text_of
from tally.errors import InputRejected
from tally.money import currency_code, to_minor
from tally.records import batched

TREES = ("STMTTRN", "LEDGERBAL", "STATUS")
# Aggregates of the bank and card statement sets: always closed, even when a file never closes one.
AGGREGATES = frozenset({"OFX", "SIGNONMSGSRSV1", "SONRS", "STATUS", "FI", "BANKMSGSRSV1", "STMTTRNRS", "STMTRS",
                        "CREDITCARDMSGSRSV1", "CCSTMTTRNRS", "CCSTMTRS", "BANKACCTFROM", "CCACCTFROM",
                        "BANKTRANLIST", "STMTTRN", "LEDGERBAL", "AVAILBAL", "CURRENCY", "ORIGCURRENCY"})
STATEMENTS = ("STMTRS", "CCSTMTRS")
FEE_TYPES = frozenset({"FEE", "SRVCHG"})
_CHARSETS = {"1252": "cp1252", "ISO-8859-1": "latin-1", "8859-1": "latin-1", "UTF-8": "utf-8", "NONE": "cp1252"}
_HEADER = re.compile(r"([A-Z]+):([^\s<]*)")
_TOKEN = re.compile(r"<(/?)([A-Za-z0-9._]+)\s*>")
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?(?:\.\d{1,3})?)?\s*"
                   r"(?:\[\s*([+-]?\d{1,2}(?:\.\d{1,2})?)(?::[A-Za-z]+)?\s*\])?")
_AMOUNT = re.compile(r"[+-]?\d+([.,]\d+)?")


def _is_sgml(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"OFXHEADER:") or head.upper().startswith(b"<OFX>")


class OfxStatement:
    category = "stmt"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "ofx"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        if _is_sgml(data):
            return split_lines(_sgml_text(data, ctx.file_name))
        return split_lines(text_of(data, file=ctx.file_name))

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        file = ctx.file_name
        if not data.strip():
            raise InputRejected("EMPTY_FILE", "the file is empty", file=file)
        if _is_sgml(data):
            events = _sgml_events(_sgml_text(data, file), file)
        elif b"<OFX" in data[:4096].upper():
            events = iterparse(data, file=file, trees=TREES)
        else:
            raise InputRejected("WRONG_KIND", "no OFX header (OFXHEADER:100 or <?OFX …?>)", file=file, line=1)
        statements = 0
        stmt: dict[str, Any] | None = None
        for event in events:
            name, node = event.path[-1], event.node
            if event.kind == "tree" and name == "STATUS":
                _check_status(node, file)
            elif event.kind == "start" and name in STATEMENTS:
                stmt, statements = {"line": node.line, "fitids": {}, "currency": None, "ledger": None}, statements + 1
            elif stmt is None:
                continue
            elif event.kind == "end" and name == "CURDEF" and len(event.path) >= 2 and event.path[-2] in STATEMENTS:
                stmt["currency"] = _currency(node.text, file, node.line)
            elif event.kind == "tree" and name == "STMTTRN":
                yield _record(node, stmt, ctx)
            elif event.kind == "tree" and name == "LEDGERBAL":
                stmt["ledger"] = node
            elif event.kind == "end" and name in STATEMENTS:
                _check_statement(stmt, node, file)
                stmt = None
        if not statements:
            raise InputRejected("WRONG_KIND", "the file holds no bank or credit-card statement (STMTRS/CCSTMTRS)",
                                file=file, hint="investment and other OFX statements are not read")


def _sgml_text(data: bytes, file: str) -> str:
    head = data[:2048].decode("ascii", "replace")
    header = dict(_HEADER.findall(head.split("<", 1)[0]))
    charset = header.get("CHARSET", "1252").upper()
    encoding = "utf-8" if header.get("ENCODING", "").upper() == "UTF-8" else _CHARSETS.get(charset, charset)
    try:
        return decode(data, (encoding,), file=file)
    except LookupError:
        raise InputRejected("BAD_ENCODING", f"unknown OFX CHARSET {charset!r}", file=file, line=1,
                            field="CHARSET") from None


def _sgml_events(text: str, file: str) -> Iterator[Event]:
    """OFX 1.x SGML as xmlsafe events: leaves closed at the next tag, aggregates by their end tags."""
    closed = AGGREGATES | {m.group(2).upper() for m in _TOKEN.finditer(text) if m.group(1)}
    builder = EventBuilder(TREES, file=file)
    line, pos = 1, 0
    start = text.find("<")
    if start < 0:
        raise InputRejected("WRONG_KIND", "the OFX header is not followed by any element", file=file, line=1)
    line += text.count("\n", 0, start)
    pos = start
    leaf_open = False
    for token in _TOKEN.finditer(text, start):
        between = text[pos:token.start()]
        if between.strip():
            if builder.depth == 0:
                raise InputRejected("BAD_XML", "text outside the <OFX> element", file=file, line=line)
            builder.text(between.strip(), line)
            leaf_open = True
        line += between.count("\n")
        pos = token.end()
        closing, name = token.group(1), token.group(2).upper()
        if leaf_open:
            leaf = builder.open_names[-1]
            builder.end(leaf, line)
            leaf_open = False
            if closing and name == leaf:
                yield from builder.take()
                continue
        if closing:
            names = builder.open_names
            if name not in names:
                raise InputRejected("BAD_XML", f"</{name}> closes nothing open", file=file, line=line)
            while builder.open_names[-1] != name:  # empty leaves left open inside this aggregate
                builder.end(builder.open_names[-1], line)
            builder.end(name, line)
        else:
            if builder.depth == 0 and pos > start + len(token.group(0)):
                raise InputRejected("BAD_XML", f"<{name}> after the end of the <OFX> element", file=file, line=line)
            builder.start(name, line)
            if name not in closed:
                leaf_open = True  # never closed in this file: a leaf, perhaps empty
        yield from builder.take()
    if text[pos:].strip() or builder.depth:
        raise InputRejected("BAD_XML", "the OFX body ends inside an element", file=file, line=line,
                            hint="the file is truncated; fetch it again")
    yield from builder.take()


def _check_status(node: Node, file: str) -> None:
    code = node.text_at("CODE")
    if code not in (None, "0"):
        raise InputRejected("CHANNEL_ERROR", f"the OFX server answered status {code} "
                            f"({node.text_at('SEVERITY') or ''} {node.text_at('MESSAGE') or ''})".rstrip(),
                            file=file, line=node.line, field="STATUS/CODE")


def _currency(text: str, file: str, line: int) -> str:
    try:
        return currency_code(text)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field="CURDEF") from None


def _amount(node: Node, name: str, currency: str, file: str) -> int:
    text = node.text_at(name) or ""
    if not _AMOUNT.fullmatch(text):
        raise InputRejected("BAD_AMOUNT", f"{name} {text!r} is not a decimal amount", file=file,
                            line=(node.child(name) or node).line, field=name)
    try:
        # Some banks (Santander, Fortis) write a decimal comma; a thousands separator is refused.
        return to_minor(text.replace(",", "."), currency)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=node.line, field=name) from None


def _moment(node: Node, name: str, file: str) -> tuple[date, datetime | None]:
    text = node.text_at(name) or ""
    found = _DATE.fullmatch(text)
    try:
        if not found:
            raise ValueError(text)
        year, month, day, hour, minute, second, offset = found.groups()
        posted = date(int(year), int(month), int(day))
        if hour is None:
            return posted, None
        zone = timezone(timedelta(hours=float(offset or 0)))
        moment = datetime(posted.year, posted.month, posted.day, int(hour), int(minute), int(second or 0),
                          tzinfo=zone)
    except (ValueError, OverflowError):
        raise InputRejected("BAD_DATE", f"{name} {text!r} is not YYYYMMDD[HHMMSS[.XXX]][[offset:TZ]]", file=file,
                            line=(node.child(name) or node).line, field=name) from None
    return posted, moment.astimezone(UTC)


def _record(node: Node, stmt: dict[str, Any], ctx: ParseContext) -> dict[str, Any]:
    file = ctx.file_name
    for name in ("TRNAMT", "DTPOSTED", "FITID"):
        if node.text_at(name) is None:
            raise InputRejected("MISSING_COLUMN", f"the transaction has no {name}", file=file, line=node.line,
                                field=name)
    if stmt["currency"] is None:
        raise InputRejected("BAD_CURRENCY", "the statement has no CURDEF before its transactions", file=file,
                            line=stmt["line"], field="CURDEF")
    currency = stmt["currency"]
    if node.text_at("CURRENCY", "CURSYM"):  # the amount is in this currency, not CURDEF
        currency = _currency(node.text_at("CURRENCY", "CURSYM") or "", file, node.line)
    fitid = node.text_at("FITID")
    if fitid in stmt["fitids"]:
        raise InputRejected("BAD_VALUE", f"FITID {fitid} appears twice (first on line {stmt['fitids'][fitid]})",
                            file=file, line=node.line, field="FITID", hint="the bank's file repeats a transaction")
    stmt["fitids"][fitid] = node.line
    business_day, occurred_at = _moment(node, "DTPOSTED", file)
    kind = (node.text_at("TRNTYPE") or "").upper()
    return {
        "source": ctx.source,
        "business_day": business_day,
        "record_kind": "adjustment" if node.text_at("CORRECTFITID") else "fee" if kind in FEE_TYPES else "other",
        "order_no": node.text_at("REFNUM"),
        "refund_no": None,
        "channel_txn_id": fitid,
        "amount_minor": _amount(node, "TRNAMT", currency, file),
        "currency": currency,
        "occurred_at": occurred_at,
        "status": "BOOK",
        "bill_sha256": ctx.bill_sha256,
        "line_no": node.line,
    }


def _check_statement(stmt: dict[str, Any], node: Node, file: str) -> None:
    ledger = stmt["ledger"]
    if stmt["currency"] is None:
        raise InputRejected("BAD_CURRENCY", "the statement has no CURDEF", file=file, line=stmt["line"],
                            field="CURDEF")
    if ledger is None:
        raise InputRejected("MISSING_TOTALS", "the statement has no LEDGERBAL", file=file, line=stmt["line"],
                            field="LEDGERBAL", hint="the file is incomplete; fetch it again")
    for name in ("BALAMT", "DTASOF"):
        if ledger.text_at(name) is None:
            raise InputRejected("MISSING_TOTALS", f"LEDGERBAL has no {name}", file=file, line=ledger.line,
                                field=f"LEDGERBAL/{name}")
    _amount(ledger, "BALAMT", stmt["currency"], file)
    _moment(ledger, "DTASOF", file)


CHANNEL = OfxStatement()
