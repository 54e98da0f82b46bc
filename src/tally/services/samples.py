"""Sample files uploaded to describe a table source (a new one, or a change of its mapping):
kept aside until the source is saved.

A sample is not a bill: it is stored under ``TALLY_HOME/samples/<token>`` (never in the
archive), belongs to the user who uploaded it, and is deleted when the source is saved or after
a day. Looking at it goes through tally.channels.tabular.sample (sniff, propose, preview).
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from tally.channels.tabular import guess, sample
from tally.channels.tabular.detect import Sniffed
from tally.errors import InputRejected, OperationFailed

KEEP_SECONDS = 24 * 3600
_TOKEN_BYTES = 16


@dataclass(frozen=True)
class Sample:
    token: str
    name: str
    data: bytes
    # The existing source whose mapping this sample is to change; None for a new source.
    source: str | None = None


def _root() -> Path:
    return Path(settings.TALLY_HOME) / "samples"


def save(data: bytes, name: str, owner_id: int, *, source: str | None = None) -> str:
    """Keep an uploaded sample; returns its token. Samples older than a day are removed."""
    limit = int(settings.TALLY_UPLOAD_MAX_BYTES)
    if len(data) > limit:
        raise InputRejected("FILE_TOO_LARGE", f"the file has {len(data)} bytes; the limit is {limit}", file=name)
    if not data:
        raise InputRejected("EMPTY_FILE", "the file is empty", file=name)
    _prune()
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    folder = _root() / token
    folder.mkdir(parents=True)
    (folder / "data").write_bytes(data)
    meta = {"name": name[-200:], "owner": owner_id, "source": source}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return token


def load(token: str, owner_id: int) -> Sample:
    """The sample behind ``token`` if this user uploaded it."""
    folder = _root() / token
    if not token.replace("-", "").replace("_", "").isalnum() or not (folder / "meta.json").exists():
        raise OperationFailed("UNKNOWN_SAMPLE", "this sample is gone (saved, or older than a day)",
                              hint="upload the file again")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("owner") != owner_id:
        raise OperationFailed("UNKNOWN_SAMPLE", "this sample was uploaded by someone else")
    return Sample(token, str(meta["name"]), (folder / "data").read_bytes(), meta.get("source"))


def discard(token: str) -> None:
    shutil.rmtree(_root() / token, ignore_errors=True)


def _prune() -> None:
    root = _root()
    if not root.exists():
        return
    cutoff = time.time() - KEEP_SECONDS
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def look(item: Sample, options: dict[str, Any] | None = None) -> Sniffed:
    """Format, encoding, delimiter, header and values of the sample (``options`` fix some)."""
    return sample.sniff(item.data, item.name, options)


def propose(found: Sniffed) -> guess.Proposal:
    return guess.propose(found.headers, found.values)


def preview(item: Sample, spec: dict[str, Any], *, name: str) -> sample.Preview:
    return sample.preview(item.data, spec, source=name, file_name=item.name)
