"""Block columns: every vectorized conversion equals the row code's, or says Fallback."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import columnar
from tally.errors import InputRejected
from tally.money import parse_decimal, to_minor, to_minor_rounded


def test_whitespace_is_what_str_strip_removes() -> None:
    assert set(columnar.WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


@pytest.mark.parametrize("cell", ["`x", "``x", " `x", "` x\u3000", "`", "", "x`", "`\u2028x\x1c"])
def test_cells_drop_one_prefix_then_strip(cell: str) -> None:
    for column in ([cell], [cell, "`y"], ["`y", cell]):
        got = columnar.cells(pa.array(column), "`").to_pylist()
        assert got == [c.removeprefix("`").strip() for c in column]


AMOUNT = st.text(alphabet="0123456789.+-eE \u0663", max_size=8) | st.sampled_from(
    ["1.00", "-0.50", "+.5", "5.", "10.000", "10.001", "0.00000", "-2.71032", "99999999999999999.99", ""])


def row_minor(text: str, exponent: int) -> int | None:
    try:
        return to_minor(text, {0: "JPY", 2: "CNY", 3: "KWD"}[exponent]) if text else 0
    except InputRejected:
        return None


@settings(max_examples=300, deadline=None)
@given(st.lists(AMOUNT, min_size=1, max_size=5), st.sampled_from([0, 2, 3]))
def test_minor_units_are_to_minor_or_fallback(texts: list[str], exponent: int) -> None:
    try:
        got = columnar.minor_units(pa.array(texts), exponent).to_pylist()
    except columnar.Fallback:
        return
    assert got == [row_minor(text, exponent) for text in texts]


@settings(max_examples=300, deadline=None)
@given(st.lists(AMOUNT, min_size=1, max_size=5), st.sampled_from([0, 2, 3]))
def test_decimal_units_round_and_sum_like_decimal(texts: list[str], exponent: int) -> None:
    try:
        units, scale = columnar.decimal_units(pa.array(texts))
        rounded = columnar.round_half_up(units, scale, exponent).to_pylist()
        total = columnar.exact_sum(units)
    except columnar.Fallback:
        return
    currency = {0: "JPY", 2: "CNY", 3: "KWD"}[exponent]
    assert rounded == [to_minor_rounded(text, currency) if text else 0 for text in texts]
    expected = sum((parse_decimal(text) if text else parse_decimal("0") for text in texts), start=parse_decimal("0"))
    assert str(parse_decimal("0") + parse_decimal(str(total)).scaleb(-scale)) == str(expected)


TIMES = st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2045, 12, 31)).map(
    lambda t: t.strftime("%Y-%m-%d %H:%M:%S")) | st.sampled_from(
    ["2026-11-31 10:00:00", "2026-02-29 10:00:00", "2024-02-29 10:00:00", "2026-11-01 23:59:60",
     "2026-11-01 24:00:00", "2026-1-1 1:2:3", "2026-03-08 02:30:00", "2026-11-01 01:30:00",
     "2026-03-29 02:30:00", "2026-10-25 02:30:00", "0000-01-01 00:00:00", " 2026-11-01 10:00:00"])


def row_time(text: str, zone: str) -> tuple[datetime, object] | None:
    try:
        local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        return None
    return local.astimezone(UTC), local.date()


@settings(max_examples=300, deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=4),
       st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]))
def test_local_times_are_strptime_in_the_zone_or_fallback(texts: list[str], zone: str) -> None:
    try:
        utc, day = columnar.local_times(pa.array(texts), zone, "%Y-%m-%d %H:%M:%S")
    except columnar.Fallback:
        return
    assert list(zip(utc.to_pylist(), day.to_pylist(), strict=True)) == [row_time(t, zone) for t in texts]


def test_plain_times_of_this_century_take_the_fast_path() -> None:
    utc, day = columnar.local_times(pa.array(["2026-11-02 00:00:02"]), "Asia/Shanghai", "%Y-%m-%d %H:%M:%S")
    assert utc.to_pylist() == [datetime(2026, 11, 1, 16, 0, 2, tzinfo=UTC)]
    assert str(day[0]) == "2026-11-02"


@pytest.mark.parametrize("block", [
    b"a,b\n\nc,d\n", b"\na,b\n", b"a,b\rc,d\n", b"a,b\r\n\r\nc,d\r\n", b"\xef\xbb\xbfa,b\n", b"a,b,c\n", b"a,b",
    b"a\n",
])
def test_read_block_refuses_what_pyarrow_would_read_differently(block: bytes) -> None:
    with pytest.raises(columnar.Fallback):
        columnar.read_block(block, 2, {"x": 0, "y": 1})


def test_read_block_reads_unquoted_cells_as_text() -> None:
    got = columnar.read_block(b'"a",NA,1\r\n,null,\n', 3, {"x": 0, "y": 1, "z": 2})
    assert {k: v.to_pylist() for k, v in got.items()} == {"x": ['"a"', ""], "y": ["NA", "null"], "z": ["1", ""]}
