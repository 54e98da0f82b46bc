"""The streaming, column-wise ``table`` reader (tabular.fast) gives what the row path gives.

The oracle is ``TableChannel.parse`` (the row path, whole file): every delimited file, broken or
not, must give the same records, or the same error (code, message, line, field, hint), whether
its blocks are read column-wise or row by row, in one block or in many small ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, columnar
from tally.channels.columnar import blocks
from tally.channels.tabular import CHANNEL, fast
from tally.errors import InputRejected
from tally.records import SCHEMA

from .test_tabular import GB_FILE, MAPPING

EN = {
    "kind": "table", "format": "csv", "encoding": "utf-8", "timezone": "Asia/Shanghai", "currency": "CNY",
    "columns": {"order_no": "order_no", "amount_minor": "amount", "occurred_at": "paid_at", "record_kind": "type"},
    "values": {"record_kind": {"PAY": "payment", "REFUND": "refund", "FEE": "fee"}},
}


def outcome(parse: Callable[[], Iterator[pa.RecordBatch]]) -> tuple[Any, ...]:
    try:
        return ("records", pa.Table.from_batches(list(parse()), schema=SCHEMA).to_pylist())
    except InputRejected as exc:
        return ("error", exc.code, exc.message, exc.where.line, exc.where.field, exc.hint)
    except Exception as exc:  # the row path's own crash must be the same too
        return ("crash", type(exc).__name__, str(exc))


def outcomes(data: bytes, options: dict[str, Any], read_bytes: int = 8 << 20) -> list[tuple[Any, ...]]:
    ctx = ParseContext("shop", options, "a" * 64, "orders.csv")
    raw = columnar.BillBytes(data=data)
    found = [outcome(lambda: CHANNEL.parse(data, ctx))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blocks, "_READ_BYTES", read_bytes)
        for block_bytes, vectorized in ((columnar.BLOCK_BYTES, True), (64, True), (200, True), (64, False)):
            found.append(outcome(lambda b=block_bytes, v=vectorized: fast.parse_stream(  # type: ignore[misc]
                raw, ctx, CHANNEL.parse, block_bytes=b, vectorized=v)))
    return found


def assert_same(data: bytes, options: dict[str, Any]) -> tuple[Any, ...]:
    row, *streamed = outcomes(data, options, read_bytes=16)
    for other in streamed:
        assert other == row
    return row


def test_the_parse_stream_hook_uses_the_fast_path() -> None:
    text = "order_no,amount,paid_at,type\n" + "".join(f"A{i},{i}.00,2026-11-01 10:00:00,PAY\n" for i in range(50))
    ctx = ParseContext("shop", EN, "a" * 64, "orders.csv")
    calls: list[int] = []
    block = fast._Columns.block

    def spy(self: fast._Columns, data: bytes, line_no: int) -> pa.RecordBatch:
        batch = block(self, data, line_no)
        calls.append(batch.num_rows)
        return batch

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast._Columns, "block", spy)
        records = pa.Table.from_batches(list(CHANNEL.parse_stream(columnar.BillBytes(data=text.encode()), ctx)))
    assert calls == [50]
    assert records.to_pylist() == pa.Table.from_batches(list(CHANNEL.parse(text.encode(), ctx))).to_pylist()


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_the_tabular_test_files_give_the_same_records(encoding: str) -> None:
    kind, records = assert_same(("\ufeff" if encoding == "utf-8" else "") .encode() + GB_FILE.encode(encoding),
                                {**MAPPING, "encoding": encoding})[:2]
    assert kind == "records"
    assert len(records) == 3


@pytest.mark.parametrize(
    "text",
    [
        "商户订单号,金额,支付时间,类型\nA1,1.00,2026-11-01 10:00:00,支付\n",
        "商户订单号,退款单号,金额,支付时间,类型\nA1,,1.001,2026-11-01 10:00:00,支付\n",
        "商户订单号,退款单号,金额,支付时间,类型\nA1,,abc,2026-11-01 10:00:00,支付\n",
        "商户订单号,退款单号,金额,支付时间,类型\nA1,,1.00,yesterday,支付\n",
        "商户订单号,退款单号,金额,支付时间,类型\nA1,,1.00,2026-11-01 10:00:00,充值\n",
        "商户订单号,退款单号,金额,支付时间,类型\nA1,,1.00,2026-11-01 10:00:00,支付,extra\n",
        "商户订单号,退款单号,金额,支付时间,类型\n" + "A1,,1.00,2026-11-01 10:00:00,支付\n" * 30
        + "A1,,NaN,2026-11-01 10:00:00,支付\n",
        "商户订单号,退款单号,金额,支付时间,类型\nA1,,1.00,2026-11-01 10:00:00,支付\n\"A2\n",
        "",
        "商户订单号,商户订单号,退款单号,金额,支付时间,类型\n",
    ],
)
def test_the_tabular_error_cases_give_the_same_errors(text: str) -> None:
    assert_same(text.encode("gb18030"), MAPPING)


def test_a_quoted_record_cut_by_a_block_is_carried_into_the_next() -> None:
    rows = "".join(f"A{i},{i}.00,2026-11-01 10:00:00,PAY\n" for i in range(20))
    text = f"order_no,amount,paid_at,type\n{rows}\"A\n,B\",1.00,2026-11-01 10:00:00,PAY\n{rows}"
    kind, records = assert_same(text.encode(), EN)[:2]
    assert kind == "records"
    assert (records[20]["order_no"], records[21]["line_no"]) == ("A\n,B", 24)


def test_blocks_bound_the_batches() -> None:
    """Memory is bounded by construction: a block of lines at a time, one batch per block."""
    text = "order_no,amount,paid_at,type\n" + "".join(f"A{i},{i}.00,2026-11-01 10:00:00,PAY\n" for i in range(400))
    ctx = ParseContext("shop", EN, "a" * 64, "orders.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blocks, "_READ_BYTES", 256)
        batches = list(fast.parse_stream(columnar.BillBytes(data=text.encode()), ctx, CHANNEL.parse,
                                         block_bytes=1024))
    assert sum(batch.num_rows for batch in batches) == 400
    assert len(batches) > 10
    assert max(batch.num_rows for batch in batches) <= 1024 // 30 + 10


AMOUNTS = ["12.34", "0.01", "-5", "1.001", "abc", "", "NaN", "1e3", " 7.50 ", "+3", ".5", "9999999999999999",
           "1,000.00", "٣"]
TIMES = ["2026-11-01 10:00:00", "2026/11/01 10:00:00", "2026-11-31 10:00:00", "bad", " 2026-11-01 23:59:59 ",
         "2026-11-01T10:00:00", "", "1969-12-31 23:59:59"]
KINDS = ["PAY", "REFUND", "FEE", "X", "", " PAY"]
ORDERS = ["A1", "", "\"q,1\"", "B 2", "订单", "\"two\nlines\""]


@st.composite
def tables(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    titles = draw(st.lists(st.sampled_from(["report", "导出时间：2026-11-02", ",,", ""]), max_size=2))
    extra = draw(st.booleans())
    header = ["order_no", "amount", "paid_at", "type"] + (["note"] if extra else [])
    lines = [*titles, ",".join(header)]
    for _ in range(draw(st.integers(0, 40))):
        if draw(st.integers(0, 30)) == 0:
            lines.append(draw(st.sampled_from(["", " , , , ", "x"])))
            continue
        cells = [draw(st.sampled_from(ORDERS)), draw(st.sampled_from(AMOUNTS[:4] * 8 + AMOUNTS)),
                 draw(st.sampled_from(TIMES[:2] * 8 + TIMES)), draw(st.sampled_from(KINDS[:3] * 8 + KINDS))]
        if extra:
            cells.append(draw(st.sampled_from(["", "x", "备注"])))
        lines.append(",".join(cells))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    data = text.encode(encoding)
    options = {**EN, "encoding": "utf-8" if encoding == "utf-8-sig" else encoding,
               "sign": draw(st.sampled_from(["by_kind", "as_is"])),
               "amount_unit": draw(st.sampled_from(["major", "major", "minor"]))}
    if draw(st.booleans()):
        options["delimiter"] = ","
    return data, options


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=tables())
def test_random_tables_give_the_same_records_or_errors(case: tuple[bytes, dict[str, Any]]) -> None:
    data, options = case
    assert_same(data, options)
