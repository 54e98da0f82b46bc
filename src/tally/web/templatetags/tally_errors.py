"""Template filters that turn an error into what tally/_error.html shows (tally.web.error_labels).

``{% include "tally/_error.html" with error=exc|explained %}`` for a TallyError (a rejected
bill's read back by ``bills.error_of``); ``bill|rejection`` for a rejected bill of a list;
``{{ run.error|stored_error }}`` for a failed run's or job's stored error text.
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.safestring import SafeString

from tally.errors import TallyError
from tally.ingest.models import Bill
from tally.services import bills as bill_service
from tally.services.running import STOPPED
from tally.web.error_labels import Explained, error_html, explain, explain_error, own_words
from tally.web.jobs import INTERRUPTED

register = template.Library()


@register.filter
def explained(error: TallyError, with_place: bool = True) -> Explained:
    """``error|explained:False`` leaves the place out, for a table with columns of its own for it."""
    return explain_error(error) if with_place else explain(error.code, error.message, hint=error.hint)


@register.filter
def rejection(bill: Bill) -> Explained | None:
    error = bill_service.error_of(bill)
    return explain_error(error) if error is not None else None


@register.filter
def stored_error(text: str) -> SafeString:
    """A failed run's or job's error as stored (``str(exc)``): a TallyError's reads as the other
    errors do (sentence, English detail, code); Tally's own "interrupted" (a job) and "stopped"
    (a run) in the reader's language; any other text (a bug's ``TypeError: …``) as it is."""
    error = TallyError.parse(text)
    if error is not None:
        return error_html(explain_error(error))
    return linebreaksbr(own_words(text, INTERRUPTED, STOPPED))
