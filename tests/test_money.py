from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tally.errors import InputRejected
from tally.money import exponent, format_minor, to_minor, to_minor_rounded

CURRENCIES = st.sampled_from(["CNY", "USD", "JPY", "KWD", "EUR"])


@given(st.integers(min_value=-(10**15), max_value=10**15), CURRENCIES)
def test_text_to_minor_round_trips_exactly(minor: int, currency: str) -> None:
    text = format_minor(minor, currency)
    assert to_minor(text, currency) == minor
    assert isinstance(to_minor(text, currency), int)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12))
def test_two_decimal_text_is_exact_in_cny(value: Decimal) -> None:
    assert to_minor(str(value), "CNY") == int(value * 100)


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [("0.01", "CNY", 1), ("12.34", "CNY", 1234), ("-0.50", "USD", -50), ("100", "JPY", 100),
     ("1.234", "KWD", 1234), ("0.10", "CNY", 10), ("+5", "CNY", 500), ("0.3", "CNY", 30),
     ("  7.00 ", "CNY", 700), ("999999999999.99", "CNY", 99999999999999)],
)
def test_known_amounts(text: str, currency: str, expected: int) -> None:
    assert to_minor(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "code"),
    [("0.001", "CNY", "AMOUNT_PRECISION"), ("1.5", "JPY", "AMOUNT_PRECISION"), ("NaN", "CNY", "BAD_AMOUNT"),
     ("1e3", "CNY", "BAD_AMOUNT"), ("", "CNY", "BAD_AMOUNT"), ("inf", "CNY", "BAD_AMOUNT"),
     ("1,000.00", "CNY", "BAD_AMOUNT"), ("12.3.4", "CNY", "BAD_AMOUNT"), ("¥12", "CNY", "BAD_AMOUNT"),
     ("1", "yuan", "BAD_CURRENCY"), ("92233720368547758.08", "CNY", "BAD_AMOUNT"),
     ("-99999999999999999999", "JPY", "BAD_AMOUNT")],
)
def test_bad_amounts_are_rejected_with_a_code(text: str, currency: str, code: str) -> None:
    with pytest.raises(InputRejected) as caught:
        to_minor(text, currency)
    assert caught.value.code == code


def test_minor_unit_text_must_be_whole() -> None:
    assert to_minor("1234", "CNY", unit="minor") == 1234
    with pytest.raises(InputRejected, match="decimals"):
        to_minor("12.5", "CNY", unit="minor")


def test_fees_with_five_decimals_round_half_up() -> None:
    assert to_minor_rounded("0.00500", "CNY") == 1
    assert to_minor_rounded("0.00499", "CNY") == 0
    assert to_minor_rounded("-0.00500", "CNY") == -1


def test_exponents_follow_iso_4217() -> None:
    assert (exponent("CNY"), exponent("JPY"), exponent("KWD"), exponent("usd")) == (2, 0, 3, 2)
