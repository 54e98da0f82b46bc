"""Template filters that turn an error into what tally/_error.html shows (tally.web.error_labels).

``{% include "tally/_error.html" with error=exc|explained %}`` for a TallyError or a rejected
bill's BillError; ``bill|rejection`` for a rejected bill of a list.
"""

from __future__ import annotations

from typing import Any

from django import template

from tally.ingest.models import Bill
from tally.services import bills as bill_service
from tally.web.error_labels import Explained, explain

register = template.Library()


@register.filter
def explained(error: Any, with_place: bool = True) -> Explained:
    """``error|explained:False`` leaves the place out, for a table with columns of its own for it."""
    where = getattr(error, "where", "") if with_place else ""
    return explain(error.code, error.message, where, getattr(error, "hint", None))


@register.filter
def rejection(bill: Bill) -> Explained | None:
    error = bill_service.error_of(bill)
    return explained(error) if error is not None else None
