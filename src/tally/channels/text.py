"""Turning raw bytes into text lines: gzip sniffing and declared or detected encodings."""

from __future__ import annotations

import gzip
import io
import zlib

from tally.errors import InputRejected

GZIP_MAGIC = b"\x1f\x8b"
# A bill larger than this once decompressed is refused: a few bytes must not become gigabytes.
MAX_UNPACKED_BYTES = 4 * 1024**3


def gunzip_if_needed(data: bytes, *, file: str = "") -> bytes:
    """The bytes themselves, or their decompressed content when they are gzip."""
    if not data.startswith(GZIP_MAGIC):
        return data
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
                if out.tell() > MAX_UNPACKED_BYTES:
                    raise InputRejected("ARCHIVE_TOO_LARGE", "gzip content is larger than 4 GiB", file=file)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputRejected("CORRUPT_GZIP", f"gzip data is damaged: {exc}", file=file,
                            hint="download the bill again") from exc
    return out.getvalue()


def decode(data: bytes, encodings: tuple[str, ...], *, file: str = "") -> str:
    """Text in the first encoding that decodes every byte; a BOM is dropped."""
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.removeprefix("\ufeff")
    raise InputRejected(
        "BAD_ENCODING",
        f"the file is not valid {' or '.join(encodings)} text",
        file=file,
        hint="check the source's `encoding` setting",
    )


def split_lines(text: str) -> list[str]:
    """Lines without their endings (LF or CRLF); a trailing newline makes no extra line.

    Only LF ends a line: str.splitlines would also split on U+2028 and friends inside a product
    name and shift every line number after it.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
