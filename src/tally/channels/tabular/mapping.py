"""A source's column mapping, checked once and applied to every row of its bills.

A row is a dict from the file's field names (its header, or ``"start-end"`` for fixed-width
positions) to cell values. Signs follow CONTRACT.md: money in ``+``, out ``−``.

- ``sign = "by_kind"`` (default): payments become positive; refunds, payouts and fee records
  negative, whatever the file writes; adjustments and others keep the file's sign.
- ``sign = "as_is"``: the file's own sign.
- ``sign = "direction"``: the mapped ``direction`` column says, after its value map, ``in``
  (positive) or ``out`` (negative).

A source without an amount column (an inventory export: ``item`` and ``quantity``) gives every
record amount 0 and, unless it maps or sets one, currency ``XXX``: ISO 4217's "no currency".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from tally.channels.tabular import cells
from tally.errors import InputRejected
from tally.money import currency_code, to_minor
from tally.records import COLUMNS, RECORD_KINDS

MONEY = ("amount_minor", "fee_minor", "discount_minor")
TEXT = ("order_no", "refund_no", "channel_txn_id", "status", "item")
NEGATIVE_KINDS = frozenset({"refund", "payout", "fee"})
NO_CURRENCY = "XXX"
DIRECTIONS = ("in", "out")


def field_key(spec: Any) -> str:
    """The row key of a mapped column: the header text, or ``"start-end"`` for a position."""
    if isinstance(spec, list | tuple):
        return f"{spec[0]}-{spec[1]}"
    return str(spec)


class TableMapping:
    """The mapping part of a source declaration (CONTRACT.md, docs/channels/table.md)."""

    def __init__(self, options: Mapping[str, Any], source: str, *, floats: bool = False) -> None:
        self.source = source
        self.columns: dict[str, str] = {name: field_key(spec) for name, spec in options.get("columns", {}).items()}
        self.values: dict[str, dict[str, str]] = {k: dict(v) for k, v in options.get("values", {}).items()}
        self.unit = str(options.get("amount_unit", "major"))
        self.currency = options.get("currency")
        self.sign = str(options.get("sign", "by_kind"))
        self.tz = ZoneInfo(str(options.get("timezone", "Asia/Shanghai")))
        self.time_format = options.get("time_format")
        self.date_format = str(options.get("date_format", "%Y-%m-%d"))
        self.default_kind = str(options.get("record_kind", "payment"))
        self.thousands = options.get("thousands")
        self.money = "amount_minor" in self.columns
        # Spreadsheet numbers are binary floats by nature; elsewhere a float amount is refused.
        self.floats = floats

    def headers(self) -> list[str]:
        """The field names a header row must hold, no repeats, in the record's column order: the
        declaration's own order does not survive every database (PostgreSQL's jsonb orders keys
        its own way), and messages that list missing columns must read the same on any."""
        order = {name: n for n, name in enumerate(COLUMNS)}
        fields = sorted(self.columns, key=lambda name: (order.get(name, len(order)), name))
        return list(dict.fromkeys(self.columns[name] for name in fields))

    def record(self, row: Mapping[str, Any], bill_sha256: str, line: int, file: str) -> dict[str, Any]:
        """The normalized record of one row; InputRejected naming line and field otherwise."""
        def fail(exc: InputRejected, name: str) -> InputRejected:
            return InputRejected(exc.code, exc.message, file=file, line=line, field=self.columns.get(name, name),
                                 hint=exc.hint)

        def get(name: str) -> str | None:
            header = self.columns.get(name)
            if header is None:
                return None
            value = cells.text(row.get(header))
            mapped = self.values.get(name)
            if mapped and value is not None:
                if value not in mapped:
                    raise InputRejected("BAD_VALUE", f"{value!r} has no entry in the value map of {name}",
                                        file=file, line=line, field=header,
                                        hint=f"add it under [sources.{self.source}.values.{name}]")
                value = mapped[value].strip() or None
            return value

        def typed(name: str, parse: Any) -> Any:
            header = self.columns.get(name)
            value = row.get(header) if header is not None else None
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            try:
                return parse(value)
            except InputRejected as exc:
                raise fail(exc, name) from None

        kind = get("record_kind") or self.default_kind
        if kind not in RECORD_KINDS:
            raise InputRejected("BAD_VALUE", f"record kind {kind!r} is not one of {', '.join(RECORD_KINDS)}",
                                file=file, line=line, field=self.columns.get("record_kind"),
                                hint=f"add a value map: [sources.{self.source}.values.record_kind]")
        currency = get("currency") or self.currency or (None if self.money else NO_CURRENCY)
        if not currency:
            raise InputRejected("MISSING_CURRENCY", "no currency on this row and no `currency` setting",
                                file=file, line=line, field=self.columns.get("currency"))
        try:
            currency = currency_code(currency)
        except InputRejected as exc:
            raise fail(exc, "currency") from None
        rec: dict[str, Any] = {name: get(name) for name in TEXT}
        rec |= {"source": self.source, "record_kind": kind, "currency": currency,
                "bill_sha256": bill_sha256, "line_no": line}
        for name in MONEY:
            header = self.columns.get(name)
            value = row.get(header) if header is not None else None
            if value is None or (name != "amount_minor" and isinstance(value, str) and not value.strip()):
                rec[name] = 0  # an unmapped or empty fee or discount is none; an empty amount is an error
                continue
            try:
                rec[name] = to_minor(cells.money_text(value, floats=self.floats, thousands=self.thousands),
                                     currency, unit=self.unit)
            except InputRejected as exc:
                raise fail(exc, name) from None
        rec["amount_minor"] = self._signed(rec["amount_minor"], kind, get, line, file)
        rec["quantity"] = typed("quantity", cells.whole_number)
        rec["occurred_at"] = typed("occurred_at", lambda v: cells.timestamp(v, self.tz, self.time_format))
        booked = typed("business_day", lambda v: cells.day(v, self.date_format))
        if booked is None and rec["occurred_at"] is not None:
            booked = rec["occurred_at"].astimezone(self.tz).date()
        if booked is None:
            raise InputRejected("MISSING_VALUE", "neither a business day nor a time on this row", file=file,
                                line=line, field=self.columns.get("business_day") or self.columns.get("occurred_at"))
        rec["business_day"] = booked
        return rec

    def _signed(self, amount: int, kind: str, get: Any, line: int, file: str) -> int:
        if self.sign == "as_is":
            return amount
        if self.sign == "direction":
            direction = get("direction")
            if direction not in DIRECTIONS:
                raise InputRejected("BAD_VALUE", f"direction {direction!r} is neither \"in\" nor \"out\"",
                                    file=file, line=line, field=self.columns.get("direction"),
                                    hint=f"map the file's values: [sources.{self.source}.values.direction]")
            return abs(amount) if direction == "in" else -abs(amount)
        if kind in NEGATIVE_KINDS:
            return -abs(amount)
        return abs(amount) if kind == "payment" else amount
