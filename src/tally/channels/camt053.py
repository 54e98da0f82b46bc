"""ISO 20022 camt.053 bank-to-customer statements (FORMATS.md §6.1), every version from .001.02 on.

Elements are matched by local name, so .02/.04/.08/.13 and banks with wrong namespaces read
alike. An entry (``Ntry``) is one booking: an unsigned ``Amt`` with ``CdtDbtInd`` (CRDT money in
+, DBIT money out −). A batch entry carries several ``TxDtls``; when each has its own amount in
the account currency the records are per transaction and must add up to the entry, otherwise
the entry is one record. ``RvslInd`` marks a reversal: by ISO the ``CdtDbtInd`` of a reversal
is already the direction of the reversing booking (a reversed debit is CRDT); banks that write
the original direction need ``reversal_sign = "inverted"`` on the source (OCA issue #375).
The balances are the control totals: opening (OPBD/PRCD) + booked entries = closing (CLBD) per
statement, plus every count and sum of ``TxsSummry``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.text import split_lines
from tally.channels.xmlsafe import Node, iterparse, text_of
from tally.errors import InputRejected
from tally.money import currency_code, format_minor, to_minor
from tally.records import batched

TREES = ("Bal", "TxDtls", "TxsSummry")
OTHER_MESSAGES = {"BkToCstmrAcctRpt": "a camt.052 account report", "BkToCstmrDbtCdtNtfctn": "a camt.054 notification"}
# ISO 20022 bank transaction sub-family codes (external code list).
FEE_CODES = frozenset({"CHRG", "FEES", "COMM"})
REVERSAL_CODES = frozenset({"RRTN", "RPCR", "UPDD", "PRDD", "RCDD"})
_NO_REF = {"NOTPROVIDED", "NONREF"}


@dataclass(slots=True)
class _Tx:
    """What a record needs from one TxDtls, kept small: a batch may hold thousands."""

    line: int
    amount: Node | None
    credit_debit: str | None
    end_to_end: str | None
    reference: str | None
    returned: bool
    subfamily: str | None


@dataclass
class _Entry:
    line: int
    fields: dict[tuple[str, ...], Node] = field(default_factory=dict)
    txs: list[_Tx] = field(default_factory=list)

    def text(self, *path: str) -> str | None:
        node = self.fields.get(path)
        return (node.text.strip() or None) if node is not None else None


@dataclass
class _Statement:
    line: int
    balances: dict[str, tuple[int, str, Node]] = field(default_factory=dict)  # code -> (minor, ccy, node)
    summary: Node | None = None
    booked_minor: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"all": 0, "CRDT": 0, "DBIT": 0})
    sums: dict[str, int] = field(default_factory=lambda: {"all": 0, "CRDT": 0, "DBIT": 0, "net": 0})
    reversals: int = 0


class Camt053Statement:
    category = "stmt"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return "xml"

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        return split_lines(text_of(data, file=ctx.file_name))

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        return batched(self._records(data, ctx))

    def _records(self, data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
        file = ctx.file_name
        stmt: _Statement | None = None
        entry: _Entry | None = None
        statements = 0
        for event in iterparse(data, file=file, trees=TREES):
            node, depth, name = event.node, len(event.path), event.path[-1]
            if event.kind == "start":
                if depth == 1 and name != "Document":
                    raise InputRejected("WRONG_KIND", f"the root element is <{name}>, not an ISO 20022 <Document>",
                                        file=file, line=node.line)
                if depth == 2 and name != "BkToCstmrStmt":
                    what = OTHER_MESSAGES.get(name, f"<{name}>")
                    raise InputRejected("WRONG_KIND", f"this is {what}, not a camt.053 statement", file=file,
                                        line=node.line)
                if depth == 3 and name == "Stmt":
                    stmt, statements = _Statement(node.line), statements + 1
                elif name == "Ntry" and stmt is not None and entry is None:
                    entry = _Entry(node.line)
            elif event.kind == "tree" and stmt is not None:
                if name == "Bal" and entry is None:
                    _add_balance(stmt, node, file)
                elif name == "TxsSummry" and entry is None:
                    stmt.summary = node
                elif name == "TxDtls" and entry is not None:
                    entry.txs.append(_tx(node))
            elif event.kind == "end" and entry is not None:
                if name == "Ntry":
                    yield from _entry_records(entry, stmt, ctx)
                    entry = None
                elif "Ntry" in event.path:
                    entry.fields[event.path[event.path.index("Ntry") + 1:]] = node
            elif event.kind == "end" and name == "Stmt" and stmt is not None:
                _check_statement(stmt, file)
                stmt = None
        if not statements:
            raise InputRejected("MISSING_TOTALS", "the document holds no <Stmt>", file=file,
                                hint="the file is empty or truncated; fetch it again")


def _fail(code: str, message: str, file: str, line: int, where: str, hint: str | None = None) -> InputRejected:
    return InputRejected(code, message, file=file, line=line, field=where, hint=hint)


def _minor(node: Node, file: str, where: str, currency: str | None = None) -> tuple[int, str]:
    """Minor units and currency of an unsigned camt amount (``Ccy`` attribute unless given)."""
    text = node.text.strip()
    try:
        ccy = currency_code(currency or node.attrs.get("Ccy", ""))
        if text[:1] in "+-":
            raise InputRejected("BAD_AMOUNT", f"amount {text!r} is signed; camt amounts are unsigned, the sign "
                                "is CdtDbtInd")
        return to_minor(text, ccy), ccy
    except InputRejected as exc:
        raise _fail(exc.code, exc.message, file, node.line, where, exc.hint) from None


def _sign(indicator: str | None, file: str, line: int, where: str) -> int:
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise _fail("BAD_VALUE", f"CdtDbtInd is {indicator!r}, expected CRDT or DBIT", file, line, where)


def _add_balance(stmt: _Statement, node: Node, file: str) -> None:
    code = node.text_at("Tp", "CdOrPrtry", "Cd") or node.text_at("Tp", "CdOrPrtry", "Prtry") or ""
    if code not in ("OPBD", "PRCD", "CLBD"):
        return  # available and forward balances are not booked-balance control totals
    if code in stmt.balances:
        raise _fail("BAD_VALUE", f"the statement has two {code} balances", file, node.line, "Bal")
    amount = node.child("Amt")
    if amount is None:
        raise _fail("BAD_AMOUNT", f"balance {code} has no Amt", file, node.line, "Bal/Amt")
    minor, ccy = _minor(amount, file, "Bal/Amt")
    sign = _sign(node.text_at("CdtDbtInd"), file, node.line, "Bal/CdtDbtInd")
    stmt.balances[code] = (sign * minor, ccy, node)


def _tx(node: Node) -> _Tx:
    refs = node.child("Refs")
    return _Tx(
        line=node.line,
        amount=node.child("Amt") or node.child("AmtDtls", "TxAmt", "Amt"),
        credit_debit=node.text_at("CdtDbtInd"),
        end_to_end=refs.text_at("EndToEndId") if refs else None,
        reference=refs.text_at("AcctSvcrRef") if refs else None,
        returned=node.child("RtrInf") is not None,
        subfamily=node.text_at("BkTxCd", "Domn", "Fmly", "SubFmlyCd"),
    )


def _day(entry: _Entry, ctx: ParseContext) -> tuple[date, datetime | None]:
    """Booking date (the business day) and, when the bank gives a time, the UTC instant."""
    for group in ("BookgDt", "ValDt"):
        when = entry.fields.get((group, "Dt")) or entry.fields.get((group, "DtTm"))
        if when is None:
            if group == "BookgDt" and (entry.text("Sts") or entry.text("Sts", "Cd")) == "BOOK":
                raise _fail("BAD_DATE", "a booked entry has no BookgDt", ctx.file_name, entry.line, "Ntry/BookgDt")
            continue
        text = when.text.strip()
        try:
            if when.name == "Dt":
                return date.fromisoformat(text), None
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _fail("BAD_DATE", f"{group} {text!r} is not an ISO date", ctx.file_name, when.line,
                        f"Ntry/{group}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ctx.timezone)
        return moment.date(), moment.astimezone(UTC)
    raise _fail("BAD_DATE", "the entry has neither BookgDt nor ValDt", ctx.file_name, entry.line, "Ntry/BookgDt")


def _entry_records(entry: _Entry, stmt: _Statement | None, ctx: ParseContext) -> Iterator[dict[str, Any]]:
    file, line = ctx.file_name, entry.line
    assert stmt is not None
    amount_node = entry.fields.get(("Amt",))
    if amount_node is None:
        raise _fail("BAD_AMOUNT", "the entry has no Amt", file, line, "Ntry/Amt")
    minor, currency = _minor(amount_node, file, "Ntry/Amt")
    indicator = entry.text("CdtDbtInd")
    reversal = (entry.text("RvslInd") or "").lower() in ("true", "1")
    flip = -1 if reversal and ctx.options.get("reversal_sign") == "inverted" else 1
    amount = flip * _sign(indicator, file, line, "Ntry/CdtDbtInd") * minor
    status = entry.text("Sts") or entry.text("Sts", "Cd")
    business_day, occurred_at = _day(entry, ctx)
    opening = stmt.balances.get("OPBD") or stmt.balances.get("PRCD")
    if opening and currency != opening[1]:
        raise _fail("BAD_CURRENCY", f"the entry is in {currency}, the statement's balances in {opening[1]}",
                    file, amount_node.line, "Ntry/Amt")
    stmt.counts["all"] += 1
    stmt.counts[str(indicator)] += 1
    stmt.sums["all"] += minor
    stmt.sums[str(indicator)] += minor
    stmt.sums["net"] += amount
    stmt.reversals += reversal
    if status == "BOOK":
        stmt.booked_minor += amount
    subfamily = entry.text("BkTxCd", "Domn", "Fmly", "SubFmlyCd")
    base = {
        "source": ctx.source, "business_day": business_day, "refund_no": None, "currency": currency,
        "occurred_at": occurred_at, "status": status, "bill_sha256": ctx.bill_sha256,
    }
    _check_batch(entry, currency, minor, file)
    parts = _split(entry, currency, amount, flip, file)
    for tx, part_minor in parts:
        codes = {subfamily, tx.subfamily if tx else None}
        kind = "adjustment" if reversal or (tx and tx.returned) or codes & REVERSAL_CODES \
            else "fee" if codes & FEE_CODES else "other"
        e2e = tx.end_to_end if tx else None
        yield base | {
            "record_kind": kind,
            "order_no": e2e if e2e and e2e.upper() not in _NO_REF else None,
            "channel_txn_id": (tx.reference if tx else None) or entry.text("AcctSvcrRef"),
            "amount_minor": part_minor,
            "line_no": tx.line if tx else line,
        }


def _split(entry: _Entry, currency: str, amount: int, flip: int, file: str) -> list[tuple[_Tx | None, int]]:
    """(TxDtls, signed minor) per record: per transaction when every one has an amount, else the entry."""
    txs = entry.txs
    if len(txs) == 1:
        tx = txs[0]
        if tx.amount is not None and tx.amount.attrs.get("Ccy", currency) == currency:
            own = _minor(tx.amount, file, "TxDtls/Amt", currency)[0]
            if own != abs(amount):
                raise _fail("TOTALS_MISMATCH", f"the entry says {format_minor(abs(amount), currency)}, its only "
                            f"TxDtls {format_minor(own, currency)}", file, tx.line, "TxDtls/Amt")
        return [(tx, amount)]
    if not txs or any(t.amount is None or t.amount.attrs.get("Ccy", currency) != currency for t in txs):
        return [(None, amount)]
    parts: list[tuple[_Tx | None, int]] = []
    for tx in txs:
        own = _minor(tx.amount, file, "TxDtls/Amt", currency)[0] if tx.amount is not None else 0
        sign = _sign(tx.credit_debit, file, tx.line, "TxDtls/CdtDbtInd") * flip if tx.credit_debit \
            else (1 if amount >= 0 else -1)
        parts.append((tx, sign * own))
    total = sum(p for _, p in parts)
    if total != amount:
        raise _fail("TOTALS_MISMATCH", f"the batch entry says {format_minor(amount, currency)}, its {len(txs)} "
                    f"TxDtls add up to {format_minor(total, currency)}", file, entry.line, "Ntry/Amt")
    return parts


def _check_batch(entry: _Entry, currency: str, minor: int, file: str) -> None:
    """A batch's own count (when its transactions are listed) and total must fit the entry."""
    count = entry.fields.get(("NtryDtls", "Btch", "NbOfTxs"))
    if count is not None and entry.txs and count.text.strip() != str(len(entry.txs)):
        raise _fail("TOTALS_MISMATCH", f"Btch/NbOfTxs says {count.text.strip()}, the entry has {len(entry.txs)} "
                    "TxDtls", file, count.line, "Btch/NbOfTxs")
    total = entry.fields.get(("NtryDtls", "Btch", "TtlAmt"))
    if total is not None and total.attrs.get("Ccy", currency) == currency:
        stated = _minor(total, file, "Btch/TtlAmt", currency)[0]
        if stated != minor:
            raise _fail("TOTALS_MISMATCH", f"Btch/TtlAmt says {total.text.strip()}, the entry "
                        f"{format_minor(minor, currency)}", file, total.line, "Btch/TtlAmt")


def _check_statement(stmt: _Statement, file: str) -> None:
    opening = stmt.balances.get("OPBD") or stmt.balances.get("PRCD")
    closing = stmt.balances.get("CLBD")
    if opening is None or closing is None:
        missing = "an opening (OPBD/PRCD)" if opening is None else "a closing (CLBD)"
        raise _fail("MISSING_TOTALS", f"the statement has no {missing} balance", file, stmt.line, "Bal",
                    "a camt.053 statement carries both; is the file complete?")
    (open_minor, ccy, _), (close_minor, close_ccy, close_node) = opening, closing
    if close_ccy != ccy:
        raise _fail("BAD_CURRENCY", f"the closing balance is in {close_ccy}, the opening in {ccy}", file,
                    close_node.line, "Bal/Amt")
    if open_minor + stmt.booked_minor != close_minor:
        hint = "the statement is incomplete or altered; fetch it again"
        if stmt.reversals:
            hint = 'if this bank writes reversals with the original CdtDbtInd, set reversal_sign = "inverted"'
        raise _fail("TOTALS_MISMATCH", f"closing balance CLBD says {format_minor(close_minor, ccy)} {ccy}, the opening "
                    f"{format_minor(open_minor, ccy)} plus the booked entries add up to "
                    f"{format_minor(open_minor + stmt.booked_minor, ccy)}", file, close_node.line, "Bal/CLBD", hint)
    if stmt.summary is not None:
        _check_summary(stmt, stmt.summary, ccy, file)


def _check_summary(stmt: _Statement, summary: Node, ccy: str, file: str) -> None:
    for group, key in (("TtlNtries", "all"), ("TtlCdtNtries", "CRDT"), ("TtlDbtNtries", "DBIT")):
        count, total = summary.child(group, "NbOfNtries"), summary.child(group, "Sum")
        if count is not None and count.text.strip() != str(stmt.counts.get(key, 0)):
            raise _fail("TOTALS_MISMATCH", f"TxsSummry/{group}/NbOfNtries says {count.text.strip()}, the statement "
                        f"has {stmt.counts.get(key, 0)} entries", file, count.line, f"{group}/NbOfNtries")
        if total is not None and _minor(total, file, f"{group}/Sum", ccy)[0] != stmt.sums.get(key, 0):
            raise _fail("TOTALS_MISMATCH", f"TxsSummry/{group}/Sum says {total.text.strip()}, the entries add up to "
                        f"{format_minor(stmt.sums.get(key, 0), ccy)}", file, total.line, f"{group}/Sum")
    net = summary.child("TtlNtries", "TtlNetNtry", "Amt") or summary.child("TtlNtries", "TtlNetNtryAmt")
    if net is not None:
        holder = summary.child("TtlNtries", "TtlNetNtry") or summary.child("TtlNtries")
        indicator = holder.text_at("CdtDbtInd") if holder else None
        stated = _minor(net, file, "TtlNetNtry", ccy)[0] * _sign(indicator, file, net.line, "TtlNetNtry/CdtDbtInd")
        if stated != stmt.sums["net"]:
            raise _fail("TOTALS_MISMATCH", f"TxsSummry net total says {format_minor(stated, ccy)}, the entries net to "
                        f"{format_minor(stmt.sums['net'], ccy)}", file, net.line, "TtlNetNtry")


CHANNEL = Camt053Statement()
