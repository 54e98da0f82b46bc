"""Property test: on random scenarios the engine gives exactly what the reference matcher gives."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.engine.compile import reconcile_day
from tally.engine.plan import Plan
from tally.records import SCHEMA

from .reference import Day, simulate

D0 = date(2026, 11, 1)


@st.composite
def records(draw: Any, source: str) -> list[dict[str, Any]]:
    rows = draw(st.lists(st.tuples(
        st.sampled_from(["A", "B", "C", "D"]),
        st.sampled_from([None, "R1", "R2"]),
        st.sampled_from(["payment", "refund"]),
        st.integers(min_value=-3, max_value=3),
        st.sampled_from(["CNY", "CNY", "CNY", "USD"]),
        st.integers(min_value=0, max_value=3),
    ), max_size=14))
    return [{"source": source, "business_day": D0 + timedelta(days=day), "record_kind": kind, "order_no": order,
             "refund_no": refund, "amount_minor": 100 + amount, "fee_minor": 0, "discount_minor": 0,
             "currency": currency, "bill_sha256": source * 64, "line_no": n + 1}
            for n, (order, refund, kind, amount, currency, day) in enumerate(rows)]


def engine_days(plan: Plan, days: list[date], ours: Path, theirs: Path) -> list[Day]:
    results, carried = [], None
    for day in days:
        outcome = reconcile_day(plan, day, [str(ours)], [str(theirs)], carried=carried)
        carried = outcome.carried
        breaks = [(b.kind, b.reason, b.ours["line_no"] if b.ours else None,
                   b.theirs["line_no"] if b.theirs else None) for b in outcome.breaks]
        results.append(Day(outcome.matched, outcome.pending, sorted(breaks, key=repr)))
    return results


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records("o"), records("t"), st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=2),
       st.sampled_from([("amount_minor", "currency"), ("amount_minor",), ("currency", "amount_minor")]),
       st.sampled_from([0, 100, 250]), st.sampled_from([(), (("record_kind", ("payment",)),)]))
def test_engine_equals_reference(ours: list[dict], theirs: list[dict], carry: int, tolerance: int,
                                 compare: tuple[str, ...], bp: int, filters: tuple) -> None:
    plan = Plan("p", ("o",), ("t",), compare=compare, carry_over_days=carry, tolerance_minor=tolerance,
                tolerance_bp=bp, ours_filters=filters, theirs_filters=filters)
    with tempfile.TemporaryDirectory() as folder:
        o, t = Path(folder) / "o.parquet", Path(folder) / "t.parquet"
        pq.write_table(pa.Table.from_pylist(ours, schema=SCHEMA), o)
        pq.write_table(pa.Table.from_pylist(theirs, schema=SCHEMA), t)
        days = [D0 + timedelta(days=offset) for offset in range(4 + carry)]
        assert engine_days(plan, days, o, t) == simulate(plan, days, ours, theirs)
