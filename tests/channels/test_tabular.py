"""Mapping-driven tables: encodings, Chinese headers past title lines, value maps, units, signs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest

from tally.channels import ParseContext, get
from tally.errors import InputRejected

MAPPING: dict[str, Any] = {
    "kind": "table", "format": "csv", "encoding": "gb18030", "timezone": "Asia/Shanghai", "amount_unit": "major",
    "currency": "CNY",
    "columns": {"order_no": "商户订单号", "refund_no": "退款单号", "amount_minor": "金额", "occurred_at": "支付时间",
                "record_kind": "类型"},
    "values": {"record_kind": {"支付": "payment", "退款": "refund"}},
}

GB_FILE = (
    "某某商城订单导出\n"
    "导出时间：2026-11-02 08:00\n"
    "商户订单号,退款单号,金额,支付时间,类型,备注\n"
    "A1,,12.34,2026-11-01 10:00:00,支付,一\n"
    "A1,RA1,2.00,2026-11-01 11:00:00,退款,二\n"
    "A2,,0.01,2026-11-01 23:59:59,支付,\"含,逗号\"\n"
)


def parse(data: bytes, **options: Any) -> list[dict[str, Any]]:
    ctx = ParseContext("shop", {**MAPPING, **options}, "a" * 64, "orders.csv")
    return pa.Table.from_batches(list(get("table").parse(data, ctx))).to_pylist()


def test_gb18030_csv_with_title_lines_and_chinese_headers() -> None:
    pay, refund, late = parse(GB_FILE.encode("gb18030"))
    assert (pay["order_no"], pay["amount_minor"], pay["record_kind"], pay["line_no"]) == ("A1", 1234, "payment", 4)
    assert (refund["refund_no"], refund["amount_minor"], refund["record_kind"]) == ("RA1", -200, "refund")
    assert pay["occurred_at"] == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    assert late["business_day"] == date(2026, 11, 1)
    assert pay["refund_no"] is None


def test_utf8_bom_and_minor_units() -> None:
    text = "\ufeff商户订单号,退款单号,金额,支付时间,类型\nA1,,1234,2026-11-01T10:00:00+08:00,支付\n"
    (record,) = parse(text.encode("utf-8"), encoding="utf-8", amount_unit="minor")
    assert record["amount_minor"] == 1234
    assert record["occurred_at"] == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def test_sign_as_is_keeps_the_file_sign() -> None:
    text = "商户订单号,退款单号,金额,支付时间,类型\nA1,R1,2.00,2026-11-01 10:00:00,退款\n"
    (record,) = parse(text.encode(), encoding="utf-8", sign="as_is")
    assert record["amount_minor"] == 200


def test_jsonl_rows_keep_exact_decimals_and_refuse_binary_floats() -> None:
    line = '{"商户订单号": "A1", "退款单号": null, "金额": 12.34, "支付时间": "2026-11-01 10:00:00", "类型": "支付"}\n'
    (record,) = parse(line.encode(), format="jsonl", encoding="utf-8")
    assert record["amount_minor"] == 1234


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("商户订单号,金额,支付时间,类型\nA1,1.00,2026-11-01 10:00:00,支付\n", "MISSING_COLUMN", 1),
        ("商户订单号,退款单号,金额,支付时间,类型\nA1,,1.001,2026-11-01 10:00:00,支付\n", "AMOUNT_PRECISION", 2),
        ("商户订单号,退款单号,金额,支付时间,类型\nA1,,abc,2026-11-01 10:00:00,支付\n", "BAD_AMOUNT", 2),
        ("商户订单号,退款单号,金额,支付时间,类型\nA1,,1.00,yesterday,支付\n", "BAD_DATE", 2),
        ("商户订单号,退款单号,金额,支付时间,类型\nA1,,1.00,2026-11-01 10:00:00,充值\n", "BAD_VALUE", 2),
        ("商户订单号,退款单号,金额,支付时间,类型\nA1,,1.00,2026-11-01 10:00:00,支付,extra\n", "COLUMN_COUNT", 2),
    ],
)
def test_bad_rows_name_code_line_and_field(text: str, code: str, line: int) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(text.encode("gb18030"))
    assert (caught.value.code, caught.value.where.line) == (code, line)


def test_wrong_encoding_is_reported() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(GB_FILE.encode("gb18030"), encoding="utf-8")
    assert caught.value.code == "BAD_ENCODING"
