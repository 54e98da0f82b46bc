"""Candidate matching: a bank statement against payouts, with no shared reference."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tally.engine.compile import reconcile_day
from tally.engine.plan import Plan
from tally.errors import ConfigError
from tally.records import SCHEMA

D1 = date(2026, 11, 1)
SPEC = {"ours": "payouts", "theirs": "bank", "keys": ["channel_txn_id"], "carry_over_days": 2,
        "candidates": {"window_days": 2, "text": ["order_no"]}}


def rec(line: int, amount: int, ref: str, day: date, txn: str) -> dict:
    return {"source": "s", "business_day": day, "record_kind": "payout", "order_no": ref, "channel_txn_id": txn,
            "amount_minor": amount, "fee_minor": 0, "discount_minor": 0, "currency": "CNY", "bill_sha256": "x",
            "line_no": line}


def run(tmp_path: Path, ours: list[dict], theirs: list[dict], days: int = 3) -> list:
    o, t = tmp_path / "o.parquet", tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(ours, schema=SCHEMA), o)
    pq.write_table(pa.Table.from_pylist(theirs, schema=SCHEMA), t)
    plan = Plan.from_spec("p", SPEC)
    out, carried = [], None
    for n in range(days):
        result = reconcile_day(plan, D1 + timedelta(days=n), [str(o)], [str(t)], carried=carried)
        carried = result.carried
        out.append((result.matched, result.pending,
                    sorted((b.kind, b.order_no, [s["line_no"] for s in b.suggestions]) for b in result.breaks)))
    return out


def test_a_unique_amount_within_the_window_is_matched(tmp_path: Path) -> None:
    payouts = [rec(1, 5000, "PO-1", D1, "po_1"), rec(2, 7000, "PO-2", D1, "po_2")]
    bank = [rec(1, 7000, "STRIPE PO-2", D1 + timedelta(days=1), "b1"), rec(2, 5000, "STRIPE PO-1", D1, "b2")]
    assert run(tmp_path, payouts, bank) == [(1, 1, []), (1, 0, []), (0, 0, [])]


def test_text_similarity_picks_the_unique_best_of_equal_amounts(tmp_path: Path) -> None:
    payouts = [rec(1, 5000, "PO-1111", D1, "po_1"), rec(2, 5000, "PO-2222", D1, "po_2")]
    bank = [rec(1, 5000, "TRANSFER PO-2222", D1, "b1"), rec(2, 5000, "TRANSFER PO-1111", D1, "b2")]
    assert run(tmp_path, payouts, bank, days=1) == [(2, 0, [])]


def test_ties_are_suggestions_never_guesses(tmp_path: Path) -> None:
    payouts = [rec(1, 5000, "X", D1, "po_1"), rec(2, 5000, "X", D1, "po_2")]
    bank = [rec(1, 5000, "Y", D1, "b1")]
    out = run(tmp_path, payouts, bank)
    assert out[0] == (0, 3, [])
    assert out[2] == (0, 0, [("long", "Y", [1, 2]), ("short", "X", [1]), ("short", "X", [1])])


def test_amounts_outside_the_window_are_not_candidates(tmp_path: Path) -> None:
    payouts = [rec(1, 5000, "PO-1", D1, "po_1")]
    bank = [rec(1, 5000, "PO-1", D1 + timedelta(days=3), "b1")]
    out = run(tmp_path, payouts, bank, days=4)
    assert out[2] == (0, 0, [("short", "PO-1", [])])


@pytest.mark.parametrize("bad", [{"window_days": -1}, {"text": ["amount_minor"]}, {"min_similarity": 2},
                                 {"colour": 1}])
def test_bad_candidate_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ConfigError):
        Plan.from_spec("p", {**SPEC, "candidates": bad})
