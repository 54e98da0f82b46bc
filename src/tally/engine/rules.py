"""Automatic rules: small pure checks that explain a break from its two records, or do not.

A plan lists its rules in order (``[[plans.NAME.rules]]``). Each rule gets the break's two
normalized records (``ours``/``theirs`` as stored on the break; either may be missing), its
parameters, and a :class:`Context` (the plan's compared fields, the day's FX rates), and returns a
:class:`Finding` with the explanation, or ``None``. Amounts are integer minor units; rates and
basis points go through ``Decimal``, never floats.

A rule explains only the fields it is about (``EXPLAINS``): a break whose other compared fields
also differ (say the status) is left to people. ``cross_day`` explains nothing: it notes that the
two records were paired across business days (carry-over) and leaves the break to later rules.

Each rule has a ``VERSION``, recorded with every resolution it makes; change the number whenever
a rule's decision for the same records could change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext
from typing import Any

from tally.errors import ConfigError
from tally.money import exponent, format_minor

Record = Mapping[str, Any]
ROUNDINGS = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}
FUNDERS = ("any", "platform", "merchant")
BP = Decimal(10_000)  # basis points per unit


@dataclass(frozen=True)
class Rule:
    """One declared rule: its name and parameters (validated by :func:`parse_rules`)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str) -> Any:
        return dict(self.params).get(name, KINDS[self.name].defaults.get(name))

    @property
    def version(self) -> int:
        return KINDS[self.name].version

    def label(self) -> str:
        shown = ", ".join(f"{k} = {v}" for k, v in self.params)
        return f"{self.name} ({shown})" if shown else self.name


# What a finding says, by message code: English here (the audit trail and the CLI); the back office
# has the same messages translated, with the same named fields (tally.web.rule_labels).
MESSAGES = {
    "cross_day": "paired across days: ours {ours_day}, theirs {theirs_day} (carry-over)",
    "coupon": "{gross_side} {gross} − discount {discount} ({funder}) = {net_side} {net}",
    "fee_ours": "billed fee {fee} is as contracted ({rate_bp} bp × {amount}, {rounding}); our fee {our_fee} is not",
    "fee_net": "channel {amount} − fee {fee} ({rate_bp} bp × {amount}, {rounding}) = ours {net}",
    "fx": "channel {amount} × {rate} ({day} {base}/{quote}) ≈ {converted}; ours {ours} is within {tolerance_bp} bp",
    "rounding": "difference {difference} is within the rounding tolerance of {tolerance}",
}


@dataclass(frozen=True)
class Finding:
    rule: str
    version: int
    code: str  # a key of MESSAGES
    params: tuple[tuple[str, str], ...]
    resolves: bool = True  # False: noted for people (cross-day), the break stays open

    @property
    def text(self) -> str:
        return MESSAGES[self.code].format(**dict(self.params))


@dataclass(frozen=True)
class Context:
    compare: tuple[str, ...] = ("amount_minor", "currency")
    # (day, base, quote) -> units of quote per one unit of base, as an exact Decimal.
    rates: Mapping[tuple[date, str, str], Decimal] = field(default_factory=dict)

    def rate(self, day: date, base: str, quote: str) -> Decimal | None:
        if (day, base, quote) in self.rates:
            return self.rates[(day, base, quote)]
        inverse = self.rates.get((day, quote, base))
        if inverse:
            with localcontext() as ctx:
                ctx.prec = 40
                return Decimal(1) / inverse
        return None


Check = Callable[[Record, Record, Rule, Context], Finding | None]


@dataclass(frozen=True)
class Kind:
    version: int
    explains: tuple[str, ...]  # compared fields this rule may explain; others must agree
    check: Check
    defaults: dict[str, Any]
    required: tuple[str, ...] = ()
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _money(amount_minor: int, currency: str) -> str:
    return f"{format_minor(amount_minor, currency)} {currency}"


def _day(record: Record) -> date:
    value = record["business_day"]
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _found(rule: Rule, code: str, resolves: bool = True, /, **params: Any) -> Finding:
    return Finding(rule.name, rule.version, code, tuple((k, str(v)) for k, v in params.items()), resolves)


def cross_day(ours: Record, theirs: Record, rule: Rule, ctx: Context) -> Finding | None:
    """Paired across business days (the later record came in on carry-over): a note, not a resolution."""
    if _day(ours) == _day(theirs):
        return None
    return _found(rule, "cross_day", False, ours_day=_day(ours), theirs_day=_day(theirs))


def _discounts(record: Record, funded_by: str) -> list[tuple[str, int]]:
    """The record's discount amounts a rule may use, named by who funds them where the record says.

    A record may split its discount (``platform_discount_minor``/``merchant_discount_minor``) or
    name the funder of ``discount_minor`` (``discount_funded_by``); otherwise the funder is unknown
    and only ``funded_by = "any"`` accepts it.
    """
    split = [(who, record.get(f"{who}_discount_minor")) for who in ("platform", "merchant")]
    parts = [(who, int(value)) for who, value in split if value]
    if not parts and record.get("discount_minor"):
        who = str(record.get("discount_funded_by") or "")
        parts = [(who if who in ("platform", "merchant") else "", int(record["discount_minor"]))]
    if funded_by != "any":
        parts = [(who, value) for who, value in parts if who == funded_by]
    elif len(parts) > 1:
        parts.append(("", sum(value for _, value in parts)))
    return parts


def coupon(ours: Record, theirs: Record, rule: Rule, ctx: Context) -> Finding | None:
    """One side's amount minus its own discount equals the other side's amount, to the minor unit."""
    currency = ours["currency"]
    if currency != theirs["currency"] or ours["amount_minor"] == theirs["amount_minor"]:
        return None
    for gross, net, name in ((theirs, ours, "channel"), (ours, theirs, "ours")):
        for who, discount in _discounts(gross, str(rule.param("funded_by"))):
            if gross["amount_minor"] - discount == net["amount_minor"]:
                funder = f"{who}-funded" if who else "funder not named"
                return _found(rule, "coupon", gross_side=name, gross=_money(gross["amount_minor"], currency),
                              funder=funder, discount=_money(discount, currency),
                              net_side="ours" if name == "channel" else "channel",
                              net=_money(net["amount_minor"], currency))
    return None


def expected_fee(amount_minor: int, rate_bp: int, rounding: str) -> int:
    """rate × |amount| rounded to the minor unit by ``rounding``, with the amount's sign."""
    exact = Decimal(abs(amount_minor)) * Decimal(rate_bp) / BP
    fee = int(exact.quantize(Decimal(1), rounding=ROUNDINGS[rounding]))
    return -fee if amount_minor < 0 else fee


def fee(ours: Record, theirs: Record, rule: Rule, ctx: Context) -> Finding | None:
    """The channel billed the contracted fee, and the difference is that fee: our fee differs from a
    correctly billed one, or our side books the amount net of it."""
    currency = theirs["currency"]
    if currency != ours["currency"]:
        return None
    rate_bp, rounding = int(rule.param("rate_bp")), str(rule.param("rounding"))
    expected = expected_fee(int(theirs["amount_minor"]), rate_bp, rounding)
    billed = int(theirs.get("fee_minor") or 0)
    if abs(billed - expected) > int(rule.param("tolerance_minor")):
        return None
    basis = {"rate_bp": str(rate_bp), "amount": _money(theirs["amount_minor"], currency), "rounding": rounding,
             "fee": _money(billed, currency)}
    if ours["amount_minor"] == theirs["amount_minor"] and ours.get("fee_minor") != billed:
        return _found(rule, "fee_ours", our_fee=_money(int(ours.get("fee_minor") or 0), currency), **basis)
    if billed and ours["amount_minor"] == theirs["amount_minor"] - billed:
        return _found(rule, "fee_net", net=_money(ours["amount_minor"], currency), **basis)
    return None


def fx(ours: Record, theirs: Record, rule: Rule, ctx: Context) -> Finding | None:
    """Different currencies whose amounts agree within ``tolerance_bp`` at the day's rate."""
    base, quote = theirs["currency"], ours["currency"]
    if base == quote:
        return None
    day = _day(theirs)
    rate = ctx.rate(day, base, quote)
    if rate is None:
        return None
    with localcontext() as dec:
        dec.prec = 60  # exact for any realistic amount × rate
        converted = Decimal(int(theirs["amount_minor"])).scaleb(exponent(quote) - exponent(base)) * rate
        difference = Decimal(int(ours["amount_minor"])) - converted
        tolerance_bp = int(rule.param("tolerance_bp"))
        if abs(difference) * BP > abs(converted) * tolerance_bp:
            return None
        shown = converted.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return _found(rule, "fx", amount=_money(theirs["amount_minor"], base), rate=rate.normalize(), day=day, base=base,
                  quote=quote, converted=_money(int(shown), quote), ours=_money(ours["amount_minor"], quote),
                  tolerance_bp=tolerance_bp)


def rounding(ours: Record, theirs: Record, rule: Rule, ctx: Context) -> Finding | None:
    """A difference of at most ``tolerance_minor`` minor units in the same currency."""
    currency = ours["currency"]
    difference = int(ours["amount_minor"]) - int(theirs["amount_minor"])
    tolerance = int(rule.param("tolerance_minor"))
    if currency != theirs["currency"] or difference == 0 or abs(difference) > tolerance:
        return None
    return _found(rule, "rounding", difference=_money(difference, currency), tolerance=_money(tolerance, currency))


KINDS: dict[str, Kind] = {
    "cross_day": Kind(1, (), cross_day, {}),
    "coupon": Kind(1, ("amount_minor", "discount_minor"), coupon, {"funded_by": "any"},
                   choices={"funded_by": FUNDERS}),
    "fee": Kind(1, ("amount_minor", "fee_minor"), fee, {"rounding": "half_up", "tolerance_minor": 0},
                required=("rate_bp",), choices={"rounding": tuple(ROUNDINGS)}),
    "fx": Kind(1, ("amount_minor", "currency"), fx, {"tolerance_bp": 0}),
    "rounding": Kind(1, ("amount_minor",), rounding, {"tolerance_minor": 1}),
}


def _others_agree(ours: Record, theirs: Record, kind: Kind, ctx: Context) -> bool:
    return all(ours.get(name) == theirs.get(name) for name in ctx.compare if name not in kind.explains)


def explain(rule: Rule, ours: Record | None, theirs: Record | None, ctx: Context) -> Finding | None:
    """What ``rule`` says about a break with these records; None when it does not explain it.

    Only pairs (mismatches) are explained: a one-sided break has nothing to compare."""
    if ours is None or theirs is None:
        return None
    kind = KINDS[rule.name]
    if kind.explains and not _others_agree(ours, theirs, kind, ctx):
        return None
    return kind.check(ours, theirs, rule, ctx)


def parse_rules(value: Any, *, where: str, file: str | None = None) -> tuple[Rule, ...]:
    """The plan's ``rules`` list, validated: known names, known parameters of the right type."""
    field_name = f"{where}.rules"
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError("BAD_PLAN", f"{field_name} must be a list of tables", file=file, field=field_name,
                          hint='e.g. rules = [{ rule = "rounding", tolerance_minor = 1 }]')
    rules = []
    for n, item in enumerate(value):
        here = f"{field_name}[{n}]"
        name = item.get("rule")
        if name not in KINDS:
            raise ConfigError("UNKNOWN_RULE", f"{here}: {name!r} is not a rule", file=file, field=f"{here}.rule",
                              hint=f"known rules: {', '.join(KINDS)}")
        kind = KINDS[name]
        params = {k: v for k, v in item.items() if k != "rule"}
        known = set(kind.defaults) | set(kind.required)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError("BAD_PLAN", f"{here}: rule {name} has no parameter {unknown[0]}", file=file,
                              field=f"{here}.{unknown[0]}",
                              hint=f"its parameters: {', '.join(sorted(known)) or 'none'}")
        missing = [p for p in kind.required if p not in params]
        if missing:
            raise ConfigError("BAD_PLAN", f"{here}: rule {name} needs {missing[0]}", file=file,
                              field=f"{here}.{missing[0]}")
        for key, param in params.items():
            if key in kind.choices:
                if param not in kind.choices[key]:
                    raise ConfigError("BAD_PLAN", f"{here}.{key} must be one of {', '.join(kind.choices[key])}",
                                      file=file, field=f"{here}.{key}")
            elif not isinstance(param, int) or isinstance(param, bool) or param < 0:
                raise ConfigError("BAD_PLAN", f"{here}.{key} must be a whole number ≥ 0", file=file,
                                  field=f"{here}.{key}")
        rules.append(Rule(name, tuple(sorted(params.items()))))
    return tuple(rules)
