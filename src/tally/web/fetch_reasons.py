"""Why a fetch or a calendar cell is as it is, in the reader's language.

The services keep these reasons in English (a FetchAttempt's reason) or as a kind and its values
(tally.services.schedule.Reason); the CLI, the JSON API and the late-bill alerts say them in
English as they are (CONTRACT.md). Here a page words them: an error code through the error
catalog (tally.web.error_labels), Tally's own stored words (tally.services.fetching) translated,
the calendar's rules (expected from, no bill by) with their times; a channel's own text is shown
as it came.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from tally.ingest.models import FetchAttempt
from tally.services import bills, fetching, schedule
from tally.services.schedule import Reason, Why
from tally.web.error_labels import Explained, explain, explain_error, own_words

FAILURES = (FetchAttempt.Outcome.FAILED, FetchAttempt.Outcome.REFUSED, FetchAttempt.Outcome.REJECTED)


@dataclass(frozen=True)
class Shown:
    """A reason as a page shows it: one line (a cell's tooltip), and the error behind it, if any,
    for tally/_error.html."""

    text: str
    error: Explained | None = None


def fetch_error(outcome: str, code: str, reason: str) -> Explained | None:
    """A failed, refused or rejected attempt's error in the reader's language (no bill and not ready
    carry a code too, but are answers, not errors). A reason a TallyError wrote starts with its code."""
    if not code or outcome not in FAILURES:
        return None
    return explain(code, reason.removeprefix(f"{code}: "))


def attempt_reason(text: str) -> str:
    """An attempt's recorded reason: Tally's own words translated, a channel's as they came."""
    return own_words(text, fetching.INTERRUPTED, fetching.NOTHING_YET)


def cell_reason(reason: Reason | None) -> Shown | None:
    """A calendar cell's reason (tally.services.acquisition.Cell)."""
    if reason is None:
        return None
    if reason.at is not None:
        moment = schedule.local(reason.at)
        if reason.why == Why.NO_BILL_BY:
            return Shown(_("no bill by %(moment)s") % {"moment": moment})
        return Shown(_("expected from %(moment)s") % {"moment": moment})
    if reason.why == Why.BILL:
        found = bills.read_error(reason.text, reason.code, reason.file)
        error = explain_error(found) if found is not None and found.code else None
    else:
        error = fetch_error(reason.outcome, reason.code, reason.text)
    if error is not None:
        return Shown(error.sentence or str(reason), error)
    return Shown(attempt_reason(reason.text))
