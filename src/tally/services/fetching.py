"""Fetching a source's bill for one business day: ask the channel, import what came, keep the history.

``fetch(source_name, day)`` is the one use case the CLI (``tally fetch``), the worker's schedules
and the back office's retry button call. Each call is one try (the transport retries transient
network errors briefly inside the call) and leaves one FetchAttempt row:

- the row is written *before* the channel is asked, as ``failed`` / transient /
  ``interrupted`` with no ``finished_at``, so a process killed mid-download or mid-import leaves
  an honest row (and, through import_bill's all-or-nothing order, no bill);
- it is completed with the outcome when the try ends.

The transport gets the source's ``[sources.X.fetch]`` table plus keys the service adds:
``kind`` (the source kind, e.g. ``wechatpay_fund`` picks the fund-flow bill), ``timezone``
(the source's, for request times and ready times) and ``taken`` (the server files earlier attempts
imported, so sftp/ftp take each file once). A ``sql`` source has no fetch table: its query is its
fetch (tally.services.sqlsource).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from tally import transports
from tally.errors import ConfigError, TallyError
from tally.ingest.models import Bill, FetchAttempt, Source
from tally.services import sqlsource
from tally.services.importing import import_bill, source_named
from tally.transports.base import Fetched, Outcome
from tally.transports.remote import DETAILS_KEY, TAKEN, taken_from

log = logging.getLogger("tally.fetching")

# Tally's own reasons, stored in English (the CLI and the JSON API give them as they are); the back
# office translates them when shown (tally.web.fetch_reasons). A try ended by an exception stores
# INTERRUPTED followed by the exception's class, e.g. " (KeyboardInterrupt)".
INTERRUPTED = gettext_noop("interrupted: the attempt did not finish (the process stopped)")
NOTHING_YET = gettext_noop("nothing found yet")
# Outcomes after which nothing more is needed for that day, and `tally fetch` exits 0.
DONE = frozenset({FetchAttempt.Outcome.IMPORTED, FetchAttempt.Outcome.ALREADY, FetchAttempt.Outcome.NO_BILL})


@dataclass(frozen=True)
class Attempt:
    """What one fetch came to (the FetchAttempt row ``id`` holds the same facts).

    ``outcome`` is a FetchAttempt.Outcome value: ``imported``, ``already`` (the same bytes were
    imported before), ``no_bill`` (the channel says there is none that day: a valid answer),
    ``not_ready`` (try later), ``rejected`` (the bill failed its checks: nothing kept),
    ``refused`` (bad signature or hash: nothing kept) or ``failed`` (``transient`` says whether a
    later retry may help). ``code`` is a stable error code for the last three.
    """

    id: int
    source: str
    day: date
    transport: str
    outcome: str
    reason: str = ""
    transient: bool = False
    code: str = ""
    bills: tuple[Bill, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    # The error itself when a TallyError ended the try (a bill's own error keeps its FILE:LINE).
    cause: TallyError | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> bool:
        """Nothing more to fetch for that day."""
        return self.outcome in DONE

    @property
    def exit_code(self) -> int:
        """CONTRACT.md `tally fetch`: 0 imported/already/no_bill/not_ready, 2 refused/rejected or a
        bad declaration (missing secret, bad base URL), 1 any other failure."""
        if self.outcome in (FetchAttempt.Outcome.REJECTED, FetchAttempt.Outcome.REFUSED):
            return 2
        if self.outcome == FetchAttempt.Outcome.FAILED:
            return 2 if self.details.get("config_error") else 1
        return 0

    def error(self) -> TallyError | None:
        """The failure as an error the CLI prints as ``error[CODE]: …``; None when it did not fail."""
        if self.exit_code == 0:
            return None
        if self.cause is not None:
            return self.cause
        err = TallyError(self.code or "FETCH_FAILED", f"fetch of {self.source} for {self.day}: {self.reason}")
        err.exit_code = self.exit_code
        return err


def fetch(source_name: str, day: date) -> Attempt:
    """Fetch and import one business day's bill of a source; never raises for a channel's answer.

    Raises ConfigError only when there is nothing to try: an unknown source, a source without a
    ``fetch`` table (and not ``sql``), or an unknown transport. Every other outcome, including a
    missing secret, is recorded as a FetchAttempt and returned.
    """
    source = source_named(source_name)
    if source.kind == "sql":
        transport_name = "sql"
        settings: dict[str, Any] = {}
    else:
        settings = _settings(source)
        transport_name = str(settings["transport"])
    row = FetchAttempt.objects.create(source=source, business_day=day, transport=transport_name,
                                      outcome=FetchAttempt.Outcome.FAILED, reason=INTERRUPTED, transient=True)
    started = time.monotonic()
    try:
        if source.kind == "sql":
            attempt = _fetch_sql(row, source, day)
        else:
            attempt = _fetch_channel(row, source, settings, day, started)
    except BaseException as exc:  # KeyboardInterrupt or a bug: keep the row honest, then let it through
        _finish(row, outcome=FetchAttempt.Outcome.FAILED, reason=f"{INTERRUPTED} ({type(exc).__name__})",
                transient=True, details={"seconds": round(time.monotonic() - started, 3)})
        raise
    log.info("fetch %s %s via %s: %s %s", source.name, day, transport_name, attempt.outcome, attempt.reason)
    return attempt


def _settings(source: Source) -> dict[str, Any]:
    table = source.spec.get("fetch")
    if not isinstance(table, dict) or not table.get("transport"):
        raise ConfigError("NO_FETCH", f"source {source.name} has no [sources.{source.name}.fetch] table",
                          hint="declare how to fetch it (docs/channels/fetching.md), or import files with "
                               "`tally import`")
    if table["transport"] not in transports.names():
        raise ConfigError("UNKNOWN_TRANSPORT", f"sources.{source.name}.fetch.transport {table['transport']!r} "
                          "is not a transport", hint=f"use one of: {', '.join(transports.names())}")
    return {**table, "kind": source.kind, "timezone": source.spec.get("timezone", "Asia/Shanghai"),
            TAKEN: _taken(source)}


def _taken(source: Source) -> list[dict[str, Any]]:
    """Server files already imported, as the attempts' details remember them: taken once (sftp, ftp)."""
    imported = FetchAttempt.objects.filter(source=source, details__has_key=DETAILS_KEY,
                                           outcome__in=[FetchAttempt.Outcome.IMPORTED, FetchAttempt.Outcome.ALREADY])
    return taken_from(imported.values_list("details", flat=True))


def _fetch_sql(row: FetchAttempt, source: Source, day: date) -> Attempt:
    started = time.monotonic()
    try:
        imported = sqlsource.fetch(source, day)
    except TallyError as exc:
        # A query that fails may work later (database down); a bad declaration will not.
        transient = exc.exit_code == 1
        return _finish(row, outcome=_failure_outcome(exc), reason=_reason(exc), transient=transient,
                       code=exc.code, cause=exc, details={"config_error": isinstance(exc, ConfigError),
                                               "seconds": round(time.monotonic() - started, 3)})
    outcome = FetchAttempt.Outcome.ALREADY if imported.already else FetchAttempt.Outcome.IMPORTED
    return _finish(row, outcome=outcome, bills=(imported.bill,),
                   details={"bills": [imported.bill.name], "seconds": round(time.monotonic() - started, 3)})


def _fetch_channel(row: FetchAttempt, source: Source, settings: dict[str, Any], day: date,
                   started: float) -> Attempt:
    try:
        answers = transports.get(str(settings["transport"])).fetch(source.name, settings, day)
    except ConfigError as exc:
        return _finish(row, outcome=FetchAttempt.Outcome.FAILED, reason=_reason(exc), code=exc.code,
                       cause=exc, details={"config_error": True})
    download_s = round(time.monotonic() - started, 3)
    details: dict[str, Any] = {"download_s": download_s}
    for answer in answers:
        details.update(answer.details)
    if not answers:
        return _finish(row, outcome=FetchAttempt.Outcome.NOT_READY, reason=NOTHING_YET, details=details)
    for answer in answers:
        if answer.outcome != Outcome.FETCHED:
            return _finish(row, outcome=str(answer.outcome), reason=answer.reason, transient=answer.transient,
                           code=str(answer.details.get("code", "")), details=details)
    return _import(row, source, answers, day, details)


def _import(row: FetchAttempt, source: Source, answers: list[Fetched], day: date,
            details: dict[str, Any]) -> Attempt:
    started = time.monotonic()
    bills: list[Bill] = []
    all_already = True
    for answer in answers:
        try:
            imported = import_bill(answer.data, source.name, file_name=answer.file_name, day=day)
        except TallyError as exc:
            details["import_s"] = round(time.monotonic() - started, 3)
            rejected = Bill.objects.filter(source=source, status=Bill.Status.REJECTED,
                                           original_name=answer.file_name[-255:]).first()
            return _finish(row, outcome=_failure_outcome(exc), reason=_reason(exc), code=exc.code,
                           transient=exc.exit_code == 1, cause=exc, bills=(rejected,) if rejected else (),
                           details={**details, "config_error": isinstance(exc, ConfigError)})
        bills.append(imported.bill)
        all_already = all_already and imported.already
    details["import_s"] = round(time.monotonic() - started, 3)
    details["bills"] = [bill.name for bill in bills]
    outcome = FetchAttempt.Outcome.ALREADY if all_already else FetchAttempt.Outcome.IMPORTED
    return _finish(row, outcome=outcome, bills=tuple(bills), details=details)


def _failure_outcome(exc: TallyError) -> str:
    # An input the checks refused (bad totals, bad rows) is a rejected bill; anything else failed.
    if exc.exit_code == 2 and not isinstance(exc, ConfigError):
        return FetchAttempt.Outcome.REJECTED
    return FetchAttempt.Outcome.FAILED


def _reason(exc: TallyError) -> str:
    text = f"{exc.code}: {exc.message}"
    where = str(exc.where)
    return f"{text} ({where})" if where else text


def _finish(row: FetchAttempt, *, outcome: str, reason: str = "", transient: bool = False, code: str = "",
            bills: tuple[Bill, ...] = (), details: dict[str, Any] | None = None,
            cause: TallyError | None = None) -> Attempt:
    details = {k: v for k, v in (details or {}).items() if v is not None}
    if code:
        details["code"] = code
    row.outcome = outcome
    row.reason = reason
    row.transient = transient
    row.bill = bills[-1] if bills else None
    row.details = details
    row.finished_at = timezone.now()
    row.save()
    return Attempt(id=row.pk, source=row.source.name, day=row.business_day, transport=row.transport,
                   outcome=outcome, reason=reason, transient=transient, code=code, bills=bills, details=details,
                   cause=cause)
