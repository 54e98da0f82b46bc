"""``tally bench --web`` end to end on a small scale: its own PostgreSQL database, a lake day,
``tally serve``, logged-in users hammering both pages; every request answered; all cleaned up."""

from __future__ import annotations

import uuid

import psycopg

from tally import bench_web


def test_the_web_benchmark_runs_and_cleans_up() -> None:
    db = f"tally_bench_test_{uuid.uuid4().hex[:8]}"
    result = bench_web.run(breaks=3_000, records=20_000, users=3, requests=60, think=0.1, db=db)
    assert (result["breaks"], result["lake_records"], result["users"], result["requests"]) == (3_000, 20_000, 3, 60)
    # Each user pauses 0.05–0.15 s before each of its ~20 pages: at least a second in all.
    assert result["think_s"] == 0.1
    assert result["wall_s"] >= 1.0
    assert result["errors"] == 0
    assert set(result["pages"]) == {"queue: all", "queue: open", "queue: plan+day", "queue: order no.",
                                    "queue: page n", "browser: first page", "browser: next page",
                                    "browser: search", "browser: refunds", "browser: count"}
    assert result["break_queue"]["n"] == 30
    assert result["data_browser"]["n"] == 24  # the count requests are reported apart
    assert 0 < result["break_queue"]["p50_ms"] <= result["break_queue"]["p95_ms"] <= result["break_queue"]["max_ms"]
    with psycopg.connect(bench_web.ADMIN_URL) as con:
        assert con.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (db,)).fetchone() == (0,)
