"""One cell of a table turned into a typed value: text, exact money text, a whole number, a time.

Cells arrive as text (CSV, TXT), as JSON values (numbers already exact ``Decimal`` or ``int``)
or as spreadsheet values (``float``, ``datetime``). A binary float is never trusted as money:
from a spreadsheet it is accepted only when its shortest decimal form (``repr``) is exact and
below 2**53, so ``12.34`` stays 12.34 and the currency's decimals are then checked like text;
anywhere else it is refused.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from tally.errors import InputRejected

# Integers above this are not all representable as binary floats: a spreadsheet number this large
# may already differ from what was typed.
EXACT_FLOAT_LIMIT = 2**53
UNIX_FORMATS = {"unix": 1, "unix_ms": 1000}


def text(value: Any) -> str | None:
    """A cell as text for key and label columns (order numbers, kinds, currencies); None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # A spreadsheet keeps an order number like 20240501001 as the float 20240501001.0.
        if math.isfinite(value) and value.is_integer() and abs(value) < EXACT_FLOAT_LIMIT:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def money_text(value: Any, *, floats: bool, thousands: str | None = None) -> str:
    """A money cell as plain decimal text for :func:`tally.money.to_minor` (which checks it)."""
    if isinstance(value, bool):
        raise InputRejected("BAD_AMOUNT", f"{value!r} is not an amount")
    if isinstance(value, float):
        if not floats:
            raise InputRejected("BAD_AMOUNT", f"{value!r} is a binary float", hint="write amounts as strings")
        if not math.isfinite(value) or abs(value) >= EXACT_FLOAT_LIMIT:
            raise InputRejected("BAD_AMOUNT", f"spreadsheet number {value!r} cannot be an exact amount",
                                hint="format the column as text in the spreadsheet")
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int | Decimal):
        return str(value)  # Decimal('1E+3') stays '1E+3' and is refused like the text 1e3
    raw = "" if value is None else str(value)
    if thousands:
        raw = raw.replace(thousands, "")
    return raw


def whole_number(value: Any) -> int:
    """A quantity: a whole number written as text, an int, or an integral spreadsheet number."""
    if isinstance(value, bool):
        raise InputRejected("BAD_NUMBER", f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < EXACT_FLOAT_LIMIT:
            return int(value)
        raise InputRejected("BAD_NUMBER", f"{value!r} is not a whole number")
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise InputRejected("BAD_NUMBER", f"{value} is not a whole number")
    raw = str(value).strip()
    if not raw.lstrip("+-").isdigit() or not raw.isascii():
        raise InputRejected("BAD_NUMBER", f"{raw!r} is not a whole number")
    return int(raw)


def timestamp(value: Any, tz: ZoneInfo, time_format: str | None) -> datetime:
    """A moment in UTC; a time without an offset is in the source's time zone ``tz``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif time_format in UNIX_FORMATS:
        try:
            seconds = Decimal(str(value).strip()) / UNIX_FORMATS[time_format]
            return datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=int(seconds % 1 * 10**6))
        except (InvalidOperation, ValueError, OverflowError):
            raise InputRejected("BAD_DATE", f"{value!r} is not a {time_format} time") from None
    else:
        raw = str(value).strip()
        try:
            # Naive on purpose: the source's time zone is attached below when the text has none.
            if time_format:
                moment = datetime.strptime(raw, time_format)  # noqa: DTZ007
            else:
                moment = datetime.fromisoformat(raw.replace("/", "-"))
        except ValueError:
            raise InputRejected("BAD_DATE", f"{raw!r} is not a time"
                                + (f" in the format {time_format}" if time_format else ""),
                                hint="set `time_format` for this source") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def day(value: Any, date_format: str) -> date:
    """A business day: a spreadsheet date, or text in ``date_format``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value).strip()
    try:
        return datetime.strptime(raw, date_format).date()  # noqa: DTZ007 - a date, no time
    except ValueError:
        raise InputRejected("BAD_DATE", f"{raw!r} is not a date in the format {date_format}",
                            hint="set `date_format` for this source") from None
