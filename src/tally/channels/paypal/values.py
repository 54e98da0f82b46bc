"""How PayPal writes a value: unsigned hundredths, CR/DR marks, dates with an offset (FORMATS.md §4.4)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tally.errors import InputRejected
from tally.money import exponent

UNSIGNED = re.compile(r"[0-9]{1,17}")  # 17 digits keep every amount inside int64 after scaling
SIGNS = {"CR": 1, "DR": -1}


def sign(text: str, blank_ok: bool) -> int:
    """+1 for CR, −1 for DR; a blank mark (allowed only beside a zero or blank amount) counts as DR."""
    if text in SIGNS or (blank_ok and not text):
        return SIGNS.get(text, -1)
    raise InputRejected("BAD_VALUE", f"the debit/credit mark is {text!r}, expected CR or DR")


def hundredths(text: str, blank_ok: bool) -> int:
    """An amount as PayPal writes it: unsigned digits, no separator, two implied decimals."""
    if blank_ok and not text:
        return 0
    if not UNSIGNED.fullmatch(text):
        raise InputRejected("BAD_AMOUNT", f"amount is {text!r}, expected unsigned digits",
                            hint="PayPal writes $100.00 as 10000")
    return int(text)


def to_minor(amount: int, currency: str, scale: object) -> int:
    """Minor units of an amount written in hundredths.

    The spec's example ("100,00 yen and $100.00 USD are both represented as 10000") says two
    implied decimals for every currency [unverified for JPY]; `amount_exponent = "iso"` reads
    the digits as the currency's own minor units instead.
    """
    shift = 0 if scale == "iso" else exponent(currency) - 2
    if shift >= 0:
        return amount * 10**shift
    minor, rest = divmod(amount, 10**-shift)
    if rest:
        raise InputRejected("AMOUNT_PRECISION", f"{amount} hundredths is not a whole {currency} amount",
                            hint='set amount_exponent = "iso" if the report writes minor units')
    return minor


def balance(amount: str, mark: str) -> int:
    """A balance and its CR/DR mark as a signed number of hundredths."""
    return sign(mark, False) * hundredths(amount, False)


def located(file: str, line: int, name: str, parse: Any, *args: Any) -> Any:
    """parse(*args), with the file, line and field added to the error it raises."""
    try:
        return parse(*args)
    except InputRejected as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, field=name, hint=exc.hint) from None


def when(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y/%m/%d %H:%M:%S %z")
    except ValueError:
        raise InputRejected("BAD_DATE", f"{text!r} is not yyyy/MM/dd HH:mm:ss ±hhmm") from None
