"""The streaming, vectorized WeChat Pay parser gives what reading the whole file row by row gave.

The oracle is the parser as it was before it streamed (kept here verbatim over the module's row
helpers): every bill, broken or not, must give the same records, or the same error with the same
code, message, line, field and hint, in whatever blocks it is read.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, columnar
from tally.channels import wechatpay as w
from tally.channels.text import decode, gunzip_if_needed, split_lines
from tally.errors import InputRejected
from tally.records import batched
from tally.synthetic import Txn, wechat_bill

CTX = ParseContext(source="wechat", options={"timezone": "Asia/Shanghai"}, bill_sha256="f" * 64, file_name="bill.csv")
FAST = w.WeChatPayTradeBill()
FAST_SMALL = w.WeChatPayTradeBill(block_bytes=700)
ROW_SMALL = w.WeChatPayTradeBill(block_bytes=300, vectorized=False)


def legacy_records(data: bytes, ctx: ParseContext) -> Iterator[dict[str, Any]]:
    """The parser before it streamed: decode the whole file, one dict per row."""
    file = ctx.file_name
    lines = split_lines(decode(gunzip_if_needed(data, file=file), ("utf-8", "gb18030"), file=file))
    w._check_kind(lines, file)
    header = w._header(lines[0])
    missing = [name for name in w.REQUIRED if name not in header]
    if missing:
        raise InputRejected("MISSING_COLUMN", f"the header has no {', '.join(missing)}", file=file, line=1,
                            hint="is this a WeChat Pay trade bill?")
    col = {name: i for i, name in enumerate(header)}
    sums = {name: Decimal(0) for name in w.TOTALS.values() if name in col}
    count = 0
    summary: tuple[int, list[str], list[str]] | None = None
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if summary is not None:
            if summary[2]:
                raise InputRejected("TRAILING_DATA", "text after the summary row", file=file, line=line_no)
            summary = (summary[0], summary[1], w._cells(line))
            continue
        if line.split(",")[0].strip() == w.SUMMARY_FIRST_CELL:
            summary = (line_no, w._header(line), [])
            continue
        cells = w._cells(line)
        if len(cells) != len(header):
            raise InputRejected(
                "COLUMN_COUNT",
                f"row has {len(cells)} cells, the header has {len(header)} (a comma inside a value?)",
                file=file, line=line_no,
            )
        row = dict(zip(header, cells, strict=True))
        record = w._record(row, ctx, line_no)
        for name in sums:
            sums[name] += w._decimal(row[name], file, line_no, name) if name == w.FEE \
                else Decimal(w._money(row, (name,), record["currency"], file, line_no)).scaleb(
                    -w.exponent(record["currency"]))
        count += 1
        yield record
    if summary is None or not summary[2]:
        raise InputRejected("MISSING_TOTALS", "the bill has no summary lines (总交易单数…)", file=file,
                            line=len(lines), hint="the file is truncated; download it again")
    w._check_totals(summary, count, sums, file)


def outcome(batches: Any) -> tuple:
    """Records, or the error as everything a user sees of it."""
    try:
        return ("records", pa.Table.from_batches(list(batches), schema=w.SCHEMA).to_pylist())
    except InputRejected as exc:
        return ("error", exc.code, exc.message, exc.where, exc.hint)


def assert_same(data: bytes, ctx: ParseContext = CTX) -> tuple:
    expected = outcome(batched(legacy_records(data, ctx)))
    for channel in (FAST, FAST_SMALL, ROW_SMALL):
        assert outcome(channel.parse(data, ctx)) == expected, channel.__dict__
    return expected


def rows(count: int, start: datetime = datetime(2026, 11, 1, 10, 0)) -> list[list[str]]:
    """A valid bill as lines of cells (header, detail rows, summary header, summary row)."""
    txns = [Txn(f"A{i}", 100 + i * 7, start + timedelta(minutes=i),
                refund_no=f"R{i}" if i % 5 == 4 else None) for i in range(count)]
    return [line.split(",") for line in wechat_bill(txns).decode().split("\n")[:-1]]


def render(lines: list[list[str]], *, end: str = "\n") -> bytes:
    return (end.join(",".join(cells) for cells in lines) + end).encode()


def test_a_plain_bill_is_read_without_falling_back_to_rows(monkeypatch) -> None:
    calls: list[int] = []
    line = w._Bill.line
    monkeypatch.setattr(w._Bill, "line", lambda self, n, text: calls.append(n) or line(self, n, text))
    data = render(rows(300))
    kind, records = assert_same(data)
    assert (kind, len(records)) == ("records", 300)
    calls.clear()
    assert outcome(FAST_SMALL.parse(data, CTX))[0] == "records"
    assert calls == [302, 303]  # only the two summary lines went row by row


def test_a_bad_cell_deep_in_a_many_block_bill_names_its_line() -> None:
    lines = rows(400)
    lines[321][12] = "`1.001"
    kind, code, _, where, _ = assert_same(render(lines))
    assert (kind, code, where.line, where.field) == ("error", "AMOUNT_PRECISION", 322, "应结订单金额")


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_line_endings_blank_lines_and_a_bom_read_alike(end: str) -> None:
    lines = rows(60)
    lines.insert(30, [""])
    lines.insert(45, ["  "])
    data = render(lines, end=end)
    assert assert_same(data)[0] == "records"
    assert assert_same(b"\xef\xbb\xbf" + data)[0] == "records"
    assert assert_same(data.replace(b"demo goods", b"demo\rgoods", 1))[0] == "records"


def test_gzip_streams_and_its_damage_wins_over_an_earlier_bad_row() -> None:
    lines = rows(400)
    assert assert_same(gzip.compress(render(lines)))[0] == "records"
    lines[5][0] = "`2026-11-31 10:00:00"
    packed = gzip.compress(render(lines))
    assert assert_same(packed)[1] == "BAD_DATE"
    assert assert_same(packed[: len(packed) * 3 // 4])[1] == "CORRUPT_GZIP"


def test_gb18030_bills_and_bills_that_change_encoding_midway() -> None:
    lines = rows(200)
    lines[150][20] = "`商品"
    text = "\n".join(",".join(cells) for cells in lines) + "\n"
    assert assert_same(text.encode("gb18030"))[0] == "records"
    # UTF-8 at the start, GB18030 further down: not UTF-8 as a whole, and its UTF-8 header is no GB18030.
    assert assert_same(text[:5000].encode() + text[5000:].encode("gb18030"))[1] == "BAD_ENCODING"
    # An ASCII start is both; the whole file is GB18030, parsed again that way for its error.
    xml = "<xml><return_code>FAIL</return_code></xml>\n" + "x\n" * 2000 + "商品\n"
    assert assert_same(xml.encode("gb18030"))[1] == "CHANNEL_ERROR"
    assert assert_same(text[:5000].encode() + b"\xff\xff" + text[5000:].encode())[1] == "BAD_ENCODING"
    assert assert_same(text[:5000].encode() + b"\xff" + text[5000:].encode())[1] in ("BAD_ENCODING", "WRONG_KIND")


def test_a_file_read_from_disk_gives_the_same_records(tmp_path: Path) -> None:
    data = render(rows(500))
    path = tmp_path / "bill.csv.gz"
    path.write_bytes(gzip.compress(data))
    from_file = outcome(FAST_SMALL.parse_stream(columnar.BillBytes(path=path), CTX))
    assert from_file == outcome(FAST.parse(data, CTX))


# Cells that the vectorized path must read exactly as the row path does, or hand over to it.
NASTY = ["", "`", "``1.00", " `1.00", "`1.00 ", "`\u30001.00", "`+.5", "`5.", "`-0.00", "`1.001", "`1.000", "`1e3",
         "`1E3", "`NaN", "`inf", "`\uff11.00", "`\u0663", "`0.000001", "`99999999999999999999.99",
         "`9223372036854775807",
         "`12,34", '`"1.00"', "`USD", "`usd", "`JPY", "`KWD", "`XXX", "` CNY ", "`C", "`REFUND", "`SUCCESS", "`REVOKED",
         "`0", "`总交易单数", "总交易单数", "`2026-11-31 10:00:00", "`2026-2-1 1:2:3", "`2026-11-01 23:59:60",
         "`2026-11-01 24:00:00", "`1969-12-31 23:59:59", "`2040-07-01 12:00:00", "`2026-11-01T10:00:00",
         "`2026-03-08 02:30:00", "`2026-11-01 01:30:00", "`2026-03-29 02:30:00", "`0000-01-01 00:00:00",
         "` 2026-11-01 10:00:00", "`\x00", "`\u2028", "`\x1c1.00"]
ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "UTC"]


@st.composite
def bills(draw: st.DrawFn) -> tuple[bytes, ParseContext]:
    lines = rows(draw(st.integers(1, 40)))
    for _ in range(draw(st.integers(0, 4))):
        line = draw(st.integers(0, len(lines) - 1))
        cell = draw(st.integers(0, len(lines[line]) - 1))
        lines[line][cell] = draw(st.sampled_from(NASTY) | st.text(max_size=6).map(lambda t: "`" + t))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), [draw(st.sampled_from(["", " ", "x", "\r"]))])
    data = render(lines, end=draw(st.sampled_from(["\n", "\r\n"])))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0:
        data = gzip.compress(data)
    ctx = ParseContext(source="wechat", options={"timezone": draw(st.sampled_from(ZONES))}, bill_sha256="e" * 64,
                       file_name="b.csv")
    return data, ctx


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bills())
def test_any_edited_bill_gives_what_the_whole_file_row_parser_gave(bill: tuple[bytes, ParseContext]) -> None:
    assert_same(*bill)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1500))
def test_any_bytes_give_what_the_whole_file_row_parser_gave(data: bytes) -> None:
    assert_same(data)
