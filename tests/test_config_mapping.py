"""Validation of ``table`` source declarations: every option refused with the field it concerns."""

from __future__ import annotations

from typing import Any

import pytest

from tally.config import validate_source
from tally.errors import ConfigError

GOOD: dict[str, Any] = {
    "kind": "table", "format": "csv", "currency": "CNY",
    "columns": {"order_no": "单号", "amount_minor": "金额", "occurred_at": "时间"},
}


@pytest.mark.parametrize(
    "spec",
    [
        GOOD,
        {**GOOD, "format": "xlsx", "sheet": "明细"},
        {**GOOD, "format": "xls", "sheet": 0},
        {**GOOD, "format": "json", "records_path": "data.items"},
        {**GOOD, "format": "jsonl", "encoding": "auto"},
        {**GOOD, "format": "txt", "widths": [10, 8, 19], "width_unit": "bytes", "encoding": "gb18030"},
        {**GOOD, "format": "txt", "skip_lines": 2,
         "columns": {"order_no": [1, 10], "amount_minor": [11, 18], "occurred_at": [20, 38]}},
        {**GOOD, "sign": "direction", "columns": {**GOOD["columns"], "direction": "方向"},
         "values": {"direction": {"收": "in", "支": "out"}}},
        {"kind": "table", "record_kind": "other",
         "columns": {"item": "SKU", "quantity": "数量", "business_day": "日期"}},
        {**GOOD, "delimiter": "\t", "thousands": ",", "time_format": "unix_ms"},
    ],
)
def test_valid_declarations(spec: dict[str, Any]) -> None:
    assert validate_source("shop", spec) is spec


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "pdf"}, "format"),
        ({"encoding": "klingon"}, "encoding"),
        ({"sheet": "x"}, "sheet"),
        ({"format": "xlsx", "sheet": -1}, "sheet"),
        ({"records_path": "data"}, "records_path"),
        ({"format": "json", "records_path": "data..items"}, "records_path"),
        ({"widths": [10, 0]}, "widths"),
        ({"format": "txt", "widths": [10, -1]}, "widths"),
        ({"format": "txt", "columns": {"order_no": [1, 10], "amount_minor": "金额", "occurred_at": [3, 2]}},
         "columns.order_no"),
        ({"format": "txt", "columns": {"amount_minor": [0, 10], "occurred_at": [11, 20]}}, "columns.amount_minor"),
        ({"sign": "direction"}, "sign"),
        ({"values": {"record_kind": {"支付": "pay"}}}, "values.record_kind"),
        ({"values": {"currency": {"元": "CNY"}}}, "values.currency"),
        ({"delimiter": ",,"}, "delimiter"),
        ({"skip_lines": -1}, "skip_lines"),
        ({"record_kind": "sale"}, "record_kind"),
        ({"currency": "cny"}, "currency"),
        ({"currency": None}, "currency"),
        ({"width_unit": "pixels"}, "width_unit"),
        ({"columns": {"order_no": "单号", "amount_minor": "金额"}}, "columns"),
        ({"columns": {"order_no": "单号", "occurred_at": "时间"}}, "columns"),
        ({"columns": {"amount": "金额", "occurred_at": "时间"}}, "columns.amount"),
    ],
)
def test_invalid_declarations_name_the_field(change: dict[str, Any], field: str) -> None:
    spec = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        validate_source("shop", spec)
    assert caught.value.where.field == f"sources.shop.{field}"
