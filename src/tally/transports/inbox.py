"""An inbox: a local folder (a mount, a share, a folder another system drops files into).

Settings: ``path`` (the folder), ``pattern`` (``*``; ``{yyyymmdd}`` / ``{yyyy-mm-dd}`` say which
business day a file is for), ``min_age_s`` (10: a file changed more recently may still be being
written, so it waits for the next scan).

The worker scans every inbox (tally.services.inbox): each file is imported, then moved to
``path/done/`` or, when it was rejected, to ``path/rejected/`` with ``NAME.error.txt`` beside it
saying why. ``tally fetch`` through this transport reads the day's files and leaves them where
they are (the next scan moves them; importing the same bytes twice is one bill).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tally.errors import ConfigError
from tally.transports.base import Fetched, Outcome
from tally.transports.pattern import Pattern, compile_pattern

DONE = "done"
REJECTED = "rejected"
_SKIPPED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".error.txt")


@dataclass(frozen=True)
class InboxFile:
    path: Path
    day: date | None  # from the pattern's placeholder, if it has one

    @property
    def name(self) -> str:
        return self.path.name


def folder(settings: dict[str, Any]) -> Path:
    value = settings.get("path")
    if not value:
        raise ConfigError("BAD_SOURCE", "fetch.path is not set: the inbox folder", field="fetch.path")
    path = Path(str(value))
    if not path.is_dir():
        raise ConfigError("INBOX_NOT_FOUND", f"the inbox folder {path} does not exist", field="fetch.path",
                          hint="create it, or correct fetch.path")
    return path


def pattern(settings: dict[str, Any]) -> Pattern:
    return compile_pattern(str(settings.get("pattern", "*")), field="fetch.pattern")


def waiting(settings: dict[str, Any], *, now: float | None = None) -> list[InboxFile]:
    """Files ready to be taken, oldest name first: matching, not hidden, not still being written."""
    base, selector = folder(settings), pattern(settings)
    min_age_s = float(settings.get("min_age_s", 10))
    now = time.time() if now is None else now
    found = []
    for path in sorted(base.iterdir()):
        name = path.name
        if name.startswith(".") or name.endswith(_SKIPPED_SUFFIXES) or not path.is_file():
            continue
        day = selector.day_of(name)
        if day is False or now - path.stat().st_mtime < min_age_s:
            continue
        found.append(InboxFile(path, day if isinstance(day, date) else None))
    return found


def settle(file: InboxFile, *, error: str | None = None) -> Path:
    """Move a taken file to ``done/`` (or ``rejected/`` with ``NAME.error.txt``); returns its new path."""
    target_dir = file.path.parent / (REJECTED if error is not None else DONE)
    target_dir.mkdir(exist_ok=True)
    target = target_dir / file.name
    n = 1
    while target.exists():  # the same name again (a re-sent file): keep both
        target = target_dir / f"{file.path.stem}.{n}{file.path.suffix}"
        n += 1
    file.path.replace(target)
    if error is not None:
        (target_dir / f"{target.name}.error.txt").write_text(error.rstrip() + "\n", encoding="utf-8")
    return target


class InboxTransport:
    def fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        selector = pattern(settings)
        files = [f for f in waiting(settings) if selector.selects(f.name, day)]
        if not files:
            return [Fetched(Outcome.NOT_READY, reason=f"no file for {day} matching {selector.text} in "
                            f"{settings.get('path')}")]
        return [Fetched(Outcome.FETCHED, data=f.path.read_bytes(), file_name=f.name,
                        details={"inbox_files": [f.name for f in files]}) for f in files]


TRANSPORT = InboxTransport()
