"""Any CSV, TXT, Excel, JSON or JSON Lines file read through a column mapping (source kind ``table``).

Finance staff describe a file instead of writing a parser: its format and encoding, which field
holds which normalized column, value maps, units, sign convention, time zone
(docs/channels/table.md). The ``sql`` kind reuses the same mapping: its fetcher snapshots the
query result as JSON Lines, and that snapshot is the bill.

- ``readers``/``sheets``: the rows of each format, streamed; ``detect``: encoding, delimiter,
  header; ``mapping``: a row to a normalized record; ``cells``: typed cell values;
  ``guess``: a proposed mapping from headers; ``sample``: preview of a file under a mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from tally.channels import ParseContext
from tally.channels.columnar import BillBytes
from tally.channels.tabular import detect, fast, readers, sheets
from tally.channels.tabular.mapping import TableMapping, field_key
from tally.channels.text import gunzip_if_needed
from tally.errors import InputRejected
from tally.records import batched

__all__ = ["CHANNEL", "TableChannel", "TableMapping", "mapping_for", "rows"]

TEXT_FORMATS = ("csv", "txt")


def file_format(options: Mapping[str, Any]) -> str:
    return "jsonl" if options.get("kind") == "sql" else str(options.get("format", "csv"))


def encoding_of(data: bytes, options: Mapping[str, Any], *, file: str) -> str:
    encoding = str(options.get("encoding", "utf-8"))
    return detect.detect_encoding(data, file=file) if encoding.lower() == "auto" else encoding


def positions(options: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Fixed-width columns given as ``[start, end]`` (1-based, inclusive), by row key."""
    found = {}
    for spec in options.get("columns", {}).values():
        if isinstance(spec, list | tuple):
            found[field_key(spec)] = (int(spec[0]) - 1, int(spec[1]))
    return found


def mapping_for(options: Mapping[str, Any], source: str) -> TableMapping:
    return TableMapping(options, source, floats=file_format(options) in ("xlsx", "xls"))


def rows(data: bytes, options: Mapping[str, Any], wanted: list[str], *, file: str) -> Iterator[readers.Row]:
    """The file's rows as ``(line, dict | InputRejected)``, keyed by header (or position)."""
    fmt = file_format(options)
    skip = int(options.get("skip_lines", 0))
    if fmt in ("xlsx", "xls"):
        records = ((n, c) for n, c in sheets.sheet_rows(data, options.get("sheet"), file=file) if n > skip)
        return readers.with_header(records, wanted, file=file, strict_width=False)
    raw = gunzip_if_needed(data, file=file)
    encoding = encoding_of(raw, options, file=file)
    if fmt == "json":
        if readers.python_encoding(encoding) != "utf-8-sig":
            raw = raw.decode(readers.python_encoding(encoding)).encode()  # JSON is UTF-8 (RFC 8259)
        return readers.json_rows(raw.removeprefix(b"\xef\xbb\xbf"), options.get("records_path"), wanted, file=file)
    lines = readers.text_lines(raw, encoding, file=file)
    if fmt == "jsonl":
        return readers.jsonl_rows(lines, wanted, file=file)
    if fmt not in TEXT_FORMATS:
        raise InputRejected("UNSUPPORTED_FORMAT", f"format {fmt!r} is not a table format", file=file,
                            hint=f"use one of {', '.join(detect.FORMATS)}")
    if fixed := positions(options):
        cuts = readers.fixed_cells(lines, list(fixed.values()), encoding=_byte_encoding(options, encoding))
        return readers.positional(cuts, list(fixed), skip)
    if widths := options.get("widths"):
        cuts = readers.fixed_cells(lines, readers.widths_to_cuts(widths), encoding=_byte_encoding(options, encoding))
        return readers.with_header(((n, c) for n, c in cuts if n > skip), wanted, file=file, strict_width=False)
    delimiter = options.get("delimiter") or detect.detect_delimiter(
        detect.sample_text(raw, readers.python_encoding(encoding)))
    cells = readers.delimited_cells(lines, str(delimiter), file=file)
    return readers.with_header(((n, c) for n, c in cells if n > skip), wanted, file=file)


def _byte_encoding(options: Mapping[str, Any], encoding: str) -> str | None:
    return readers.python_encoding(encoding).removesuffix("-sig") if options.get("width_unit") == "bytes" else None


class TableChannel:
    category = "data"

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        return file_format(ctx.options)

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        """Raw lines as records number them: text lines; a sheet's rows; a JSON array's records."""
        fmt, file = file_format(ctx.options), ctx.file_name
        if fmt in ("xlsx", "xls"):
            return [sheets.row_text(cells) for _, cells in sheets.sheet_rows(data, ctx.options.get("sheet"),
                                                                                file=file)]
        if fmt == "json":
            return [json.dumps(row, ensure_ascii=False, default=str) if isinstance(row, dict) else row.message
                    for _, row in rows(data, ctx.options, [], file=file)]
        raw = gunzip_if_needed(data, file=file)
        return [line.removesuffix("\n").removesuffix("\r")
                for line in readers.text_lines(raw, encoding_of(raw, ctx.options, file=file), file=file)]

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        mapping = mapping_for(ctx.options, ctx.source)
        return batched(self._records(data, ctx, mapping))

    def parse_stream(self, raw: BillBytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        """Like parse, from bytes in memory or a file: delimited text block by block (tabular.fast)."""
        return fast.parse_stream(raw, ctx, self.parse)

    @staticmethod
    def _records(data: bytes, ctx: ParseContext, mapping: TableMapping) -> Iterator[dict[str, Any]]:
        for line, row in rows(data, ctx.options, mapping.headers(), file=ctx.file_name):
            if isinstance(row, InputRejected):
                raise row
            yield mapping.record(row, ctx.bill_sha256, line, ctx.file_name)


CHANNEL = TableChannel()
