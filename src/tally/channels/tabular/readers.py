"""Rows of a table file, one at a time: ``(line, row)`` where row is a dict of its fields.

Every reader streams: text is decoded line by line, spreadsheets through calamine's row
iterator, JSON arrays through ijson, so a bill of any length is read in bounded memory beyond
its bytes. A row that is broken on its own (wrong number of cells) comes out as an
``InputRejected`` in place of its dict, so a preview can list it and go on; a problem with the
whole file (encoding, no header) is raised.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from tally.errors import InputRejected

Row = tuple[int, dict[str, Any] | InputRejected]
HEADER_SCAN_ROWS = 50


def python_encoding(encoding: str) -> str:
    """Python's codec for a declared encoding; UTF-8 always tolerates a BOM."""
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


def text_lines(data: bytes, encoding: str, *, file: str) -> Iterator[str]:
    """Decoded lines, each with its ``\\n``; only LF ends a line (as tally.channels.text counts)."""
    decoder = codecs.getincrementaldecoder(python_encoding(encoding))()
    pending = ""
    line = 1
    for chunk in io.BytesIO(data):
        try:
            piece = decoder.decode(chunk)
        except UnicodeDecodeError:
            raise _bad_encoding(encoding, file, line) from None
        if line == 1 and not pending:
            piece = piece.removeprefix("\ufeff")
        pending += piece
        while (end := pending.find("\n")) >= 0:
            yield pending[: end + 1]
            pending = pending[end + 1:]
            line += 1
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _bad_encoding(encoding, file, line) from None
    if pending:
        yield pending


def _bad_encoding(encoding: str, file: str, line: int) -> InputRejected:
    return InputRejected("BAD_ENCODING", f"the file is not valid {encoding} text", file=file, line=line,
                         hint="check the source's `encoding` setting, or set encoding = \"auto\"")


def delimited_cells(lines: Iterable[str], delimiter: str, *, file: str) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the line each starts on (a quoted field may span lines)."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputRejected("BAD_CSV", str(exc), file=file, line=reader.line_num) from None


def fixed_cells(lines: Iterable[str], cuts: Sequence[tuple[int, int]], *, encoding: str | None
                ) -> Iterator[tuple[int, list[str]]]:
    """Fixed-width records: each line cut at ``cuts`` (0-based, end exclusive), in characters,
    or in bytes of ``encoding`` when one is given (a GB18030 export aligned for a terminal)."""
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if encoding is None:
            yield number, [line[a:b] for a, b in cuts]
        else:
            data = line.encode(encoding)
            yield number, [data[a:b].decode(encoding, errors="replace") for a, b in cuts]


def widths_to_cuts(widths: Sequence[int]) -> list[tuple[int, int]]:
    cuts, at = [], 0
    for width in widths:
        cuts.append((at, at + width))
        at += width
    return cuts


def with_header(records: Iterable[tuple[int, Sequence[Any]]], wanted: Sequence[str], *, file: str,
                strict_width: bool = True) -> Iterator[Row]:
    """Data rows as dicts under the first row (of the first 50) that holds every ``wanted`` name.

    Title lines above the header (a report name, an export time) are skipped; blank rows are too.
    """
    header: list[str] | None = None
    best: tuple[int, list[str]] = (-1, [])
    for line, cells in records:
        if header is None:
            names = [_label(cell) for cell in cells]
            found = sum(name in names for name in wanted)
            if wanted and found == len(wanted):
                header = names
                twice = [name for name in wanted if names.count(name) > 1]
                if twice:
                    raise InputRejected("DUPLICATE_COLUMN", f"the header names {twice[0]!r} twice", file=file,
                                        line=line, field=twice[0])
            elif found > best[0]:
                best = (found, names)
            if header is None and line >= HEADER_SCAN_ROWS:
                break
            continue
        if not any(_label(cell) for cell in cells):
            continue
        if strict_width and len(cells) != len(header):
            yield line, InputRejected("COLUMN_COUNT", f"row has {len(cells)} cells, the header has {len(header)}",
                                      file=file, line=line)
            continue
        yield line, dict(zip(header, cells, strict=False))
    if header is None:
        missing = [name for name in wanted if name not in best[1]]
        raise InputRejected("MISSING_COLUMN", f"no header row with the mapped columns; missing: {', '.join(missing)}",
                            file=file, line=1, hint="check the column mapping against the file's header")


def positional(records: Iterable[tuple[int, Sequence[str]]], keys: Sequence[str], skip_lines: int) -> Iterator[Row]:
    """Fixed-width rows without a header: fields by position, after ``skip_lines`` lines."""
    for line, cells in records:
        if line <= skip_lines or not any(cell.strip() for cell in cells):
            continue
        yield line, dict(zip(keys, cells, strict=True))


def _label(cell: Any) -> str:
    return "" if cell is None else str(cell).strip().removeprefix("\ufeff")


def jsonl_rows(lines: Iterable[str], wanted: Sequence[str], *, file: str) -> Iterator[Row]:
    for line, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            yield line, InputRejected("BAD_JSON", f"not a JSON object: {exc.msg}", file=file, line=line)
            continue
        yield line, _object(row, wanted, file, line)


def json_rows(data: bytes, records_path: str | None, wanted: Sequence[str], *, file: str) -> Iterator[Row]:
    """Objects of a JSON array (the whole document, or the array at ``records_path``, e.g.
    ``data.items``); a record's line is its position in the array, 1 for the first."""
    import ijson

    prefix = f"{records_path}.item" if records_path else "item"
    number = 0
    try:
        for number, row in enumerate(ijson.items(io.BytesIO(data), prefix), start=1):
            yield number, _object(row, wanted, file, number)
    except ijson.JSONError as exc:
        raise InputRejected("BAD_JSON", f"not valid JSON after record {number}: {exc}", file=file,
                            line=number + 1) from None
    if number == 0 and not _is_empty_array(data, prefix):
        where = f"at {records_path!r}" if records_path else "at the top level"
        raise InputRejected("BAD_JSON", f"no array of records {where}", file=file,
                            hint="set `records_path` to where the records are, e.g. \"data.items\"")


def _is_empty_array(data: bytes, prefix: str) -> bool:
    import ijson

    array = prefix.removesuffix(".item") if prefix != "item" else ""
    try:
        return any(path == array and event == "start_array" for path, event, _ in ijson.parse(io.BytesIO(data)))
    except ijson.JSONError:
        return False


def _object(row: Any, wanted: Sequence[str], file: str, line: int) -> dict[str, Any] | InputRejected:
    if not isinstance(row, dict):
        return InputRejected("BAD_JSON", "each record must be a JSON object", file=file, line=line)
    missing = [name for name in wanted if name not in row]
    if missing:
        return InputRejected("MISSING_COLUMN", f"no {', '.join(missing)} in this object", file=file, line=line,
                             field=missing[0])
    return row
