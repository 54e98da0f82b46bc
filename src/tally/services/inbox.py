"""Scanning an inbox folder: each waiting file imported, then moved to ``done/`` or ``rejected/``.

A file is moved only after its import has been committed (or rejected), so a process killed in
between leaves the file where it was and the next scan takes it again; importing the same bytes
twice is one bill. A rejected file gets ``NAME.error.txt`` beside it with the error, the same
``error[CODE]: …`` line the CLI prints. Each file leaves a FetchAttempt row, so the calendar and
the fetch history show it like any other acquisition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.utils import timezone

from tally.errors import ConfigError, InputRejected, TallyError
from tally.ingest.models import Bill, FetchAttempt, Source
from tally.services.importing import import_bill, source_named
from tally.transports import inbox
from tally.transports.pattern import day_in_name

log = logging.getLogger("tally.inbox")


@dataclass(frozen=True)
class Scanned:
    file: str
    outcome: str  # imported, already or rejected
    moved_to: Path
    bill: Bill | None = None
    error: str = ""


def scan(source_name: str) -> list[Scanned]:
    """Import every file waiting in the source's inbox; returns what became of each."""
    source = source_named(source_name)
    settings = source.spec.get("fetch") or {}
    if settings.get("transport") != "inbox":
        raise ConfigError("NOT_AN_INBOX", f"source {source.name} is not fetched from an inbox folder")
    results = []
    for file in inbox.waiting(settings):
        try:
            data = file.path.read_bytes()
        except OSError as exc:  # taken away meanwhile, or unreadable: the next scan sees
            log.warning("inbox %s: cannot read %s: %s", source.name, file.name, exc.strerror)
            continue
        try:
            imported = import_bill(data, source.name, file_name=file.name, day=file.day)
        except InputRejected as exc:
            moved = inbox.settle(file, error=str(exc))
            _record(source, file.day or day_in_name(file.name), "rejected", f"{exc.code}: {exc.message}", file.name,
                    moved, code=exc.code)
            results.append(Scanned(file.name, "rejected", moved, error=str(exc)))
            continue
        except TallyError as exc:  # not the file's fault (a lock, the declaration): leave it for later
            log.warning("inbox %s: %s left in place: %s", source.name, file.name, exc)
            continue
        moved = inbox.settle(file)
        outcome = "already" if imported.already else "imported"
        _record(source, imported.bill.business_day, outcome, "", file.name, moved, bill=imported.bill)
        results.append(Scanned(file.name, outcome, moved, bill=imported.bill))
    return results


def _record(source: Source, day: date | None, outcome: str, reason: str, name: str, moved: Path, *,
            bill: Bill | None = None, code: str = "") -> None:
    if day is None:
        return  # a rejected file of no known day: its Bill row and error file say it all
    details = {"inbox_file": name, "moved_to": f"{moved.parent.name}/{moved.name}"}
    if code:
        details["code"] = code
    FetchAttempt.objects.create(source=source, business_day=day, transport="inbox", outcome=outcome, reason=reason,
                                bill=bill, details=details, finished_at=timezone.now())
