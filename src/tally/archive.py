"""The raw archive: every bill's bytes as received, write-once, content-addressed.

Each bill is stored once under ``blobs/ab/<sha256>`` and reachable by its standard name
``named/<source>/{kind}_{channel}_{yyyymmdd}_{seq}.{ext}`` (a hard link to the same bytes).
Files are written to a temporary name, fsynced, renamed into place and made read-only, so a
crash leaves either no file or the whole file.
"""

from __future__ import annotations

import hashlib
import os
from datetime import date
from pathlib import Path
from typing import BinaryIO

from tally.errors import OperationFailed


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def standard_name(category: str, channel: str, day: date, seq: int, ext: str) -> str:
    return f"{category}_{channel}_{day:%Y%m%d}_{seq:02d}.{ext}"


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = root

    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / digest[:2] / digest

    def named_path(self, source: str, name: str) -> Path:
        return self.root / "named" / source / name

    def put(self, data: bytes, source: str, name: str) -> str:
        """Store the bytes (once) and link them under their standard name; returns the SHA-256."""
        digest = sha256(data)
        blob = self.blob_path(digest)
        if not blob.exists():
            write_once(blob, data)
        self._link(blob, source, name)
        return digest

    def put_file(self, file: Path, source: str, name: str, digest: str) -> str:
        """Like :meth:`put` for a file of any size, copied in chunks; it must still hash to
        ``digest``, the hash it was imported under."""
        blob = self.blob_path(digest)
        if not blob.exists():
            copy_once(file, blob, digest)
        self._link(blob, source, name)
        return digest

    def _link(self, blob: Path, source: str, name: str) -> None:
        named = self.named_path(source, name)
        if not named.exists():
            named.parent.mkdir(parents=True, exist_ok=True)
            os.link(blob, named)

    def get(self, digest: str) -> bytes:
        """The bytes of a bill, verified against their hash."""
        data = self.blob_path(digest).read_bytes()
        if sha256(data) != digest:
            raise OSError(f"archive blob {digest} does not match its hash: the archive was altered")
        return data

    def open(self, digest: str) -> BinaryIO:
        """The bill's bytes as an open file, rewound after one pass that verified their hash.

        Read in chunks, so a bill of any size can be streamed (a download) in bounded memory;
        the caller closes the file.
        """
        handle = self.blob_path(digest).open("rb")
        try:
            hashed = hashlib.sha256()
            while chunk := handle.read(1 << 20):
                hashed.update(chunk)
            if hashed.hexdigest() != digest:
                raise OSError(f"archive blob {digest} does not match its hash: the archive was altered")
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return handle


def write_once(path: Path, data: bytes) -> None:
    """Write a whole file atomically and make it read-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.chmod(0o444)
    os.replace(tmp, path)


def copy_once(source: Path, path: Path, digest: str) -> None:
    """Copy a file atomically, read-only, checking on the way that it still hashes to ``digest``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    hashed = hashlib.sha256()
    try:
        with open(source, "rb") as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 20):
                hashed.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if hashed.hexdigest() != digest:
            raise OperationFailed("BILL_CHANGED", f"{source} changed while it was being imported",
                                  file=str(source), hint="import it again once it is complete")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.chmod(0o444)
    os.replace(tmp, path)
