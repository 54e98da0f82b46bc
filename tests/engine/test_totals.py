"""Totals plans: daily totals (账账), units per SKU (账实), and N:1 by a group key."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tally.engine.compile import reconcile_day
from tally.engine.plan import Plan
from tally.errors import ConfigError

D1 = date(2026, 11, 1)


def rec(line: int, amount: int = 0, *, order: str = "O", txn: str | None = None, currency: str = "CNY",
        item: str | None = None, quantity: int | None = None, kind: str = "payment", day: date = D1) -> dict:
    return {"source": "s", "business_day": day, "record_kind": kind, "order_no": order, "channel_txn_id": txn,
            "amount_minor": amount, "fee_minor": 0, "discount_minor": 0, "currency": currency, "item": item,
            "quantity": quantity, "bill_sha256": "x", "line_no": line}


def run(tmp_path: Path, spec: dict[str, Any], ours: list[dict], theirs: list[dict]) -> list[tuple]:
    from tally.records import SCHEMA

    o, t = tmp_path / "o.parquet", tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(ours, schema=SCHEMA), o)
    pq.write_table(pa.Table.from_pylist(theirs, schema=SCHEMA), t)
    plan = Plan.from_spec("p", {"ours": "o", "theirs": "t", "match": "totals", **spec})
    out = reconcile_day(plan, D1, [str(o)], [str(t)])
    found = sorted((b.kind, b.reason, b.order_no, b.currency, (b.ours or {}).get("total"),
                    (b.theirs or {}).get("total")) for b in out.breaks)
    return [out.matched, *found]


def test_daily_totals_per_currency(tmp_path: Path) -> None:
    ours = [rec(1, 100), rec(2, 250), rec(3, 999, currency="USD")]
    theirs = [rec(1, 350), rec(2, 998, currency="USD"), rec(3, 5, currency="EUR")]
    out = run(tmp_path, {"group_by": ["business_day"]}, ours, theirs)
    assert out == [1, ("long", "only_theirs", "2026-11-01 / EUR", "EUR", None, 5),
                   ("mismatch", "total_mismatch", "2026-11-01 / USD", "USD", 999, 998)]


def test_units_per_sku_against_stock_movements(tmp_path: Path) -> None:
    shipped = [rec(1, item="SKU-1", quantity=2), rec(2, item="SKU-1", quantity=3), rec(3, item="SKU-2", quantity=1)]
    stock = [rec(1, item="SKU-1", quantity=5), rec(2, item="SKU-2", quantity=2)]
    out = run(tmp_path, {"group_by": ["item"], "measure": "quantity"}, shipped, stock)
    assert out == [1, ("mismatch", "total_mismatch", "SKU-2", "XXX", 1, 2)]


def test_settlement_batch_against_its_orders(tmp_path: Path) -> None:
    orders = [rec(1, 100, order="A", txn="B1"), rec(2, 200, order="B", txn="B1"), rec(3, 50, order="C", txn="B2")]
    batches = [rec(1, 300, order="B1"), rec(2, 40, order="B2")]
    spec = {"group_by": {"ours": ["channel_txn_id"], "theirs": ["order_no"]}, "tolerance_minor": 5}
    assert run(tmp_path, spec, orders, batches) == [1, ("mismatch", "total_mismatch", "B2 / CNY", "CNY", 50, 40)]


def test_filters_and_relative_tolerance(tmp_path: Path) -> None:
    ours = [rec(1, 10_000), rec(2, -500, kind="refund")]
    theirs = [rec(1, 10_040)]
    spec = {"group_by": ["business_day"], "filters": {"record_kind": ["payment"]}, "tolerance_bp": 40}
    assert run(tmp_path, spec, ours, theirs) == [1]
    spec["tolerance_bp"] = 39
    assert run(tmp_path, spec, ours, theirs)[0] == 0


@pytest.mark.parametrize("spec", [{"group_by": ["amount_minor"]}, {"group_by": {"ours": ["order_no"], "theirs": []}},
                                  {"group_by": ["item"], "measure": "fee"}, {"match": "pairs"},
                                  {"group_by": ["item"], "filters": {"amount_minor": ["1"]}}])
def test_bad_totals_plans_are_refused(spec: dict) -> None:
    with pytest.raises(ConfigError):
        Plan.from_spec("p", {"ours": "o", "theirs": "t", "match": "totals", **spec})
