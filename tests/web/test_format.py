"""Money is printed exactly from minor units; codes are printed as translated words."""

from __future__ import annotations

import pytest

from tally import records
from tally.web import labels
from tally.web.templatetags.tally_format import kind_label, money, reason_label, record_kind_label


@pytest.mark.parametrize(
    ("amount_minor", "currency", "text"),
    [
        (1, "CNY", "0.01"),
        (5, "JPY", "5"),
        (-1234, "CNY", "-12.34"),
        (0, "USD", "0.00"),
        (1, "KWD", "0.001"),
        (123456789012345678, "CNY", "1234567890123456.78"),  # beyond float precision, still exact
        (None, "CNY", "—"),
    ],
)
def test_money(amount_minor: int | None, currency: str, text: str) -> None:
    assert money(amount_minor, currency) == text


def test_money_with_an_unknown_currency_code_shows_minor_units() -> None:
    assert money(12, "??") == "12 (??)"


def test_labels_fall_back_to_the_stored_code() -> None:
    assert kind_label("short") == "short"
    assert kind_label("strange") == "strange"
    assert reason_label("amount_mismatch") == "amount differs"
    assert reason_label("item_mismatch") == "item_mismatch"
    assert record_kind_label(None) == "—"


def test_record_kinds_match_the_record_schema() -> None:
    assert tuple(labels.RECORD_KINDS) == records.RECORD_KINDS
