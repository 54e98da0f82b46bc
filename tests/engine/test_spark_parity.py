"""The same plans on Apache Spark (local mode) give exactly DuckDB's results."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tally.breaks.models import Break, DayResult
from tally.engine.compile import connect, reconcile_day
from tally.engine.plan import Plan
from tally.records import SCHEMA
from tally.services import demo
from tally.services.running import run_plan

pytestmark = pytest.mark.spark
D0 = date(2026, 11, 1)


@pytest.fixture(scope="module", autouse=True)
def spark() -> Any:
    return connect("spark")


def scenario(seed: int, source: str) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}{source}")
    return [{"source": source, "business_day": D0 + timedelta(days=rng.randrange(4)),
             "record_kind": rng.choice(["payment", "refund"]), "order_no": rng.choice("ABCDEFG"),
             "refund_no": rng.choice([None, "R1"]), "amount_minor": 100 + rng.randrange(-2, 3), "fee_minor": 0,
             "discount_minor": 0, "currency": rng.choice(["CNY", "CNY", "USD"]), "bill_sha256": source * 64,
             "line_no": n + 1, "status": "SUCCESS"} for n in range(rng.randrange(5, 25))]


def comparable(outcome: Any) -> tuple:
    def record(r: dict[str, Any] | None) -> tuple | None:
        return None if r is None else tuple(sorted((k, str(v)) for k, v in r.items()))

    return (outcome.matched, outcome.pending,
            sorted((b.kind, b.reason, record(b.ours), record(b.theirs)) for b in outcome.breaks))


@pytest.mark.parametrize("seed", range(6))
def test_random_scenarios_agree(tmp_path: Path, seed: int) -> None:
    o, t = tmp_path / "o.parquet", tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(scenario(seed, "o"), schema=SCHEMA), o)
    pq.write_table(pa.Table.from_pylist(scenario(seed, "t"), schema=SCHEMA), t)
    plan = Plan("p", ("o",), ("t",), carry_over_days=seed % 3, tolerance_minor=seed % 2)
    carried_duck = carried_spark = None
    for offset in range(4 + plan.carry_over_days):
        day = D0 + timedelta(days=offset)
        duck = reconcile_day(plan, day, [str(o)], [str(t)], engine="duckdb", carried=carried_duck)
        spark = reconcile_day(plan, day, [str(o)], [str(t)], engine="spark", carried=carried_spark)
        assert comparable(spark) == comparable(duck), f"seed {seed}, day {day}"
        assert spark.carried.to_pylist() == duck.carried.to_pylist()
        carried_duck, carried_spark = duck.carried, spark.carried


@pytest.mark.django_db
def test_the_demo_gives_the_same_days_and_breaks_on_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    demo.build(3)
    days = list(DayResult.objects.values_list("day", "matched", "pending", "short", "long", "mismatch"))
    breaks = {b.identity: (b.kind, b.reason, b.ours, b.theirs) for b in Break.objects.all()}
    monkeypatch.setenv("TALLY_ENGINE", "spark")
    run_plan(demo.PLAN, date(2026, 11, 1), date(2026, 11, 3))
    assert list(DayResult.objects.values_list("day", "matched", "pending", "short", "long", "mismatch")) == days
    assert {b.identity: (b.kind, b.reason, b.ours, b.theirs) for b in Break.objects.all()} == breaks
    assert set(DayResult.objects.values_list("manifest__engine", flat=True)) == {"spark"}


def test_candidate_pairs_and_group_suggestions_agree(tmp_path: Path) -> None:
    # Candidates run in Python on the query's rows, so their order must not matter: payouts and
    # bank credits with no shared key, where pairs, ties and groups of 2..4 fit.
    rng = random.Random(11)

    def rec(source: str, n: int) -> dict[str, Any]:
        return {"source": source, "business_day": D0 + timedelta(days=rng.randrange(3)), "record_kind": "payout",
                "order_no": f"{source}-{rng.randrange(50)}", "channel_txn_id": f"{source}{n}",
                "amount_minor": rng.choice([100, 200, 300, 500, 600, 800]), "fee_minor": 0, "discount_minor": 0,
                "currency": "CNY", "bill_sha256": source * 64, "line_no": n + 1, "status": "SUCCESS"}

    o, t = tmp_path / "o.parquet", tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([rec("o", n) for n in range(30)], schema=SCHEMA), o)
    pq.write_table(pa.Table.from_pylist([rec("t", n) for n in range(12)], schema=SCHEMA), t)
    plan = Plan.from_spec("p", {"ours": "o", "theirs": "t", "keys": ["channel_txn_id"], "carry_over_days": 1,
                                "candidates": {"window_days": 1, "text": ["order_no"], "group_max": 4}})
    carried_duck = carried_spark = None
    groups = 0
    for offset in range(5):
        day = D0 + timedelta(days=offset)
        duck = reconcile_day(plan, day, [str(o)], [str(t)], engine="duckdb", carried=carried_duck)
        spark = reconcile_day(plan, day, [str(o)], [str(t)], engine="spark", carried=carried_spark)
        assert comparable(spark) == comparable(duck), f"day {day}"
        assert sorted(repr((b.kind, b.ours, b.theirs, b.suggestions)) for b in spark.breaks) == sorted(
            repr((b.kind, b.ours, b.theirs, b.suggestions)) for b in duck.breaks), f"day {day}"
        assert spark.carried.to_pylist() == duck.carried.to_pylist()
        carried_duck, carried_spark = duck.carried, spark.carried
        groups += sum("group" in s for b in duck.breaks for s in b.suggestions)
    assert groups > 0
