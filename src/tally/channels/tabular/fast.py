"""Delimited table files (csv, txt) read block by block and column-wise: the fast path of ``table``.

The bill is streamed in blocks of whole lines (channels.columnar), so its size does not matter.
The header is found in the first block by the row code's own rules (``readers.with_header``:
past title lines and ``skip_lines``). Each later stretch of lines is read with pyarrow and
converted by :class:`_Columns`, which mirrors ``TableMapping.record`` and raises
``columnar.Fallback`` the moment it is not sure; that block then goes through the row code
(``readers`` + ``TableMapping.record``), which stays the one source of what is accepted and of
every error (code, message, line, field). A block holding a ``"`` always goes row by row (the
csv module's quoting is the truth there); a quoted record that a block boundary cuts is carried
whole into the next block. The two paths give the same records and errors
(tests/channels/test_tabular_stream.py).

What this path does not stream, the row path reads whole as before: fixed-width files,
``encoding = "auto"``, encodings that do not keep LF a byte of its own, a header not within the
first block, and every file whose text does not decode (for the row path's exact error and line).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from itertools import chain
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tally.channels import ParseContext, columnar
from tally.channels.tabular import cells, detect, readers
from tally.channels.tabular.mapping import MONEY, NEGATIVE_KINDS, NO_CURRENCY, TEXT, TableMapping
from tally.errors import InputRejected
from tally.money import currency_code, exponent
from tally.records import RECORD_KINDS, SCHEMA, batched

# Encodings whose blocks of lines decode on their own, as the whole file decodes (no shift states,
# LF never part of a character).
STREAMED_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312", "ascii", "latin-1", "iso8859-1",
                                "cp1252"})
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # the one time format the vectorized path reads (columnar.local_times)
_DISTINCT_LIMIT = 4096  # business-day cells are read per distinct value; more than this goes row by row
_WHOLE_NUMBER = r"^[+-]?[0-9]+$"
_KINDS = pa.array(RECORD_KINDS, pa.string())
_DIRECTIONS = pa.array(["in", "out"], pa.string())

RowParse = Callable[[bytes, ParseContext], Iterator[pa.RecordBatch]]


def streams(options: Mapping[str, Any]) -> bool:
    """Whether a source's bills are read by this path (else the row path reads them whole)."""
    fmt = "jsonl" if options.get("kind") == "sql" else str(options.get("format", "csv"))
    if fmt not in ("csv", "txt") or options.get("widths"):
        return False
    if any(isinstance(spec, list | tuple) for spec in options.get("columns", {}).values()):
        return False  # fixed-width positions
    if not options.get("columns"):
        return False
    delimiter = options.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) > 1):
        return False
    encoding = str(options.get("encoding", "utf-8"))
    try:
        return codecs.lookup(encoding).name in STREAMED_ENCODINGS
    except LookupError:
        return False


def parse_stream(raw: columnar.BillBytes, ctx: ParseContext, row_parse: RowParse, *,
                 block_bytes: int = columnar.BLOCK_BYTES, vectorized: bool = True) -> Iterator[pa.RecordBatch]:
    """The bill's record batches; ``row_parse`` (TableChannel.parse) reads what this path does not."""
    if not streams(ctx.options):
        yield from row_parse(raw.read(), ctx)
        return
    python = readers.python_encoding(str(ctx.options.get("encoding", "utf-8")))
    encoding = "utf-8" if python == "utf-8-sig" else python
    reader = _Reader(raw, ctx, python, vectorized=vectorized)
    try:
        yield from columnar.stream(raw, (encoding,), reader.batches, file=ctx.file_name, block_bytes=block_bytes)
    except _Whole:
        yield from row_parse(raw.read(), ctx)
    except InputRejected as exc:
        if exc.code != "BAD_ENCODING":
            raise
        # The row path decodes line by line: its error may be an earlier row's, or name the line.
        for _ in row_parse(raw.read(), ctx):
            pass
        raise


class _Whole(Exception):
    """This bill is read whole by the row path (raised before any batch was given out)."""


class _Cut(Exception):
    """The lines ended inside a quoted field: the record starting at ``line`` goes on in the next block."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _text_lines(block: bytes) -> list[str]:
    """A block's lines as readers.text_lines gives them: split after each LF, the LF kept."""
    lines = block.decode("utf-8").split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def _records(lines: list[str], first: int, delimiter: str, *, file: str, last: bool
             ) -> Iterator[tuple[int, int, list[str]]]:
    """readers.delimited_cells over lines numbered from ``first``, as (first line, last line, cells)."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    start = first
    try:
        for row in reader:
            end = first - 1 + reader.line_num
            yield start, end, row
            start = end + 1
    except csv.Error as exc:
        if not last and str(exc) == "unexpected end of data":
            raise _Cut(start) from None
        raise InputRejected("BAD_CSV", str(exc), file=file, line=first - 1 + reader.line_num) from None


class _Reader:
    """One bill while its blocks go by: the header, then each block fast or row by row."""

    def __init__(self, raw: columnar.BillBytes, ctx: ParseContext, python_encoding: str, *, vectorized: bool) -> None:
        self.raw = raw
        self.ctx = ctx
        self.file = ctx.file_name
        self.python_encoding = python_encoding
        self.vectorized = vectorized
        self.mapping = TableMapping(ctx.options, ctx.source)
        self.wanted = self.mapping.headers()
        self.skip = int(ctx.options.get("skip_lines", 0))
        self.delimiter = ""
        self.header: list[str] = []
        self.columns: _Columns | None = None
        self.carry: list[str] = []  # lines of a quoted record the previous block cut
        self.carry_line = 0

    def batches(self, blocks: Iterable[bytes]) -> Iterator[pa.RecordBatch]:
        self.delimiter = str(self.ctx.options.get("delimiter") or detect.detect_delimiter(
            detect.sample_text(self._head(), self.python_encoding)))
        if len(self.delimiter) != 1:
            raise _Whole
        found = False
        blocks = iter(blocks)
        block = next(blocks, None)
        line_no = 1  # of the block's first line
        while block is not None:
            following = next(blocks, None)
            last = following is None
            data = block
            if not found:
                if self.python_encoding == "utf-8-sig":
                    data = data.removeprefix(b"\xef\xbb\xbf")  # text_lines drops one more after the codec's
                start = self._find_header(data, last)
                found = True
                line_no = start
                data = data[_offset(data, start - 1):]
            yield from self._block(data, line_no, last)
            line_no += data.count(b"\n")
            block = following
        if not found:  # no text at all
            for _ in readers.with_header(iter(()), self.wanted, file=self.file):
                pass

    def _head(self) -> bytes:
        """The first bytes of the text, as the row path samples them to detect the delimiter."""
        head = b""
        for chunk in columnar.unpacked(self.raw, self.file):
            head += chunk
            if len(head) >= detect.SAMPLE_BYTES:
                break
        return head

    def _find_header(self, block: bytes, last: bool) -> int:
        """The line the data starts on, after the header row of the first block (with_header's rules)."""
        seen: list[tuple[int, list[str]]] = []
        data_line = 0
        try:
            for start, end, row in _records(_text_lines(block), 1, self.delimiter, file=self.file, last=last):
                if start <= self.skip:
                    continue
                seen.append((start, row))
                names = [readers._label(cell) for cell in row]
                if all(name in names for name in self.wanted):
                    self.header, data_line = row, end + 1
                    break
                if start >= readers.HEADER_SCAN_ROWS:
                    break
        except _Cut:
            raise _Whole from None
        if not self.header and not last and (not seen or seen[-1][0] < readers.HEADER_SCAN_ROWS):
            raise _Whole  # the header may lie past the first block
        # The row code itself raises MISSING_COLUMN or DUPLICATE_COLUMN, with its words.
        for _ in readers.with_header(iter(seen), self.wanted, file=self.file):
            pass
        names = [readers._label(cell) for cell in self.header]
        if self.vectorized and self.delimiter.isascii() and self.delimiter not in "\"\r\n":
            self.columns = _Columns(self.mapping, self.ctx, len(names), {key: names.index(key) for key in self.wanted},
                                    self.delimiter)
        return data_line

    def _block(self, data: bytes, line_no: int, last: bool) -> Iterator[pa.RecordBatch]:
        if self.columns is not None and not self.carry and b'"' not in data:
            cut = data.rfind(b"\n") + 1
            if cut:
                try:
                    batch = self.columns.block(data[:cut], line_no)
                except columnar.Fallback:
                    pass
                else:
                    if batch.num_rows:
                        yield batch
                    line_no += data.count(b"\n", 0, cut)
                    data = data[cut:]
        if data or self.carry:
            yield from batched(self._rows(data, line_no, last))

    def _rows(self, data: bytes, line_no: int, last: bool) -> Iterator[dict[str, Any]]:
        """The row path over a block (after what the previous one cut): readers + TableMapping.record."""
        lines, first = _text_lines(data), line_no
        if self.carry:
            lines, first = self.carry + lines, self.carry_line
            self.carry = []
        records = ((start, row) for start, _, row in
                   _records(lines, first, self.delimiter, file=self.file, last=last))
        try:
            for line, row in readers.with_header(chain([(0, self.header)], records), self.wanted, file=self.file):
                if isinstance(row, InputRejected):
                    raise row
                yield self.mapping.record(row, self.ctx.bill_sha256, line, self.file)
        except _Cut as cut:
            self.carry, self.carry_line = lines[cut.line - first:], cut.line


def _offset(block: bytes, lines: int) -> int:
    """Where line ``lines + 1`` of the block starts."""
    at = 0
    for _ in range(lines):
        at = block.find(b"\n", at) + 1
        if not at:  # the header is the last line, without its LF
            return len(block)
    return at


class _Columns:
    """TableMapping.record over a block of unquoted lines, column-wise, or Fallback."""

    def __init__(self, mapping: TableMapping, ctx: ParseContext, width: int, used: dict[str, int],
                 delimiter: str) -> None:
        self.m = mapping
        self.ctx = ctx
        self.width = width
        self.used = used
        self.delimiter = delimiter
        self.maps = {name: (pa.array(list(values), pa.string()),
                            pa.array([str(v).strip() or None for v in values.values()], pa.string()))
                     for name, values in mapping.values.items() if values}
        self.time_ok = mapping.time_format in (None, TIME_FORMAT)

    def block(self, data: bytes, line_no: int) -> pa.RecordBatch:
        m = self.m
        raw = columnar.read_block(data, self.width, self.used, delimiter=self.delimiter)
        trimmed = {key: columnar.cells(column) for key, column in raw.items()}
        count = len(next(iter(raw.values())))
        blank = {key: pc.equal(column, "") for key, column in trimmed.items()}
        if _any(_all_of(list(blank.values()))):
            raise columnar.Fallback  # a blank row is skipped by the row code; one blank in the used cells may be
        if m.unit not in ("major", "minor"):
            raise columnar.Fallback

        def text(name: str) -> pa.Array | None:
            key = m.columns.get(name)
            if key is None:
                return None
            value = columnar.null_if_empty(trimmed[key])
            if name in self.maps:
                keys, mapped = self.maps[name]
                index = pc.index_in(value, value_set=keys)
                if index.null_count != value.null_count:
                    raise columnar.Fallback  # a value without an entry: BAD_VALUE, row by row
                value = pc.take(mapped, index)
            return value

        nothing = pa.nulls(count, pa.string())
        kind = text("record_kind")
        kind = pa.repeat(m.default_kind, count) if kind is None else pc.coalesce(kind, m.default_kind)
        if not _all(pc.is_in(kind, value_set=_KINDS)):
            raise columnar.Fallback
        currency, digits = self._currency(text("currency"), count)
        arrays: dict[str, pa.Array] = {name: nothing if (value := text(name)) is None else value for name in TEXT}
        for name in MONEY:
            arrays[name] = self._money(name, raw, trimmed, blank, digits if m.unit == "major" else 0, count)
        arrays["amount_minor"] = self._signed(arrays["amount_minor"], kind, text)
        arrays["quantity"] = self._quantity(trimmed, blank, count)
        occurred_at, local_day = self._times(trimmed, blank, count)
        arrays |= {
            "source": pa.repeat(m.source, count),
            "record_kind": kind,
            "currency": currency,
            "occurred_at": occurred_at,
            "business_day": self._business_day(trimmed, blank, local_day),
            "bill_sha256": pa.repeat(self.ctx.bill_sha256, count),
            "line_no": columnar.line_numbers(line_no, count),
        }
        return pa.RecordBatch.from_arrays([arrays[name].cast(field.type) for name, field in
                                           zip(SCHEMA.names, SCHEMA, strict=True)], schema=SCHEMA)

    def _currency(self, given: pa.Array | None, count: int) -> tuple[pa.Array, int]:
        m = self.m
        default = m.currency or (None if m.money else NO_CURRENCY)
        if given is None:
            if not default:
                raise columnar.Fallback  # MISSING_CURRENCY
            given = pa.repeat(str(default), count)
        elif default:
            given = pc.coalesce(given, str(default))
        if given.null_count:
            raise columnar.Fallback
        distinct = pc.unique(given).to_pylist()
        if len(distinct) > _DISTINCT_LIMIT:
            raise columnar.Fallback
        try:
            codes = [currency_code(code) for code in distinct]
        except InputRejected:
            raise columnar.Fallback from None
        digits = {exponent(code) for code in codes}
        if len(digits) > 1:
            raise columnar.Fallback  # one scale per block
        currency = pc.take(pa.array(codes, pa.string()), pc.index_in(given, value_set=pa.array(distinct, pa.string())))
        return currency, digits.pop() if digits else 2

    def _money(self, name: str, raw: dict[str, pa.Array], trimmed: dict[str, pa.Array],
               blank: dict[str, pa.Array], digits: int, count: int) -> pa.Array:
        key = self.m.columns.get(name)
        if key is None:
            return pa.repeat(pa.scalar(0, pa.int64()), count)
        if name == "amount_minor" and _any(blank[key]):
            raise columnar.Fallback  # an empty amount is BAD_AMOUNT
        value = trimmed[key]
        if self.m.thousands:
            value = columnar.cells(pc.replace_substring(raw[key], str(self.m.thousands), ""))
            if _any(pc.and_(pc.equal(value, ""), pc.invert(blank[key]))):
                raise columnar.Fallback
        return columnar.minor_units(value, digits)  # "" (a blank fee or discount) is 0

    def _signed(self, amount: pa.Array, kind: pa.Array, text: Callable[[str], pa.Array | None]) -> pa.Array:
        sign = self.m.sign
        if sign == "as_is":
            return amount
        if sign == "direction":
            direction = text("direction")
            if direction is None or not _all(pc.is_in(direction, value_set=_DIRECTIONS)):
                raise columnar.Fallback
            return pc.if_else(pc.equal(direction, "in"), pc.abs(amount), pc.negate(pc.abs(amount)))
        negative = pc.is_in(kind, value_set=pa.array(sorted(NEGATIVE_KINDS), pa.string()))
        return pc.if_else(negative, pc.negate(pc.abs(amount)),
                          pc.if_else(pc.equal(kind, "payment"), pc.abs(amount), amount))

    def _quantity(self, trimmed: dict[str, pa.Array], blank: dict[str, pa.Array], count: int) -> pa.Array:
        key = self.m.columns.get("quantity")
        if key is None:
            return pa.nulls(count, pa.int64())
        value = trimmed[key]
        filled = pc.if_else(blank[key], "0", value)
        columnar.check_all(filled, _WHOLE_NUMBER)
        return pc.if_else(blank[key], pa.scalar(None, pa.int64()), columnar.minor_units(filled, 0))

    def _times(self, trimmed: dict[str, pa.Array], blank: dict[str, pa.Array], count: int
               ) -> tuple[pa.Array, pa.Array | None]:
        key = self.m.columns.get("occurred_at")
        if key is None or (count and _all(blank[key])):
            return pa.nulls(count, pa.timestamp("us", tz="UTC")), None
        if not self.time_ok or _any(blank[key]):
            raise columnar.Fallback
        value = trimmed[key]
        if self.m.time_format is None:  # datetime.fromisoformat(text.replace("/", "-"))
            value = pc.replace_substring(value, "/", "-")
        return columnar.local_times(value, self.m.tz.key, TIME_FORMAT)

    def _business_day(self, trimmed: dict[str, pa.Array], blank: dict[str, pa.Array],
                      local_day: pa.Array | None) -> pa.Array:
        key = self.m.columns.get("business_day")
        if key is None:
            if local_day is None:
                raise columnar.Fallback  # MISSING_VALUE, row by row
            return local_day
        if _any(blank[key]):
            raise columnar.Fallback
        value = trimmed[key]
        distinct = pc.unique(value)
        if len(distinct) > _DISTINCT_LIMIT:
            raise columnar.Fallback
        try:
            days: list[date] = [cells.day(text, self.m.date_format) for text in distinct.to_pylist()]
        except InputRejected:
            raise columnar.Fallback from None
        return pc.take(pa.array(days, pa.date32()), pc.index_in(value, value_set=distinct))


def _all_of(masks: list[pa.Array]) -> pa.Array:
    out = masks[0]
    for mask in masks[1:]:
        out = pc.and_(out, mask)
    return out


def _any(mask: pa.Array) -> bool:
    return len(mask) > 0 and bool(pc.any(mask).as_py())


def _all(mask: pa.Array) -> bool:
    return len(mask) == 0 or bool(pc.all(pc.fill_null(mask, False)).as_py())
