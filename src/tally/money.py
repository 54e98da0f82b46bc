"""Money: integer minor units plus an ISO 4217 currency, parsed from text through Decimal.

A float never comes near an amount. Text is parsed exactly; a value with more decimals than
the currency has (or than the unit allows) is rejected, never rounded silently.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from tally.errors import InputRejected

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
         "VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}

_CURRENCY = re.compile(r"[A-Z]{3}")
# Plain decimal text only: an optional sign, digits, an optional fraction. No exponent, no NaN,
# no thousands separators: those are how floats and spreadsheets sneak wrong amounts in.
_AMOUNT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (CNY 2, JPY 0, KWD 3)."""
    code = currency_code(currency)
    return _EXPONENTS.get(code, 2)


def currency_code(text: str) -> str:
    code = text.strip().upper()
    if not _CURRENCY.fullmatch(code):
        raise InputRejected("BAD_CURRENCY", f"{text!r} is not an ISO 4217 currency code",
                            hint="use a three-letter code such as CNY or USD")
    return code


def parse_decimal(text: str) -> Decimal:
    """Exact decimal from plain text; rejects empty, NaN, infinities and exponent notation."""
    cleaned = text.strip()
    if not _AMOUNT.fullmatch(cleaned):
        what = "empty" if not cleaned else repr(text)
        raise InputRejected("BAD_AMOUNT", f"amount is {what}, expected plain decimal digits",
                            hint="write amounts like 12.34 or -0.50")
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already excludes these
        raise InputRejected("BAD_AMOUNT", f"amount {text!r} is not a number") from exc


def to_minor(text: str, currency: str, *, unit: str = "major") -> int:
    """Parse an amount written in major (``12.34``) or minor (``1234``) units into minor units.

    More decimals than the currency allows is an error: 0.001 CNY is not an amount.
    """
    value = parse_decimal(text)
    if unit == "minor":
        if value != value.to_integral_value():
            raise InputRejected("AMOUNT_PRECISION", f"minor-unit amount {text!r} has decimals")
        return _bounded(int(value), text)
    if unit != "major":
        raise ValueError(f"unknown amount unit {unit!r}")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise InputRejected(
            "AMOUNT_PRECISION",
            f"amount {text!r} has more decimals than {currency_code(currency)} allows "
            f"({exponent(currency)})",
        )
    return _bounded(int(scaled), text)


def to_minor_rounded(text: str, currency: str) -> int:
    """Minor units of a major-unit amount that legitimately carries extra digits, rounded half up.

    Used only where the format itself writes sub-minor precision (WeChat's 5-decimal fees); the
    exact value still goes into the control-total check before rounding.
    """
    value = parse_decimal(text).scaleb(exponent(currency))
    return _bounded(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), text)


MAX_MINOR = 2**63 - 1  # records store int64 minor units


def _bounded(minor: int, text: str) -> int:
    if not -MAX_MINOR <= minor <= MAX_MINOR:
        raise InputRejected("BAD_AMOUNT", f"amount {text!r} is too large to be an amount",
                            hint="amounts must fit 64-bit minor units")
    return minor


def format_minor(amount_minor: int, currency: str) -> str:
    """Minor units back to plain major-unit text: 1234 CNY → '12.34'."""
    digits = exponent(currency)
    return str(Decimal(amount_minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))
