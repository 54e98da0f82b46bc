"""Template filters: exact money and translated codes.

``{{ amount_minor|money:currency }}`` prints minor units as major-unit text through
``tally.money.format_minor`` (1 CNY minor unit → ``0.01``, 5 JPY → ``5``); never a float.
"""

from __future__ import annotations

from django import template

from tally.errors import TallyError
from tally.money import format_minor
from tally.web import labels

register = template.Library()

MISSING = "—"


@register.filter
def money(amount_minor: int | None, currency: str | None) -> str:
    if amount_minor is None or amount_minor == "":
        return MISSING
    if not currency:
        return str(amount_minor)
    try:
        return format_minor(int(amount_minor), currency)
    except (TypeError, ValueError, TallyError):
        # A stored code the money module does not know: show the raw minor units, not nothing.
        return f"{amount_minor} ({currency})"


def _label(table: dict, code: object) -> str:
    if code is None or code == "":
        return MISSING
    return str(table.get(str(code), code))


@register.filter
def kind_label(code: str | None) -> str:
    return _label(labels.BREAK_KINDS, code)


@register.filter
def status_label(code: str | None) -> str:
    return _label(labels.BREAK_STATUSES, code)


@register.filter
def record_kind_label(code: str | None) -> str:
    return _label(labels.RECORD_KINDS, code)


@register.filter
def bill_status_label(code: str | None) -> str:
    return _label(labels.BILL_STATUSES, code)


@register.filter
def reason_label(code: str | None) -> str:
    return _label(labels.REASONS, code)
