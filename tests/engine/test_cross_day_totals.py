"""The day engine counts pairs matched across business days; ``totals`` sums lake files per currency."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tally.engine.compile import reconcile_day, totals
from tally.engine.plan import Plan
from tally.records import SCHEMA

D1 = date(2026, 11, 1)
D2 = D1 + timedelta(days=1)


def rec(day: date, order: str, amount: int, *, currency: str = "CNY", fee: int = 0, discount: int = 0,
        line: int = 1) -> dict[str, Any]:
    return {"source": "s", "business_day": day, "record_kind": "payment", "order_no": order, "refund_no": None,
            "amount_minor": amount, "fee_minor": fee, "discount_minor": discount, "currency": currency,
            "bill_sha256": "x", "line_no": line}


def write(path: Path, rows: list[dict[str, Any]]) -> str:
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return str(path)


def test_pairs_matched_on_carry_over_are_counted_on_the_later_day(tmp_path: Path) -> None:
    ours = write(tmp_path / "o.parquet", [rec(D1, "A", 100, line=1), rec(D1, "B", 5, line=2),
                                          rec(D2, "C", 7, line=3)])
    theirs = write(tmp_path / "t.parquet", [rec(D2, "A", 100, line=1), rec(D1, "B", 5, line=2),
                                            rec(D1, "C", 8, line=3)])
    plan = Plan("p", ("o",), ("t",))
    first = reconcile_day(plan, D1, [ours], [theirs])
    second = reconcile_day(plan, D2, [ours], [theirs], carried=first.carried)
    assert (first.matched, first.cross_day) == (1, 0)  # B, same day
    assert (second.matched, second.cross_day) == (1, 1)  # A: ours D1, theirs D2
    # C differs in amount across days: a mismatch break, not a cross-day match.
    assert [b.order_no for b in second.breaks] == ["C"]


def test_no_carry_over_means_no_cross_day(tmp_path: Path) -> None:
    ours = write(tmp_path / "o.parquet", [rec(D1, "A", 100)])
    theirs = write(tmp_path / "t.parquet", [rec(D1, "A", 100)])
    outcome = reconcile_day(Plan("p", ("o",), ("t",), carry_over_days=0), D1, [ours], [theirs])
    assert (outcome.matched, outcome.cross_day) == (1, 0)


def test_totals_per_currency(tmp_path: Path) -> None:
    one = write(tmp_path / "a.parquet", [rec(D1, "A", 1000, fee=6, discount=100), rec(D1, "B", -300, fee=-2)])
    two = write(tmp_path / "b.parquet", [rec(D1, "C", 250, currency="USD", fee=1)])
    assert totals([one, two]) == {
        "CNY": {"records": 2, "amount_minor": 700, "fee_minor": 4, "discount_minor": 100},
        "USD": {"records": 1, "amount_minor": 250, "fee_minor": 1, "discount_minor": 0},
    }
    assert totals([]) == {}
