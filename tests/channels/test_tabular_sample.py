"""A sample file before it has a source: sniffing, the proposed mapping, the preview with every error."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from tally.channels.tabular.guess import normalize, propose
from tally.channels.tabular.sample import preview, sniff

GB_SAMPLE = (
    "某某商城交易明细\n"
    "起止日期：2026-11-01 至 2026-11-01\n"
    "商户订单号,退款单号,订单金额(元),支付时间,交易类型,币种,手续费,备注\n"
    "A1,,12.34,2026-11-01 10:00:00,支付,CNY,0.07,一\n"
    "A1,RA1,2.00,2026-11-01 11:00:00,退款,CNY,0.00,二\n"
    "A2,,abc,2026-11-01 12:00:00,支付,CNY,0.00,三\n"
    "A3,,1.00,2026-11-01 13:00:00,充值,CNY,0.00,四\n"
).encode("gb18030")


def test_sniff_finds_encoding_delimiter_and_header_past_title_lines() -> None:
    found = sniff(GB_SAMPLE, "orders.csv")
    assert (found.format, found.encoding, found.delimiter, found.header_line) == ("csv", "gb18030", ",", 3)
    assert found.headers[:4] == ["商户订单号", "退款单号", "订单金额(元)", "支付时间"]
    assert found.values["交易类型"] == ["支付", "退款", "充值"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["商户订单号", "退款单号", "订单金额(元)", "支付时间", "交易类型", "币种", "手续费"],
         {"order_no": "商户订单号", "refund_no": "退款单号", "amount_minor": "订单金额(元)", "occurred_at": "支付时间",
          "record_kind": "交易类型", "currency": "币种", "fee_minor": "手续费"}),
        (["out_trade_no", "out_refund_no", "total", "paid_at", "type", "Currency", "Fee"],
         {"order_no": "out_trade_no", "refund_no": "out_refund_no", "amount_minor": "total", "occurred_at": "paid_at",
          "record_kind": "type", "currency": "Currency", "fee_minor": "Fee"}),
        (["Order ID", "Refund ID", "Amount", "Created", "SKU", "Qty"],
         {"order_no": "Order ID", "refund_no": "Refund ID", "amount_minor": "Amount", "occurred_at": "Created",
          "item": "SKU", "quantity": "Qty"}),
        (["订单号", "商户订单号", "手续费金额", "交易金额", "商品", "数量"],
         {"order_no": "商户订单号", "fee_minor": "手续费金额", "amount_minor": "交易金额", "item": "商品",
          "quantity": "数量"}),
        (["备注", "说明"], {}),
    ],
)
def test_propose_maps_chinese_and_english_synonyms(headers: list[str], expected: dict[str, str]) -> None:
    assert propose(headers).columns == expected


def test_propose_value_maps_and_units() -> None:
    proposal = propose(["订单号", "金额(分)", "类型", "收支方向"],
                       {"类型": ["支付", "退款", "手续费", "神秘"], "收支方向": ["收入", "支出"]})
    assert proposal.values["record_kind"] == {"支付": "payment", "退款": "refund", "手续费": "fee"}
    assert proposal.values["direction"] == {"收入": "in", "支出": "out"}
    assert proposal.amount_unit == "minor"
    assert normalize(" Out_Trade-No ") == "outtradeno"


def mapping(**extra: Any) -> dict[str, Any]:
    found = sniff(GB_SAMPLE, "orders.csv")
    proposal = propose(found.headers, found.values)
    return {"kind": "table", **found.options(), "timezone": "Asia/Shanghai", "columns": proposal.columns,
            "values": proposal.values, **extra}


def test_preview_lists_the_first_records_and_every_row_error() -> None:
    result = preview(GB_SAMPLE, mapping(), file_name="orders.csv")
    assert [r["order_no"] for r in result.records] == ["A1", "A1"]
    assert [r["amount_minor"] for r in result.records] == [1234, -200]
    assert result.records[0]["fee_minor"] == 7
    assert [(e.code, e.where.line, e.where.field) for e in result.errors] == [
        ("BAD_AMOUNT", 6, "订单金额(元)"), ("BAD_VALUE", 7, "交易类型")]
    assert (result.rows, result.error_count, result.ok) == (4, 2, False)


def test_preview_of_a_clean_file_limits_records() -> None:
    lines = ["order,amount,time"] + [f"A{n},1.00,2026-11-01 10:00:00" for n in range(30)]
    options = {"kind": "table", "currency": "CNY",
               "columns": {"order_no": "order", "amount_minor": "amount", "occurred_at": "time"}}
    result = preview("\n".join(lines).encode(), options)
    assert (len(result.records), result.rows, result.ok) == (20, 30, True)


def test_preview_reports_a_file_level_error_once() -> None:
    result = preview(b"x,y\n1,2\n", {"kind": "table", "currency": "CNY",
                                     "columns": {"amount_minor": "amount", "occurred_at": "time"}})
    assert [e.code for e in result.errors] == ["MISSING_COLUMN"]


def test_sniff_a_workbook_and_json() -> None:
    book = openpyxl.Workbook()
    book.active.title = "明细"
    for row in (["报表"], ["Order ID", "Amount", "Created"], ["A1", 1.5, "2026-11-01 10:00:00"]):
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    found = sniff(out.getvalue(), "report.xlsx")
    assert (found.format, found.sheet, found.sheets, found.header_line) == ("xlsx", "明细", ["明细"], 2)
    assert found.headers == ["Order ID", "Amount", "Created"]
    found = sniff(b'[{"out_trade_no": "A1", "total": "1.00", "type": "PAY"}]', "orders.json")
    assert (found.format, found.headers, found.values["type"]) == ("json", ["out_trade_no", "total", "type"], ["PAY"])
