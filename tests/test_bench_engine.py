"""`tally bench` (the engine) runs end to end on a small scale: the three contenders agree on the
planted breaks; the multi-day mode carries records over; and a memory cap makes DuckDB spill
rather than fail (no timing asserted: targets live in docs/benchmarks.md)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb
import pytest

from tally.cli import main
from tally.engine import bench
from tally.engine.compile import reconcile_day
from tally.errors import ConfigError

pytestmark = pytest.mark.django_db


def test_engine_bench_prints_the_contract_json(capsys) -> None:
    assert main(["bench", "--rows", "30000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"rows", "tally_s", "duckdb_sql_s", "pandas_s", "tally_peak_rss_mb", "same_result"}
    assert result["rows"] == 30000
    assert result["same_result"] is True
    assert result["tally_s"] > 0
    assert result["duckdb_sql_s"] > 0
    assert result["pandas_s"] > 0


def test_days_with_carry_over_pair_records_across_midnight() -> None:
    result = bench.run_days(3000, 3)
    # Day 1 pairs its own records and, carried over, day 0's record that arrived late.
    assert result["days"] == 3
    assert result["matched_last_day"] == 3000
    assert result["ratio"] > 0


def test_a_day_larger_than_the_memory_cap_spills_and_gives_the_same_result(monkeypatch) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tally-spill-test-"))
    ours, theirs = bench.generate(folder, 1_000_000)
    cap = "60MB"
    # The cap is below the day's working set: the bare join with nowhere to spill runs out of memory.
    bare = duckdb.connect()
    bare.execute(f"SET temp_directory = ''; SET memory_limit = '{cap}'")
    join = bench.HAND_WRITTEN.replace("copy (", "select count(*) from (", 1).replace(
        ") to '{out}' (format parquet)", ")")
    with pytest.raises(duckdb.OutOfMemoryException):
        bare.execute(join.format(ours=ours, theirs=theirs)).fetchall()
    free = reconcile_day(bench.PLAN, bench.DAY, [str(ours)], [str(theirs)])
    monkeypatch.setenv("TALLY_ENGINE_MEMORY", cap)
    capped = reconcile_day(bench.PLAN, bench.DAY, [str(ours)], [str(theirs)])
    assert (capped.matched, capped.pending) == (free.matched, free.pending) == (999_000, 0)
    assert [(b.kind, b.order_no) for b in capped.breaks] == [(b.kind, b.order_no) for b in free.breaks]
    # Planted every 3000th line: 334 short, 333 mismatches, 333 renamed keys (each a short and a long).
    assert len(free.breaks) == 1_333


def test_a_memory_cap_that_is_not_a_size_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("TALLY_ENGINE_MEMORY", "lots")
    with pytest.raises(ConfigError) as refused:
        reconcile_day(bench.PLAN, bench.DAY, [], [])
    assert refused.value.code == "BAD_ENGINE_MEMORY"
