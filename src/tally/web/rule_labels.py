"""Rule names, parameters and findings in the user's language.

A finding carries a message code and named fields (``tally.engine.rules.MESSAGES`` has the
English, kept in the audit trail); here are the same messages translated, with the same fields.
Field values that are words (a side, a funder, a rounding rule) are translated too.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tally.engine.rules import Finding, Rule

RULES = {
    "cross_day": _("cross-day"),
    "coupon": _("coupon / discount"),
    "fee": _("fees"),
    "fx": _("FX"),
    "rounding": _("rounding tolerance"),
}
RULE_HELP = {
    "cross_day": _("Notes pairs whose two records have different business days (matched after carry-over); "
                   "resolves nothing."),
    "coupon": _("The amount difference equals a discount on the line: one side's amount minus its discount is "
                "the other side's amount, exactly."),
    "fee": _("The channel billed the contracted fee (rate × amount, rounded), and the difference is that fee."),
    "fx": _("The two sides are in different currencies and agree within the tolerance at the day's rate."),
    "rounding": _("The amounts differ by at most the tolerance, in the same currency."),
}
PARAMS = {
    "rate_bp": _("rate (bp)"),
    "rounding": pgettext_lazy("fee rule parameter", "rounding"),
    "tolerance_minor": _("tolerance (minor units)"),
    "tolerance_bp": _("tolerance (bp)"),
    "funded_by": _("funded by"),
}
MESSAGES = {
    "cross_day": _("paired across days: ours {ours_day}, theirs {theirs_day} (carry-over)"),
    "coupon": _("{gross_side} {gross} − discount {discount} ({funder}) = {net_side} {net}"),
    "fee_ours": _("billed fee {fee} is as contracted ({rate_bp} bp × {amount}, {rounding}); our fee {our_fee} "
                  "is not"),
    "fee_net": _("channel {amount} − fee {fee} ({rate_bp} bp × {amount}, {rounding}) = ours {net}"),
    "fx": _("channel {amount} × {rate} ({day} {base}/{quote}) ≈ {converted}; ours {ours} is within "
            "{tolerance_bp} bp"),
    "rounding": _("difference {difference} is within the rounding tolerance of {tolerance}"),
}
WORDS = {
    "channel": pgettext_lazy("side of a break", "channel"),
    "ours": pgettext_lazy("side of a break", "ours"),
    "platform-funded": _("platform-funded"),
    "merchant-funded": _("merchant-funded"),
    "funder not named": _("funder not named"),
    "half_up": _("half up"),
    "half_even": _("half even"),
    "down": _("round down"),
    "up": _("round up"),
    "any": _("any"),
    "platform": _("platform"),
    "merchant": _("merchant"),
}


def rule_name(name: str) -> str:
    return str(RULES.get(name, name))


def params(rule: Rule) -> list[tuple[str, str]]:
    """The rule's parameters (defaults included), labelled, for display."""
    from tally.engine.rules import KINDS

    names = sorted(set(KINDS[rule.name].defaults) | set(KINDS[rule.name].required))
    return [(str(PARAMS.get(n, n)), _word(rule.param(n))) for n in names]


def _word(value: Any) -> str:
    return str(WORDS.get(str(value), value))


def finding(found: Finding) -> str:
    fields = {k: _word(v) for k, v in found.params}
    return str(MESSAGES[found.code]).format(**fields) if found.code in MESSAGES else found.text
