"""The day query's outcomes, one small scenario per rule (CONTRACT.md "How a run counts")."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tally.engine.compile import reconcile_day
from tally.engine.plan import Plan
from tally.records import SCHEMA

D1 = date(2026, 11, 1)


def rec(day: date, order: str, amount: int, *, kind: str = "payment", refund: str | None = None,
        currency: str = "CNY", line: int = 1) -> dict[str, Any]:
    return {"source": "s", "business_day": day, "record_kind": kind, "order_no": order, "refund_no": refund,
            "amount_minor": amount, "fee_minor": 0, "discount_minor": 0, "currency": currency, "bill_sha256": "x",
            "line_no": line}


def run(tmp_path: Path, ours: list[dict], theirs: list[dict], days: int = 3, **plan: Any) -> list[tuple]:
    o, t = tmp_path / "o.parquet", tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(ours, schema=SCHEMA), o)
    pq.write_table(pa.Table.from_pylist(theirs, schema=SCHEMA), t)
    spec = Plan("p", ("ours",), ("theirs",), **plan)
    out, carried = [], None
    for n in range(days):
        day = D1 + timedelta(days=n)
        result = reconcile_day(spec, day, [str(o)], [str(t)], carried=carried)
        carried = result.carried
        out.append((result.matched, result.pending, sorted((b.kind, b.reason, b.order_no) for b in result.breaks)))
    return out


def test_equal_records_match_on_their_day(tmp_path: Path) -> None:
    assert run(tmp_path, [rec(D1, "A", 100)], [rec(D1, "A", 100)], days=2) == [(1, 0, []), (0, 0, [])]


def test_amount_difference_is_a_mismatch_at_once(tmp_path: Path) -> None:
    out = run(tmp_path, [rec(D1, "A", 100)], [rec(D1, "A", 99)], days=1)
    assert out == [(0, 0, [("mismatch", "amount_mismatch", "A")])]


def test_currency_difference_has_its_reason(tmp_path: Path) -> None:
    out = run(tmp_path, [rec(D1, "A", 100)], [rec(D1, "A", 100, currency="USD")], days=1)
    assert out == [(0, 0, [("mismatch", "currency_mismatch", "A")])]


def test_cross_midnight_pair_is_pending_then_matched_on_the_later_day(tmp_path: Path) -> None:
    out = run(tmp_path, [rec(D1, "A", 100)], [rec(D1 + timedelta(days=1), "A", 100)])
    assert out == [(0, 1, []), (1, 0, []), (0, 0, [])]


def test_one_sided_records_wait_carry_over_days_then_break(tmp_path: Path) -> None:
    out = run(tmp_path, [rec(D1, "S", 100)], [rec(D1, "L", 100)], days=3, carry_over_days=2)
    assert out == [(0, 2, []), (0, 2, []), (0, 0, [("long", "only_theirs", "L"), ("short", "only_ours", "S")])]


def test_counterpart_beyond_the_window_does_not_rescue_a_break(tmp_path: Path) -> None:
    out = run(tmp_path, [rec(D1, "A", 100)], [rec(D1 + timedelta(days=2), "A", 100)], days=4)
    assert out == [(0, 1, []), (0, 0, [("short", "only_ours", "A")]), (0, 1, []),
                   (0, 0, [("long", "only_theirs", "A")])]


def test_refunds_key_on_refund_number_and_null_equals_null(tmp_path: Path) -> None:
    ours = [rec(D1, "A", 100), rec(D1, "A", -40, kind="refund", refund="R1"),
            rec(D1, "A", -10, kind="refund", refund="R2")]
    theirs = [rec(D1, "A", 100), rec(D1, "A", -40, kind="refund", refund="R1")]
    out = run(tmp_path, ours, theirs, days=2)
    assert out == [(2, 1, []), (0, 0, [("short", "only_ours", "A")])]


def test_a_key_that_pairs_twice_is_never_collapsed(tmp_path: Path) -> None:
    ours = [rec(D1, "A", 100, line=1), rec(D1, "A", 100, line=2), rec(D1, "B", 5, line=3)]
    out = run(tmp_path, ours, [rec(D1, "A", 100), rec(D1, "B", 5, line=2)], days=1, carry_over_days=0)
    assert out == [(1, 0, [("long", "duplicate", "A"), ("short", "duplicate", "A"), ("short", "duplicate", "A")])]


def test_one_sided_records_sharing_a_key_are_duplicates(tmp_path: Path) -> None:
    out = run(tmp_path, [rec(D1, "A", 100, line=1), rec(D1, "A", 100, line=2)], [], days=1, carry_over_days=0)
    assert out == [(0, 0, [("short", "duplicate", "A"), ("short", "duplicate", "A")])]


@pytest.mark.parametrize(("difference", "tolerance", "matched"), [(4, 5, True), (5, 5, True), (6, 5, False),
                                                                  (-5, 5, True), (-6, 5, False), (1, 0, False)])
def test_tolerance_boundaries(tmp_path: Path, difference: int, tolerance: int, matched: bool) -> None:
    out = run(tmp_path, [rec(D1, "A", 1000)], [rec(D1, "A", 1000 + difference)], days=1, tolerance_minor=tolerance)
    assert (out[0][0] == 1) is matched


def test_no_files_on_one_side_make_everything_pending(tmp_path: Path) -> None:
    spec = Plan("p", ("ours",), ("theirs",))
    o = tmp_path / "o.parquet"
    pq.write_table(pa.Table.from_pylist([rec(D1, "A", 1)], schema=SCHEMA), o)
    result = reconcile_day(spec, D1, [str(o)], [])
    assert (result.matched, result.pending, result.breaks) == (0, 1, [])


def test_only_the_days_records_count_whatever_else_a_file_holds(tmp_path: Path) -> None:
    # A lake file holds one day, whose filter the engine leaves out (its statistics prove it);
    # a file holding other days' records too is filtered: both give the day's own outcome.
    spec = Plan("p", ("ours",), ("theirs",), carry_over_days=0)
    d2 = D1 + timedelta(days=1)
    files = {}
    for name, records in {"one_day": [rec(D1, "A", 100, line=1), rec(D1, "B", 7, line=2)],
                          "two_days": [rec(D1, "A", 100, line=1), rec(D1, "B", 7, line=2), rec(d2, "C", 5, line=3)],
                          "other_day": [rec(d2, "C", 5, line=1)],
                          "theirs": [rec(D1, "A", 100, line=1)]}.items():
        files[name] = str(tmp_path / f"{name}.parquet")
        pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), files[name])
    for ours in (["one_day"], ["two_days"], ["one_day", "other_day"]):
        result = reconcile_day(spec, D1, [files[name] for name in ours], [files["theirs"]])
        assert (result.matched, result.pending) == (1, 0), ours
        assert [(b.kind, b.order_no, b.ours and b.ours["line_no"]) for b in result.breaks] == [("short", "B", 2)], ours
