"""The ``table`` kind's formats: delimited and fixed-width text, Excel, JSON, JSON Lines; encodings;
signs; non-money sources; streaming; any bytes give records or a clear error."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, get
from tally.channels.tabular import rows
from tally.errors import InputRejected
from tally.records import SCHEMA

BASE: dict[str, Any] = {
    "kind": "table", "timezone": "Asia/Shanghai", "currency": "CNY",
    "columns": {"order_no": "order", "amount_minor": "amount", "occurred_at": "time"},
}


def parse(data: bytes, **options: Any) -> list[dict[str, Any]]:
    ctx = ParseContext("shop", {**BASE, **options}, "b" * 64, "bill")
    return pa.Table.from_batches(list(get("table").parse(data, ctx)), schema=SCHEMA).to_pylist()


def rejected(data: bytes, **options: Any) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        parse(data, **options)
    return caught.value


def workbook(*sheets: tuple[str, list[list[Any]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, table in sheets:
        sheet = book.create_sheet(name)
        for row in table:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Delimited text

@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_the_delimiter_is_detected_when_not_declared(delimiter: str) -> None:
    text = f"Shop export\norder{delimiter}amount{delimiter}time\nA1{delimiter}1.50{delimiter}2026-11-01 10:00:00\n"
    (record,) = parse(text.encode(), format="txt" if delimiter != "," else "csv")
    assert (record["order_no"], record["amount_minor"], record["line_no"]) == ("A1", 150, 3)


def test_a_declared_delimiter_wins() -> None:
    text = "order;amount;time\nA1;1,50;2026-11-01 10:00:00\n"
    assert rejected(text.encode(), delimiter=",").code == "MISSING_COLUMN"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("order,amount,time\n甲1,1.00,2026-11-01 10:00:00\n".encode(), "utf-8"),
        ("\ufefforder,amount,time\n甲1,1.00,2026-11-01 10:00:00\n".encode(), "utf-8"),
        ("订单导出\norder,amount,time\n甲1,1.00,2026-11-01 10:00:00\n".encode("gb18030"), "gb18030"),
        ("order,amount,time\n甲1,1.00,2026-11-01 10:00:00\n".encode("gb18030"), "auto"),
        ("\ufefforder,amount,time\n甲1,1.00,2026-11-01 10:00:00\n".encode(), "auto"),
    ],
)
def test_encodings(data: bytes, encoding: str) -> None:
    (record,) = parse(data, encoding=encoding)
    assert record["order_no"] == "甲1"


def test_auto_detects_gb18030_in_a_longer_chinese_file() -> None:
    body = "".join(f"订单{n},{n}.00,2026-11-01 10:00:00,中文备注第{n}行\n" for n in range(40))
    data = ("某某商城订单导出\n商户订单号,金额,支付时间,备注\n" + body).encode("gb18030")
    records = parse(data, encoding="auto", columns={"order_no": "商户订单号", "amount_minor": "金额",
                                                    "occurred_at": "支付时间"})
    assert len(records) == 40
    assert records[-1]["order_no"] == "订单39"


def test_a_bad_byte_is_reported_with_its_line() -> None:
    data = b"order,amount,time\nA1,1.00,2026-11-01 10:00:00\nA2,\xff1.00,2026-11-01 10:00:00\n"
    error = rejected(data)
    assert (error.code, error.where.line) == ("BAD_ENCODING", 3)


def test_a_quoted_field_over_two_lines_keeps_the_line_it_starts_on() -> None:
    text = 'order,amount,time,note\nA1,1.00,2026-11-01 10:00:00,"two\nlines"\nA2,2.00,2026-11-01 10:00:00,x\n'
    first, second = parse(text.encode())
    assert (first["line_no"], second["line_no"]) == (2, 4)


def test_thousands_separators_when_declared() -> None:
    text = 'order,amount,time\nA1,"1,234.50",2026-11-01 10:00:00\n'
    assert rejected(text.encode()).code == "BAD_AMOUNT"
    (record,) = parse(text.encode(), thousands=",")
    assert record["amount_minor"] == 123450


# Fixed-width text

FIXED = "".join(f"{a:<10}{b:>9} {c}\n" for a, b, c in [
    ("ORDER", "AMOUNT", "TIME"), ("A1", "1.50", "2026-11-01 10:00:00"), ("A2", "-2.00", "2026-11-01 11:00:00")])


def test_fixed_width_by_widths_with_a_header_line() -> None:
    pay, refund = parse(FIXED.encode(), format="txt", widths=[10, 10, 19], sign="as_is",
                        columns={"order_no": "ORDER", "amount_minor": "AMOUNT", "occurred_at": "TIME"})
    assert (pay["order_no"], pay["amount_minor"], pay["line_no"]) == ("A1", 150, 2)
    assert refund["amount_minor"] == -200


def test_fixed_width_by_positions_skipping_the_header() -> None:
    records = parse(FIXED.encode(), format="txt", skip_lines=1, sign="as_is",
                    columns={"order_no": [1, 10], "amount_minor": [11, 20], "occurred_at": [21, 39]})
    assert [(r["order_no"], r["amount_minor"]) for r in records] == [("A1", 150), ("A2", -200)]


def test_fixed_width_in_bytes_of_gb18030() -> None:
    # A terminal-aligned GBK export: a Chinese character is two bytes and two columns wide.
    text = "商品  数量  日期      \n苹果  3     2026-11-01\n橙    12    2026-11-01\n"
    records = parse(text.encode("gb18030"), format="txt", encoding="gb18030", width_unit="bytes",
                    widths=[6, 6, 10], currency=None, record_kind="other",
                    columns={"item": "商品", "quantity": "数量", "business_day": "日期"})
    assert [(r["item"], r["quantity"]) for r in records] == [("苹果", 3), ("橙", 12)]


# Excel

def test_xlsx_sheet_by_name_and_index_with_title_rows_and_typed_cells() -> None:
    data = workbook(
        ("summary", [["nothing here"]]),
        ("订单", [["订单导出"], [], ["order", "amount", "time"],
                  [20240501001, 12.34, datetime(2026, 11, 1, 10, 0)], ["A2", "0.50", "2026-11-01 11:00:00"]]),
    )
    for sheet in ("订单", 1):
        first, second = parse(data, format="xlsx", sheet=sheet)
        assert (first["order_no"], first["amount_minor"], first["line_no"]) == ("20240501001", 1234, 4)
        assert first["occurred_at"] == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
        assert (second["amount_minor"], second["line_no"]) == (50, 5)


@pytest.mark.parametrize(("value", "code"), [(1 / 3, "AMOUNT_PRECISION"), (12.345, "AMOUNT_PRECISION"),
                                             (2.0**60, "BAD_AMOUNT")])
def test_spreadsheet_floats_are_exact_or_refused(value: float, code: str) -> None:
    data = workbook(("s", [["order", "amount", "time"], ["A1", value, "2026-11-01 10:00:00"]]))
    error = rejected(data, format="xlsx")
    assert (error.code, error.where.line, error.where.field) == (code, 2, "amount")


def test_a_missing_sheet_and_a_broken_workbook() -> None:
    data = workbook(("s", [["order", "amount", "time"]]))
    assert rejected(data, format="xlsx", sheet="nope").code == "MISSING_SHEET"
    assert rejected(b"PK\x03\x04 not really", format="xlsx").code == "BAD_SPREADSHEET"


# JSON

def test_json_array_and_records_path_keep_exact_decimals() -> None:
    objects = [{"order": "A1", "amount": 12.34, "time": "2026-11-01 10:00:00"},
               {"order": "A2", "amount": "0.10", "time": "2026-11-01 11:00:00"}]
    for data, path in ((json.dumps(objects), None), (json.dumps({"data": {"items": objects}}), "data.items")):
        first, second = parse(data.encode(), format="json", records_path=path)
        assert (first["amount_minor"], first["line_no"], second["amount_minor"], second["line_no"]) == (1234, 1, 10, 2)


@pytest.mark.parametrize(
    ("data", "code", "line"),
    [
        (b'[{"order": "A1", "amount": 1e3, "time": "2026-11-01 10:00:00"}]', "BAD_AMOUNT", 1),
        (b'[{"order": "A1", "amount": "1.00", "time": "2026-11-01 10:00:00"}, {"order": ', "BAD_JSON", 2),
        (b'{"rows": []}', "BAD_JSON", None),
        (b'[1]', "BAD_JSON", 1),
    ],
)
def test_bad_json(data: bytes, code: str, line: int | None) -> None:
    error = rejected(data, format="json")
    assert error.code == code
    if line is not None:
        assert error.where.line == line


def test_an_empty_json_array_has_no_records() -> None:
    assert parse(b"[]", format="json") == []


def test_jsonl() -> None:
    data = b'{"order": "A1", "amount": "100", "time": "2026-11-01 10:00:00"}\n\n{"order": "A2", "amount": 2, ' \
           b'"time": "2026-11-01 10:00:00"}\n'
    first, second = parse(data, format="jsonl", amount_unit="minor")
    assert (first["amount_minor"], second["amount_minor"], second["line_no"]) == (100, 2, 3)


# Signs, kinds, days, non-money sources

def test_sign_by_direction_column() -> None:
    text = "order,amount,time,dir\nA1,5.00,2026-11-01 10:00:00,收入\nA2,5.00,2026-11-01 10:00:00,支出\n"
    options = {"sign": "direction", "columns": {**BASE["columns"], "direction": "dir"},
               "values": {"direction": {"收入": "in", "支出": "out"}}}
    assert [r["amount_minor"] for r in parse(text.encode(), **options)] == [500, -500]
    bad = text.replace("支出", "其他")
    assert rejected(bad.encode(), **options).code == "BAD_VALUE"


def test_by_kind_makes_fee_records_negative() -> None:
    text = "order,amount,time,type\nA1,5.00,2026-11-01 10:00:00,fee\nA2,-5.00,2026-11-01 10:00:00,payment\n"
    records = parse(text.encode(), columns={**BASE["columns"], "record_kind": "type"})
    assert [r["amount_minor"] for r in records] == [-500, 500]


def test_business_day_column_and_date_formats() -> None:
    text = "order,amount,time,day\nA1,1.00,2026/11/01 23:59,20261102\n"
    (record,) = parse(text.encode(), time_format="%Y/%m/%d %H:%M", date_format="%Y%m%d",
                      columns={**BASE["columns"], "business_day": "day"})
    assert record["business_day"] == date(2026, 11, 2)
    assert record["occurred_at"] == datetime(2026, 11, 1, 15, 59, tzinfo=UTC)


def test_unix_times() -> None:
    text = "order,amount,time\nA1,1.00,1793527200500\n"
    (record,) = parse(text.encode(), time_format="unix_ms", timezone="UTC")
    assert record["occurred_at"] == datetime(2026, 11, 1, 10, 0, 0, 500000, tzinfo=UTC)


def test_an_inventory_export_has_no_money() -> None:
    text = "SKU,数量,日期\nAPPLE-1,3,2026-11-01\nPEAR-2,-1,2026-11-01\n"
    records = parse(text.encode(), currency=None, record_kind="other",
                    columns={"item": "SKU", "quantity": "数量", "business_day": "日期"})
    assert [(r["item"], r["quantity"], r["amount_minor"], r["currency"]) for r in records] == [
        ("APPLE-1", 3, 0, "XXX"), ("PEAR-2", -1, 0, "XXX")]
    assert rejected(text.replace(",3,", ",3.5,").encode(), currency=None,
                    columns={"item": "SKU", "quantity": "数量", "business_day": "日期"}).code == "BAD_NUMBER"


# Streaming and robustness

def test_rows_are_read_lazily() -> None:
    # A broken row far down does not stop the first rows from coming out: nothing reads ahead.
    lines = ["order,amount,time"] + [f"A{n},1.00,2026-11-01 10:00:00" for n in range(50_000)] + ["x"]
    stream = rows("\n".join(lines).encode(), {**BASE}, ["order", "amount", "time"], file="big.csv")
    line, first = next(stream)
    assert line == 2
    assert isinstance(first, dict)
    assert first["order"] == "A0"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300), fmt=st.sampled_from(["csv", "txt", "json", "jsonl", "xlsx", "xls"]))
def test_any_bytes_give_records_or_a_clear_error(data: bytes, fmt: str) -> None:
    prefix = b"order,amount,time\n" if fmt in ("csv", "txt") else b""
    try:
        parse(prefix + data, format=fmt, encoding="auto")
    except InputRejected as exc:
        assert exc.code.isupper()
