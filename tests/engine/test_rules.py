"""Automatic rules: boundary tables at ±1 minor unit for every rule, and the plan's validation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tally.engine.plan import Plan
from tally.engine.rules import Context, Rule, expected_fee, explain, parse_rules
from tally.errors import ConfigError

DAY = date(2024, 5, 1)


def rec(amount: int, *, currency: str = "CNY", fee: int = 0, discount: int = 0, day: date = DAY,
        **extra: Any) -> dict[str, Any]:
    """A record as a break stores it (JSON: the day as ISO text)."""
    return {"source": "s", "business_day": day.isoformat(), "record_kind": "payment", "order_no": "A",
            "refund_no": None, "amount_minor": amount, "fee_minor": fee, "discount_minor": discount,
            "currency": currency, "status": "SUCCESS", "bill_sha256": "x" * 64, "line_no": 1, **extra}


def rule(text: str, **params: Any) -> Rule:
    return parse_rules([{"rule": text, **params}], where="plans.p")[0]


def verdict(r: Rule, ours: dict[str, Any] | None, theirs: dict[str, Any] | None, **ctx: Any) -> bool:
    found = explain(r, ours, theirs, Context(**ctx))
    return found is not None and found.resolves


# Rounding: |ours − theirs| ≤ tolerance_minor, same currency.

@pytest.mark.parametrize(("ours", "theirs", "tolerance", "explained"), [
    (1000, 999, 1, True),     # +1 at a tolerance of 1
    (999, 1000, 1, True),     # −1
    (1000, 998, 1, False),    # +2: one past
    (998, 1000, 1, False),    # −2
    (1000, 1000, 1, False),   # no amount difference: not this rule's break
    (1003, 1000, 3, True),
    (1004, 1000, 3, False),
    (1000, 999, 0, False),    # tolerance 0 explains nothing
])
def test_rounding_boundaries(ours: int, theirs: int, tolerance: int, explained: bool) -> None:
    assert verdict(rule("rounding", tolerance_minor=tolerance), rec(ours), rec(theirs)) is explained


def test_rounding_needs_one_currency_and_other_fields_equal() -> None:
    r = rule("rounding")
    assert not verdict(r, rec(1000), rec(999, currency="USD"))
    compare = ("amount_minor", "currency", "status")
    assert not verdict(r, rec(1000), rec(999, status="CLOSED"), compare=compare)
    assert verdict(r, rec(1000), rec(999, status="CLOSED"))  # status not compared by the plan


def test_rules_explain_only_pairs() -> None:
    for r in (rule("rounding"), rule("coupon"), rule("fee", rate_bp=60), rule("fx", tolerance_bp=50)):
        assert explain(r, rec(1000), None, Context()) is None
        assert explain(r, None, rec(1000), Context()) is None


# Coupon: amount − discount on one side equals the other side's amount, exactly.

@pytest.mark.parametrize(("ours", "theirs", "discount", "explained"), [
    (9000, 10000, 1000, True),    # channel 100.00 − coupon 10.00 = ours 90.00
    (9001, 10000, 1000, False),   # +1: not absorbed by any tolerance
    (8999, 10000, 1000, False),   # −1
    (-9000, -10000, -1000, True),  # a refund: every figure negative
    (-9001, -10000, -1000, False),
    (10000, 10000, 1000, False),  # amounts equal: nothing to explain
])
def test_coupon_channel_discount_boundaries(ours: int, theirs: int, discount: int, explained: bool) -> None:
    assert verdict(rule("coupon"), rec(ours), rec(theirs, discount=discount)) is explained


def test_coupon_from_our_discount_column() -> None:
    assert verdict(rule("coupon"), rec(10000, discount=500), rec(9500))
    assert not verdict(rule("coupon"), rec(10000, discount=500), rec(9501))


@pytest.mark.parametrize(("funded_by", "ours", "explained"), [
    ("any", 9700, True),        # platform 200 + merchant 100 together
    ("any", 9800, True),        # platform part alone
    ("platform", 9800, True),
    ("platform", 9900, False),  # the merchant part is not platform-funded
    ("merchant", 9900, True),
    ("merchant", 9799, False),
])
def test_coupon_by_funder(funded_by: str, ours: int, explained: bool) -> None:
    theirs = rec(10000, discount=300, platform_discount_minor=200, merchant_discount_minor=100)
    assert verdict(rule("coupon", funded_by=funded_by), rec(ours), theirs) is explained


def test_coupon_funder_named_on_the_record() -> None:
    theirs = rec(10000, discount=1000, discount_funded_by="platform")
    found = explain(rule("coupon", funded_by="platform"), rec(9000), theirs, Context())
    assert found is not None
    assert "discount 10.00 CNY (platform-funded)" in found.text
    assert not verdict(rule("coupon", funded_by="merchant"), rec(9000), theirs)
    # A funder the record does not name is accepted only by funded_by = "any".
    assert not verdict(rule("coupon", funded_by="platform"), rec(9000), rec(10000, discount=1000))


# Fees: expected = rate × amount, rounded; the billed fee must equal it (± tolerance_minor).

@pytest.mark.parametrize(("amount", "rate_bp", "rounding", "fee"), [
    (250, 60, "half_up", 2),     # 1.5 → 2
    (250, 60, "half_even", 2),   # 1.5 → 2 (even)
    (750, 60, "half_even", 4),   # 4.5 → 4 (even)
    (750, 60, "half_up", 5),
    (750, 60, "down", 4),
    (751, 60, "up", 5),          # 4.506 → 5
    (-750, 60, "half_up", -5),   # a refund's fee comes back
    (10000, 38, "half_up", 38),
    (0, 60, "half_up", 0),
])
def test_expected_fee(amount: int, rate_bp: int, rounding: str, fee: int) -> None:
    assert expected_fee(amount, rate_bp, rounding) == fee


@pytest.mark.parametrize(("billed", "tolerance", "explained"), [
    (60, 0, True),
    (61, 0, False),   # overbilled by one minor unit
    (59, 0, False),
    (61, 1, True),
    (59, 1, True),
    (62, 1, False),
])
def test_fee_billed_against_expected(billed: int, tolerance: int, explained: bool) -> None:
    # Our books keep the fee as 0; the channel bills 60 bp on 100.00.
    r = rule("fee", rate_bp=60, tolerance_minor=tolerance)
    compare = ("amount_minor", "fee_minor", "currency")
    assert verdict(r, rec(10000), rec(10000, fee=billed), compare=compare) is explained


@pytest.mark.parametrize(("ours", "explained"), [(9940, True), (9941, False), (9939, False)])
def test_fee_our_side_books_the_net(ours: int, explained: bool) -> None:
    r = rule("fee", rate_bp=60, rounding="half_up")
    assert verdict(r, rec(ours), rec(10000, fee=60)) is explained


# FX: within tolerance_bp at the day's rate of the rate table.

RATES = {(DAY, "USD", "CNY"): Decimal("7.2000")}


@pytest.mark.parametrize(("ours", "explained"), [
    (72000, True),    # 100.00 USD × 7.2 = 720.00 CNY
    (72360, True),    # +50 bp exactly
    (72361, False),   # +1 minor unit past
    (71640, True),    # −50 bp
    (71639, False),
])
def test_fx_tolerance_boundaries(ours: int, explained: bool) -> None:
    r = rule("fx", tolerance_bp=50)
    assert verdict(r, rec(ours), rec(10000, currency="USD"), rates=RATES) is explained


def test_fx_uses_the_inverse_rate_and_minor_unit_exponents() -> None:
    rates = {(DAY, "CNY", "JPY"): Decimal("20")}  # 1 CNY = 20 JPY, so 1 JPY = 0.05 CNY
    r = rule("fx", tolerance_bp=0)
    assert verdict(r, rec(500), rec(100, currency="JPY"), rates=rates)  # 100 JPY = 5.00 CNY
    assert not verdict(r, rec(501), rec(100, currency="JPY"), rates=rates)


def test_fx_needs_the_days_rate() -> None:
    r = rule("fx", tolerance_bp=50)
    other_day = {(date(2024, 4, 30), "USD", "CNY"): Decimal("7.2")}
    assert not verdict(r, rec(72000), rec(10000, currency="USD"), rates=other_day)
    assert not verdict(r, rec(72000), rec(72000), rates=RATES)  # one currency: not FX


# Cross-day: a note, never a resolution.

def test_cross_day_notes_pairs_across_days() -> None:
    r = rule("cross_day")
    found = explain(r, rec(1000), rec(999, day=date(2024, 5, 2)), Context())
    assert found is not None
    assert not found.resolves
    assert "2024-05-02" in found.text
    assert explain(r, rec(1000), rec(999), Context()) is None


def test_every_finding_names_rule_and_version() -> None:
    found = explain(rule("rounding"), rec(1000), rec(999), Context())
    assert found is not None
    assert (found.rule, found.version) == ("rounding", 1)


# Declaring rules in a plan.

def spec(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"ours": "shop", "theirs": "wechat", "rules": list(rules)}


def test_plan_keeps_its_rules_in_order() -> None:
    plan = Plan.from_spec("p", spec({"rule": "cross_day"}, {"rule": "fee", "rate_bp": 60, "rounding": "half_up"},
                                    {"rule": "rounding", "tolerance_minor": 1}))
    assert [r.name for r in plan.rules] == ["cross_day", "fee", "rounding"]
    assert plan.rules[1].param("rate_bp") == 60
    assert plan.rules[1].param("tolerance_minor") == 0
    assert Plan.from_spec("p", {"ours": "shop", "theirs": "wechat"}).rules == ()


@pytest.mark.parametrize(("rules", "code", "field"), [
    ([{"rule": "magic"}], "UNKNOWN_RULE", "plans.p.rules[0].rule"),
    ([{"rule": "rounding"}, {"tolerance_minor": 1}], "UNKNOWN_RULE", "plans.p.rules[1].rule"),
    ([{"rule": "fee"}], "BAD_PLAN", "plans.p.rules[0].rate_bp"),
    ([{"rule": "fee", "rate_bp": 60, "rounding": "nearest"}], "BAD_PLAN", "plans.p.rules[0].rounding"),
    ([{"rule": "fx", "tolerance_bp": -1}], "BAD_PLAN", "plans.p.rules[0].tolerance_bp"),
    ([{"rule": "fx", "tolerance_bp": "50"}], "BAD_PLAN", "plans.p.rules[0].tolerance_bp"),
    ([{"rule": "rounding", "tolerance": 1}], "BAD_PLAN", "plans.p.rules[0].tolerance"),
    ([{"rule": "coupon", "funded_by": "bank"}], "BAD_PLAN", "plans.p.rules[0].funded_by"),
])
def test_bad_rules_are_config_errors(rules: list[dict[str, Any]], code: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Plan.from_spec("p", spec(*rules), file="plans.toml")
    assert caught.value.code == code
    assert caught.value.where.field == field
    assert caught.value.where.file == "plans.toml"


def test_rules_must_be_a_list_of_tables() -> None:
    with pytest.raises(ConfigError) as caught:
        Plan.from_spec("p", {"ours": "shop", "theirs": "wechat", "rules": "rounding"})
    assert caught.value.where.field == "plans.p.rules"


def test_alert_threshold_is_a_plan_field() -> None:
    plan = Plan.from_spec("p", {"ours": "shop", "theirs": "wechat", "alert_threshold_minor": 50000})
    assert plan.alert_threshold_minor == 50000
    with pytest.raises(ConfigError):
        Plan.from_spec("p", {"ours": "shop", "theirs": "wechat", "alert_threshold_minor": -1})
