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


def outcomes(tmp_path: Path, ours: list[dict], theirs: list[dict], days: int, spec: dict) -> list:
    o, t = tmp_path / "o.parquet", tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(ours, schema=SCHEMA), o)
    pq.write_table(pa.Table.from_pylist(theirs, schema=SCHEMA), t)
    plan = Plan.from_spec("p", spec)
    out, carried = [], None
    for n in range(days):
        result = reconcile_day(plan, D1 + timedelta(days=n), [str(o)], [str(t)], carried=carried)
        carried = result.carried
        out.append(result)
    return out


def run(tmp_path: Path, ours: list[dict], theirs: list[dict], days: int = 3) -> list:
    return [(result.matched, result.pending,
             sorted((b.kind, b.order_no, [s["line_no"] for s in b.suggestions]) for b in result.breaks))
            for result in outcomes(tmp_path, ours, theirs, days, SPEC)]


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
                                 {"colour": 1}, {"group_max": 1}, {"group_max": 6}, {"group_max": -1},
                                 {"group_max": "4"}, {"group_max": True}, {"group_max": 2.5}])
def test_bad_candidate_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ConfigError):
        Plan.from_spec("p", {**SPEC, "candidates": bad})


GROUPED = {**SPEC, "candidates": {"window_days": 2, "text": ["order_no"], "group_max": 4}}


def groups_of(result: object) -> list[tuple[str, str, list[list[int]]]]:
    return sorted((b.kind, b.order_no, [[m["line_no"] for m in s["group"]] for s in b.suggestions if "group" in s])
                  for b in result.breaks)  # type: ignore[attr-defined]


def test_a_credit_paying_payouts_of_an_earlier_day_is_suggested_the_group_never_matched(tmp_path: Path) -> None:
    payouts = [rec(1, 3000, "PO-1", D1, "po_1"), rec(2, 4500, "PO-2", D1, "po_2"), rec(3, 900, "PO-3", D1, "po_3")]
    bank = [rec(7, 7500, "STRIPE PAYOUTS", D1 + timedelta(days=1), "b1")]
    days = outcomes(tmp_path, payouts, bank, 6, GROUPED)
    assert [(d.matched, d.pending, len(d.breaks)) for d in days] == [
        (0, 3, 0), (0, 4, 0), (0, 1, 3), (0, 0, 1), (0, 0, 0), (0, 0, 0)]
    # The payouts break on D1+2; the credit on D1+3, when they are no longer pending: they were
    # carried as recent breaks so the credit still finds them.
    assert groups_of(days[2]) == [("short", "PO-1", []), ("short", "PO-2", []), ("short", "PO-3", [])]
    assert groups_of(days[3]) == [("long", "STRIPE PAYOUTS", [[1, 2]])]
    (suggestion,) = days[3].breaks[0].suggestions
    assert (suggestion["amount_minor"], suggestion["currency"]) == (7500, "CNY")
    assert [(m["side"], m["amount_minor"], m["source"], m["bill_sha256"]) for m in suggestion["group"]] == [
        ("ours", 3000, "s", "x"), ("ours", 4500, "s", "x")]
    # Broken records are carried while a later break may still group them (up to business day +
    # carry_over_days + window_days), for groups only: never paired again, never counted.
    assert [d.carried.column("side").to_pylist() for d in days[2:]] == [
        ["ours_break"] * 3 + ["theirs"], ["ours_break"] * 3 + ["theirs_break"],
        ["theirs_break"], []]


def test_one_payout_against_several_credits_keeps_every_fitting_group(tmp_path: Path) -> None:
    payouts = [rec(1, 1000, "PO-1", D1, "po_1")]
    bank = [rec(n, amount, f"B{n}", D1, f"b{n}") for n, amount in enumerate((400, 600, 300, 700, 999), start=1)]
    days = outcomes(tmp_path, payouts, bank, 3, GROUPED)
    assert [(d.matched, d.pending) for d in days] == [(0, 6), (0, 6), (0, 0)]
    short = next(b for b in days[2].breaks if b.kind == "short")
    assert sorted(sorted(m["line_no"] for m in s["group"]) for s in short.suggestions) == [[1, 2], [3, 4]]


def test_plans_without_groups_carry_only_pending_records(tmp_path: Path) -> None:
    payouts = [rec(1, 3000, "PO-1", D1, "po_1"), rec(2, 4500, "PO-2", D1, "po_2")]
    bank = [rec(7, 7500, "STRIPE PAYOUTS", D1 + timedelta(days=1), "b1")]
    days = outcomes(tmp_path, payouts, bank, 4, SPEC)
    assert [d.carried.num_rows for d in days] == [2, 3, 1, 0]
    assert groups_of(days[3]) == [("long", "STRIPE PAYOUTS", [])]
