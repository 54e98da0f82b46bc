"""What a table file looks like before anyone described it: format, encoding, delimiter, header.

Used twice: at parse time for the settings a source leaves open (``encoding = "auto"``, no
``delimiter``), and by the back office to propose a mapping for an uploaded sample.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tally.errors import InputRejected

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", "\t", ";", "|")
FORMATS = ("csv", "txt", "xlsx", "xls", "json", "jsonl")
_EXTENSIONS = {"csv": "csv", "txt": "txt", "tsv": "txt", "dat": "txt", "xlsx": "xlsx", "xlsm": "xlsx",
               "xls": "xls", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl"}
# The Chinese national encodings; GB18030 reads every one of them.
_GB = ("gb2312", "gbk", "hz", "gb18030")
_NUMBERISH = re.compile(r"[\s+\-.,:/0-9%¥$€£()]*")


def guess_format(data: bytes, file_name: str = "") -> str:
    """The format by the file's name, else by its first bytes."""
    ext = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    head = data[:SAMPLE_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        return "jsonl" if b"}\n{" in head.replace(b"\r\n", b"\n") or head.count(b"\n") > 1 else "json"
    return "csv"


def detect_encoding(data: bytes, *, file: str = "") -> str:
    """UTF-8 when the bytes are UTF-8 (with or without BOM), else charset-normalizer's best guess."""
    sample = data[:SAMPLE_BYTES]
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) == len(data))
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    if not matches:
        raise InputRejected("BAD_ENCODING", "cannot tell the file's encoding", file=file,
                            hint="declare `encoding` (e.g. utf-8 or gb18030)")
    names = [codecs.lookup(match.encoding).name for match in matches]
    # Bills here are mostly Chinese: when GB18030 is one of the plausible readings of a short
    # sample, it wins over look-alikes such as Big5 or CP949.
    if any(name in _GB for name in names):
        return "gb18030"
    return names[0]


def sample_text(data: bytes, encoding: str) -> str:
    """The first 64 KiB decoded (a character cut at the end is dropped)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(data[:SAMPLE_BYTES], final=False).removeprefix("\ufeff")


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the most lines into the same number (≥ 2) of fields.

    Title lines above the header hold no delimiter, so they do not vote.
    """
    lines = text.splitlines()[:-1] or text.splitlines()
    best, best_score = ",", 0
    for delimiter in DELIMITERS:
        counts = Counter(len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
                         if len(row) > 1)
        if counts:
            width, lines_of_width = counts.most_common(1)[0]
            score = lines_of_width * 1000 + width
            if score > best_score:
                best, best_score = delimiter, score
    return best


def header_index(rows: list[list[Any]]) -> int | None:
    """Index of the likely header among the first rows: the first of the widest rows whose
    cells are all labels (not numbers or dates), else the first widest row."""
    widths = [sum(1 for cell in row if str(cell).strip()) for row in rows]
    if not widths or max(widths) < 1:
        return None
    widest = max(widths)
    candidates = [i for i, width in enumerate(widths) if width >= max(2, widest * 0.8) or width == widest]
    for i in candidates:
        if all(not _NUMBERISH.fullmatch(str(cell).strip()) for cell in rows[i] if str(cell).strip()):
            return i
    return candidates[0]


@dataclass
class Sniffed:
    """What the back office shows and proposes a mapping from."""

    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    header_line: int | None = None
    headers: list[str] = field(default_factory=list)
    # Up to a few distinct values per header, from the first rows (for value maps).
    values: dict[str, list[str]] = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        """The file settings of a source declaration that reads this file."""
        found: dict[str, Any] = {"format": self.format}
        if self.encoding:
            found["encoding"] = self.encoding
        if self.delimiter:
            found["delimiter"] = self.delimiter
        if self.sheet is not None:
            found["sheet"] = self.sheet
        return found


def distinct_values(rows: list[dict[str, Any]], limit: int = 30) -> dict[str, list[str]]:
    seen: dict[str, dict[str, None]] = {}
    for row in rows:
        for key, value in row.items():
            text = "" if value is None else str(value).strip()
            bucket = seen.setdefault(str(key), {})
            if text and len(bucket) < limit:
                bucket[text] = None
    return {key: list(bucket) for key, bucket in seen.items()}
