"""A sample file looked at before it has a source: what it is, and what a mapping makes of it.

``sniff`` finds the format, encoding, delimiter, header row and headers of a file nobody has
described yet; ``preview`` runs a mapping over the whole file and collects every row error
instead of stopping at the first, so finance staff see all that is wrong at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from tally.channels.tabular import (
    detect,
    encoding_of,
    gunzip_if_needed,
    mapping_for,
    readers,
    rows,
    sheets,
)
from tally.errors import InputRejected, TallyError

SCAN_ROWS = readers.HEADER_SCAN_ROWS
VALUE_ROWS = 500
MAX_ERRORS = 1000


def sniff(data: bytes, file_name: str, options: Mapping[str, Any] | None = None) -> detect.Sniffed:
    """The file settings and headers of a sample; ``options`` fixes any of them (format, encoding,
    delimiter, sheet, widths, records_path)."""
    given = dict(options or {})
    fmt = str(given.get("format") or detect.guess_format(data, file_name))
    found = detect.Sniffed(format=fmt)
    if fmt in ("xlsx", "xls"):
        found.sheets = sheets.sheet_names(data, file=file_name)
        sheet = given.get("sheet")
        found.sheet = found.sheets[sheet] if isinstance(sheet, int) and sheet < len(found.sheets) else (
            sheet if sheet in found.sheets else (found.sheets[0] if found.sheets else None))
        table = [cells for _, cells in islice(sheets.sheet_rows(data, found.sheet, file=file_name), SCAN_ROWS)]
        _header(found, table, file_name, data, {**given, "format": fmt})
        return found
    raw = gunzip_if_needed(data, file=file_name)
    found.encoding = encoding_of(raw, {"encoding": given.get("encoding") or "auto"}, file=file_name)
    if fmt in ("json", "jsonl"):
        spec = {**given, "format": fmt, "encoding": found.encoding}
        objects = [row for _, row in islice(rows(data, spec, [], file=file_name), VALUE_ROWS)
                   if isinstance(row, dict)]
        found.headers = list(dict.fromkeys(str(key) for row in objects for key in row))
        found.values = detect.distinct_values([{k: _plain(v) for k, v in row.items()} for row in objects])
        return found
    lines = readers.text_lines(raw, found.encoding, file=file_name)
    if widths := given.get("widths"):
        cut = readers.fixed_cells(lines, readers.widths_to_cuts(widths), encoding=None)
        table = [cells for _, cells in islice(cut, SCAN_ROWS)]
    else:
        text = detect.sample_text(raw, readers.python_encoding(found.encoding))
        found.delimiter = str(given.get("delimiter") or detect.detect_delimiter(text))
        table = [cells for _, cells in islice(readers.delimited_cells(lines, found.delimiter, file=file_name),
                                              SCAN_ROWS)]
    _header(found, table, file_name, data, {**given, "format": fmt, "encoding": found.encoding,
                                            "delimiter": found.delimiter})
    return found


def _header(found: detect.Sniffed, table: list[list[Any]], file_name: str, data: bytes,
            spec: Mapping[str, Any]) -> None:
    index = detect.header_index(table)
    if index is None:
        raise InputRejected("EMPTY_FILE", "the file has no rows", file=file_name)
    found.header_line = index + 1
    found.headers = [h for h in (str(cell).strip().removeprefix("\ufeff") for cell in table[index]) if h]
    wanted = [h for h in dict.fromkeys(found.headers) if found.headers.count(h) == 1]
    spec = {**spec, "sheet": found.sheet} if found.sheet is not None else spec
    sample = []
    try:
        for _, row in islice(rows(data, spec, wanted, file=file_name), VALUE_ROWS):
            if isinstance(row, dict):
                sample.append({k: _plain(v) for k, v in row.items()})
    except TallyError:
        pass  # values are only hints for the value maps; the preview reports what is wrong
    found.values = detect.distinct_values(sample)


def _plain(value: Any) -> str:
    from tally.channels.tabular import cells

    return cells.text(value) or "" if not isinstance(value, dict | list) else json.dumps(value, default=str)


@dataclass
class Preview:
    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[TallyError] = field(default_factory=list)
    error_count: int = 0
    rows: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0 and self.rows > 0


def preview(data: bytes, options: Mapping[str, Any], *, source: str = "preview", file_name: str = "sample",
            limit: int = 20) -> Preview:
    """The first ``limit`` normalized records and every row error (the first 1000 in detail)."""
    result = Preview()
    mapping = mapping_for(options, source)

    def failed(exc: TallyError) -> None:
        result.error_count += 1
        if len(result.errors) < MAX_ERRORS:
            result.errors.append(exc)

    try:
        for line, row in rows(data, {**options}, mapping.headers(), file=file_name):
            result.rows += 1
            if isinstance(row, InputRejected):
                failed(row)
                continue
            try:
                record = mapping.record(row, "", line, file_name)
            except TallyError as exc:
                failed(exc)
                continue
            if len(result.records) < limit:
                result.records.append(record)
    except TallyError as exc:  # the whole file: encoding, header, a broken spreadsheet
        failed(exc)
    if result.rows == 0 and result.error_count == 0:
        failed(InputRejected("EMPTY_FILE", "the file has a header but no records", file=file_name))
    return result


__all__ = ["Preview", "preview", "sniff"]
