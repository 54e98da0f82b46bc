"""Evidence files on a break: size-limited, type checked from the bytes, stored by SHA-256.

Files go to ``TALLY_HOME/evidence/ab/abcdef…`` (written to a temp name, then renamed); the same
bytes attached twice are stored once. The type is decided from the content and the file name,
not from what the browser claims: a claim that disagrees with the bytes is refused. Allowed:
PDF, PNG, JPEG, GIF, WebP, xlsx, CSV and plain text, up to ``TALLY_EVIDENCE_MAX_BYTES``
(default 10 MiB).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction

from tally.breaks.models import Attachment, Break
from tally.errors import InputRejected, NotFound
from tally.services import access, audit
from tally.services.access import User

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT_TYPES = {".csv": "text/csv", ".txt": "text/plain"}
# Claims browsers make for any file: they say nothing, so they never contradict the bytes.
VAGUE = {"", "application/octet-stream", "binary/octet-stream", "application/x-download"}


def max_bytes() -> int:
    return int(getattr(settings, "TALLY_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


def sniff(name: str, head: bytes) -> str | None:
    """The content type of a file from its first bytes and name, or None when not allowed."""
    suffix = Path(name).suffix.lower()
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04") and suffix == ".xlsx":
        return XLSX
    if suffix in TEXT_TYPES and b"\x00" not in head:
        for encoding in ("utf-8", "gb18030"):
            try:
                head.decode(encoding)
            except UnicodeDecodeError as exc:
                if exc.start >= len(head) - 4:  # a character cut at the end of the sample
                    return TEXT_TYPES[suffix]
                continue
            return TEXT_TYPES[suffix]
    return None


def _agrees(claimed: str, found: str) -> bool:
    claimed = claimed.split(";", maxsplit=1)[0].strip().lower()
    if claimed in VAGUE or claimed == found:
        return True
    # Spreadsheets and CSV travel under several names.
    return found == "text/csv" and claimed in ("application/vnd.ms-excel", "text/plain", "application/csv")


def path_of(sha256: str) -> Path:
    return Path(settings.TALLY_HOME) / "evidence" / sha256[:2] / sha256


def _store(source: IO[bytes], limit: int) -> tuple[str, int, bytes]:
    folder = Path(settings.TALLY_HOME) / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise InputRejected("EVIDENCE_TOO_LARGE", f"the file is larger than {limit} bytes",
                                        hint="attach a smaller file (TALLY_EVIDENCE_MAX_BYTES)")
                if len(head) < 4096:
                    head += chunk[: 4096 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        final = path_of(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        return sha, size, head
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def attach(brk: Break | int, by: User, name: str, data: IO[bytes] | bytes, content_type: str = "") -> Attachment:
    """Store ``data`` as evidence on the break; EVIDENCE_TOO_LARGE / EVIDENCE_TYPE when refused."""
    access.require(by, access.ACT, access.APPROVE)
    target = access.get_break(by, brk.pk if isinstance(brk, Break) else brk)
    name = Path(name or "evidence").name[:255]
    if isinstance(data, bytes | bytearray):
        import io

        data = io.BytesIO(bytes(data))
    sha, size, head = _store(data, max_bytes())
    found = sniff(name, head)
    if size == 0 or found is None or not _agrees(content_type, found):
        _forget(sha)
        raise InputRejected("EVIDENCE_TYPE", f"{name} is not an allowed evidence file"
                            + (f" (it claims {content_type})" if content_type and found else ""),
                            hint="attach PDF, PNG, JPEG, GIF, WebP, xlsx, CSV or text", field="file")
    with transaction.atomic():
        row = Attachment.objects.create(brk=target, name=name, content_type=found, size=size, sha256=sha,
                                        uploaded_by=by)
        audit.record(by, target, "attach", None, {"attachment": row.pk, "name": name, "sha256": sha, "size": size,
                                                  "content_type": found})
    return row


def _forget(sha: str) -> None:
    if not Attachment.objects.filter(sha256=sha).exists():
        path_of(sha).unlink(missing_ok=True)


def open_attachment(by: User, pk: int) -> tuple[Attachment, Path]:
    """An attachment ``by`` may see, with the path of its bytes."""
    row = Attachment.objects.select_related("brk").filter(pk=pk).first()
    if row is None or not access.breaks(by).filter(pk=row.brk_id).exists():
        raise NotFound("UNKNOWN_ATTACHMENT", f"there is no attachment {pk} you may see")
    return row, path_of(row.sha256)
