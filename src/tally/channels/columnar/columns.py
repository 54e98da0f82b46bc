"""A block of delimited lines as Arrow columns, converted exactly or not at all (Fallback).

Every helper raises :class:`Fallback` the moment it is not sure it gives what the row-by-row code
gives; the channel then reads that block row by row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

# Exactly the characters str.strip() removes (str.isspace); a test pins this to Python's own.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
              "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# Formats the vectorized time path reads, each with the only spelling it accepts (zero-padded,
# fields in range). The date part is the first 10 characters of each spelling.
_TIME_SPELLING = {
    "%Y-%m-%d %H:%M:%S":
        r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
}
# Years where pyarrow's and zoneinfo's readings of the zone files surely agree: past 2037 zoneinfo
# follows the file's rule string, which pyarrow's time zone library may not.
_ZONE_YEARS = (1970, 2037)
_MAX_PRECISION = 18  # decimal128(18, s) fits int64, which the record schema holds


class Fallback(Exception):
    """The vectorized path is not sure about this block; read it row by row."""


def read_block(block: bytes, columns: int, wanted: Mapping[str, int], *, delimiter: str = ",") -> dict[str, pa.Array]:
    """The ``wanted`` columns (name -> 0-based index) of a block of unquoted delimited lines.

    Raises Fallback where pyarrow would not see exactly one row of ``columns`` cells per LF-ended
    line: a blank line, a CR not before LF, a BOM (pyarrow would drop it), a wrong cell count.
    """
    if columns < 2 or not block or block.startswith((b"\xef\xbb\xbf", b"\n", b"\r\n")) \
            or b"\n\n" in block or not block.endswith(b"\n"):
        raise Fallback
    if b"\r" in block and (block.count(b"\r") != block.count(b"\r\n") or b"\n\r\n" in block):
        raise Fallback
    names = [f"c{i}" for i in range(columns)]
    keep = {f"c{index}": name for name, index in wanted.items()}
    try:
        table = pcsv.read_csv(
            pa.py_buffer(block),
            read_options=pcsv.ReadOptions(column_names=names, block_size=4 << 20),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, quote_char=False, escape_char=False,
                                            newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(keep, pa.string()),
                                                include_columns=list(keep), null_values=[],
                                                strings_can_be_null=False, check_utf8=True),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Fallback from None
    return {keep[name]: table.column(name).combine_chunks() for name in keep}


def cells(column: pa.Array, prefix: str = "") -> pa.Array:
    """``cell.removeprefix(prefix).strip()`` for every cell (WeChat: one leading backtick)."""
    if prefix and len(column):
        if pc.all(pc.starts_with(column, prefix)).as_py():
            # Dropping leading ASCII bytes keeps the text valid UTF-8; slicing bytes is the cheap way.
            size = len(prefix.encode())
            column = pc.binary_slice(column.view(pa.binary()), size, (1 << 31) - 1).view(pa.string())
        else:
            column = pc.if_else(pc.starts_with(column, prefix), pc.utf8_slice_codeunits(column, len(prefix)),
                                column)
    return pc.utf8_trim(column, WHITESPACE)


def check_all(values: pa.Array, pattern: str) -> None:
    """Fallback unless every value matches the (RE2) pattern."""
    if len(values) and not pc.all(pc.match_substring_regex(values, pattern)).as_py():
        raise Fallback


def _decimals(text: pa.Array, scale: int) -> pa.Array:
    """Plain decimal text ("" is 0) as int64 units of 10**-scale; Fallback if any would not fit exactly."""
    if scale > _MAX_PRECISION:
        raise Fallback
    if pc.any(pc.equal(text, "")).as_py():
        text = pc.if_else(pc.equal(text, ""), "0", text)
    try:
        # pyarrow reads [+-]digits[.digits][e[+-]digits] and refuses to drop a non-zero digit; without
        # the exponent that is exactly money.parse_decimal's plain decimal (ASCII digits only).
        exact = pc.cast(text, pa.decimal128(_MAX_PRECISION, scale))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Fallback from None
    if pc.any(pc.match_substring(text, "e")).as_py() or pc.any(pc.match_substring(text, "E")).as_py():
        raise Fallback
    # The same 128-bit integers read with scale 0 are the units; below 10**18 they fit int64.
    return exact.view(pa.decimal128(_MAX_PRECISION, 0)).cast(pa.int64())


def minor_units(text: pa.Array, exponent: int) -> pa.Array:
    """money.to_minor for every cell ("" is 0): exact minor units, never rounded."""
    return _decimals(text, exponent)


def decimal_units(text: pa.Array) -> tuple[pa.Array, int]:
    """Cells that may carry any number of decimals as (int64 units, scale): the scale is the most
    decimals any cell writes, so Decimal(sum).scaleb(-scale) is what adding the Decimals gives."""
    if not len(text):
        return pa.array([], pa.int64()), 0
    dot = pc.find_substring(text, ".")
    digits = pc.if_else(pc.greater_equal(dot, 0), pc.subtract(pc.subtract(pc.binary_length(text), dot), 1), 0)
    scale = int(pc.max(digits).as_py() or 0)
    return _decimals(text, scale), scale


def round_half_up(units: pa.Array, scale: int, exponent: int) -> pa.Array:
    """Units of 10**-scale to units of 10**-exponent, ties away from zero (money.to_minor_rounded)."""
    if scale <= exponent:
        try:
            return pc.multiply_checked(units, 10 ** (exponent - scale))
        except pa.ArrowInvalid:
            raise Fallback from None
    step = 10 ** (scale - exponent)
    rounded = pc.divide(pc.add(pc.abs(units), step // 2), step)
    return pc.if_else(pc.less(units, 0), pc.negate(rounded), rounded)


def exact_sum(values: pa.Array) -> int:
    """Sum of int64 values, Fallback where int64 could overflow."""
    if not len(values):
        return 0
    low, high = pc.min_max(values).values()
    if max(abs(low.as_py()), abs(high.as_py())) * len(values) >= 2**63:
        raise Fallback
    return int(pc.sum(values).as_py())


def local_times(text: pa.Array, timezone: str, time_format: str) -> tuple[pa.Array, pa.Array]:
    """Local wall-clock text in ``timezone`` as (UTC timestamp[us], local date32).

    Only zero-padded text with in-range fields in one of the known formats is read. pyarrow's
    strptime rolls 31 November over to 1 December, so the few distinct dates of a block are checked
    by Python's own calendar; a time that does not exist or exists twice in the zone (a DST change)
    raises Fallback, as anything else would differ from datetime.strptime + zoneinfo.
    """
    spelling = _TIME_SPELLING.get(time_format)
    if spelling is None:
        raise Fallback
    check_all(text, spelling)
    try:
        days = [date.fromisoformat(day) for day in pc.unique(pc.utf8_slice_codeunits(text, 0, 10)).to_pylist()]
    except ValueError:
        raise Fallback from None
    if any(not _ZONE_YEARS[0] <= day.year <= _ZONE_YEARS[1] for day in days):
        raise Fallback
    try:
        local = pc.strptime(text, format=time_format, unit="us")
        utc = pc.assume_timezone(local, timezone=timezone, ambiguous="raise", nonexistent="raise")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Fallback from None
    return utc.cast(pa.timestamp("us", tz="UTC")), local.cast(pa.date32())


def null_if_empty(column: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)


def line_numbers(first: int, count: int) -> pa.Array:
    return pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), count), start=first - 1)
