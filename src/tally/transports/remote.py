"""What the file-server transports (sftp, ftp, ftps) share: selecting a day's files, resumable
downloads staged under TALLY_HOME/incoming/, and taking each remote file once.

A server session only lists, reads at an offset and renames (``Session``); everything else is
here, so SFTP and FTP behave the same:

1. list ``remote_dir``; keep the files ``pattern`` selects for the day and that were not taken
   before (``taken``: the ``(path, size, mtime)`` of files already imported, which the fetch
   service reads back from the FetchAttempt history);
2. download each into ``incoming/SOURCE/NAME.part``, continuing a partial file from its size
   (the ``NAME.json`` beside it says which remote file it is, so a changed remote file starts
   over), check the size, then rename it to ``NAME`` (complete);
3. with a ``done_dir``, move the remote file there (the server then shows it as taken);
4. return the bytes. A complete local copy stays until a later fetch sees it in ``taken``: a
   process killed between the move and the import still finds the bill on the next try.
"""

from __future__ import annotations

import json
import logging
import posixpath
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from tally.errors import ConfigError
from tally.home import home
from tally.transports.base import Fetched, Outcome
from tally.transports.pattern import compile_pattern

log = logging.getLogger("tally.transports")

# The key of the settings the fetch service adds: files already imported, as FetchAttempt
# details keep them under DETAILS_KEY.
TAKEN = "taken"
DETAILS_KEY = "remote_files"
CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    mtime: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def identity(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "mtime": self.mtime}


class Session(Protocol):
    """An open connection to a file server."""

    def files(self, folder: str) -> list[RemoteFile]:
        """Regular files directly in ``folder``."""
        ...

    def read(self, remote: RemoteFile, offset: int, out: BinaryIO) -> None:
        """Write the file's bytes from ``offset`` to its end into ``out``."""
        ...

    def move(self, remote: RemoteFile, folder: str) -> None:
        """Move the file into ``folder`` on the server."""
        ...


class Truncated(Exception):
    """The download ended short of (or past) the size the server listed."""


def required(settings: dict[str, Any], key: str) -> str:
    value = settings.get(key)
    if value in (None, ""):
        raise ConfigError("BAD_SOURCE", f"fetch.{key} is not set", field=f"fetch.{key}")
    return str(value)


def retrying(attempt: Callable[[], list[Fetched]], settings: dict[str, Any]) -> list[Fetched]:
    """Short in-call retries of transient failures (``retries``, default 2: after 1 s, then 2 s);
    a partial download continues where the last try stopped."""
    retries = int(settings.get("retries", 2))
    for n in range(retries + 1):
        answers = attempt()
        if n == retries or not any(a.outcome == Outcome.FAILED and a.transient for a in answers):
            return answers
        log.info("transient failure, retrying in %d s: %s", 2**n, answers[0].reason)
        time.sleep(2**n)
    raise AssertionError("unreachable")


def taken_of(settings: dict[str, Any]) -> set[tuple[str, int, int]]:
    return {(str(t.get("path")), int(t.get("size", -1)), int(t.get("mtime", -1)))
            for t in settings.get(TAKEN) or () if isinstance(t, dict)}


def taken_from(details: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``taken`` list from the details of attempts that imported their files."""
    seen: dict[tuple[str, int, int], dict[str, Any]] = {}
    for detail in details:
        for item in detail.get(DETAILS_KEY) or ():
            if isinstance(item, dict) and "path" in item:
                seen[(str(item["path"]), int(item.get("size", -1)), int(item.get("mtime", -1)))] = item
    return list(seen.values())


class Incoming:
    """The staging folder of one source: ``NAME.part`` while downloading, ``NAME`` when complete."""

    def __init__(self, source: str) -> None:
        self.folder = home() / "incoming" / source

    def _paths(self, remote: RemoteFile) -> tuple[Path, Path, Path]:
        name = remote.name
        return self.folder / f"{name}.part", self.folder / name, self.folder / f"{name}.json"

    def complete(self, remote: RemoteFile) -> Path | None:
        """The complete local copy of ``remote``, if one was made before."""
        _, final, meta = self._paths(remote)
        if final.exists() and self._meta(meta) == remote.identity() and final.stat().st_size == remote.size:
            return final
        return None

    def pending(self) -> list[RemoteFile]:
        """Remote files whose complete local copy is still waiting to be imported."""
        found = []
        for meta in sorted(self.folder.glob("*.json")) if self.folder.exists() else ():
            identity = self._meta(meta)
            if identity and (self.folder / meta.name[: -len(".json")]).exists():
                found.append(RemoteFile(str(identity["path"]), int(identity["size"]), int(identity["mtime"])))
        return found

    def download(self, session: Session, remote: RemoteFile) -> Path:
        """Fetch ``remote`` into a complete local copy, continuing a partial download of the same file."""
        part, final, meta = self._paths(remote)
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._meta(meta) != remote.identity() or not part.exists() or part.stat().st_size > remote.size:
            part.unlink(missing_ok=True)
            final.unlink(missing_ok=True)
            meta.write_text(json.dumps(remote.identity()), encoding="utf-8")
        offset = part.stat().st_size if part.exists() else 0
        if offset:
            log.info("resuming %s at byte %d of %d", remote.path, offset, remote.size)
        with open(part, "ab") as out:
            session.read(remote, offset, out)
        size = part.stat().st_size
        if size != remote.size:
            if size > remote.size:
                part.unlink()  # never continue past the end: start over next time
            raise Truncated(f"{remote.path}: got {size} of {remote.size} bytes")
        part.replace(final)
        return final

    def forget(self, keys: set[tuple[str, int, int]]) -> None:
        """Drop complete local copies of files that were imported."""
        for remote in self.pending():
            if (remote.path, remote.size, remote.mtime) in keys:
                for path in self._paths(remote):
                    path.unlink(missing_ok=True)

    @staticmethod
    def _meta(path: Path) -> dict[str, Any] | None:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None


def collect(session: Session, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
    """The day's new files from ``remote_dir`` (see the module docstring); raises the session's errors."""
    folder = required(settings, "remote_dir")
    pattern = compile_pattern(required(settings, "pattern"), field="fetch.pattern")
    if not pattern.has_day:
        raise ConfigError("BAD_PATTERN", f"fetch.pattern {pattern.text!r} must name the day with {{yyyymmdd}} "
                          "or {yyyy-mm-dd}", field="fetch.pattern")
    done_dir = settings.get("done_dir")
    taken = taken_of(settings)
    incoming = Incoming(source)
    incoming.forget(taken)
    listed = [f for f in session.files(folder) if pattern.selects(f.name, day)]
    chosen = {f.path: f for f in listed if (f.path, f.size, f.mtime) not in taken}
    # Copies downloaded (and perhaps moved to done_dir) by an attempt that died before importing.
    for remote in incoming.pending():
        if posixpath.dirname(remote.path) == folder.rstrip("/") and pattern.selects(remote.name, day):
            chosen.setdefault(remote.path, remote)
    if not chosen:
        where = f"{pattern.text} in {folder}"
        reason = (f"nothing new: {len(listed)} file(s) matching {where} were taken before" if listed
                  else f"no file matching {where} yet")
        return [Fetched(Outcome.NOT_READY, reason=reason, details={"listed": len(listed)})]
    files = [chosen[path] for path in sorted(chosen)]
    identities = [f.identity() for f in files]
    listed_paths = {f.path for f in listed}
    answers = []
    for remote in files:
        local = incoming.complete(remote) or incoming.download(session, remote)
        if done_dir and remote.path in listed_paths:
            session.move(remote, str(done_dir))
        answers.append(Fetched(Outcome.FETCHED, data=local.read_bytes(), file_name=remote.name,
                               details={DETAILS_KEY: identities}))
    return answers
