"""`tally bench`: Tally's reconcile step beside a hand-written DuckDB query and a pandas merge.

All three read the same normalized Parquet (one business day, N ours × N theirs records with
0.1 % planted breaks: a third short, a third long, a third amount mismatches) and write their
breaks. Each runs in a child process of its own so its peak RSS is its own.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from tally.engine.compile import reconcile_day
from tally.engine.plan import Plan

DAY = date(2026, 11, 1)
PANDAS_MAX_ROWS = 10_000_000
PLAN = Plan("bench", ("ours",), ("theirs",), keys=("order_no", "refund_no", "record_kind"),
            compare=("amount_minor", "currency"), carry_over_days=0)


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    """Two Parquet files in the lake schema; every 1000th key carries a planted break."""
    ours, theirs = folder / "ours.parquet", folder / "theirs.parquet"
    con = duckdb.connect()
    base = f"""
        select 'ours' as source, DATE '{DAY}' as business_day, 'payment' as record_kind,
               printf('O%010d', i) as order_no, NULL::VARCHAR as refund_no, printf('42%018d', i) as channel_txn_id,
               (100 + (i * 7919) % 99900)::BIGINT as amount_minor, 0::BIGINT as fee_minor, 0::BIGINT as discount_minor,
               'CNY' as currency, TIMESTAMPTZ '2026-11-01 02:00:00+00' + to_seconds(i % 86400) as occurred_at,
               'SUCCESS' as status, NULL::VARCHAR as item, NULL::BIGINT as quantity,
               repeat('a', 64) as bill_sha256, (i + 2)::BIGINT as line_no
        from range({rows}) t(i)
    """
    con.execute(f"copy (select * from ({base}) where (line_no - 2) % 3000 != 0) to '{ours}' (format parquet)")
    con.execute(f"""copy (
        select * replace ('theirs' as source, repeat('b', 64) as bill_sha256,
                          case when (line_no - 2) % 3000 = 1000 then amount_minor + 1 else amount_minor end
                              as amount_minor,
                          case when (line_no - 2) % 3000 = 2000 then order_no || 'X' else order_no end as order_no)
        from ({base})) to '{theirs}' (format parquet)""")
    con.close()
    return ours, theirs


def _tally(ours: Path, theirs: Path, out: Path) -> tuple[float, Any]:
    start = time.perf_counter()
    outcome = reconcile_day(PLAN, DAY, [str(ours)], [str(theirs)])
    elapsed = time.perf_counter() - start
    return elapsed, sorted((b.kind, b.order_no or "") for b in outcome.breaks)


HAND_WRITTEN = """
copy (
    select case when o.order_no is null then 'long' when t.order_no is null then 'short' else 'mismatch' end
               as kind,
           coalesce(o.order_no, t.order_no) as order_no, o.amount_minor as ours_amount_minor,
           t.amount_minor as theirs_amount_minor
    from read_parquet('{ours}') o full outer join read_parquet('{theirs}') t
      on o.order_no = t.order_no and coalesce(o.refund_no, '') = coalesce(t.refund_no, '')
     and o.record_kind = t.record_kind
    where o.order_no is null or t.order_no is null or o.amount_minor <> t.amount_minor or o.currency <> t.currency
) to '{out}' (format parquet)
"""


def _duckdb_sql(ours: Path, theirs: Path, out: Path) -> tuple[float, Any]:
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(HAND_WRITTEN.format(ours=ours, theirs=theirs, out=out / "breaks.parquet"))
    elapsed = time.perf_counter() - start
    rows = con.execute(f"select kind, order_no from read_parquet('{out / 'breaks.parquet'}')").fetchall()
    con.close()
    return elapsed, sorted(rows)


def _pandas(ours: Path, theirs: Path, out: Path) -> tuple[float, Any]:
    import pandas as pd

    start = time.perf_counter()
    keys = ["order_no", "refund_no", "record_kind"]
    cols = [*keys, "amount_minor", "currency"]
    o = pd.read_parquet(ours, columns=cols)
    t = pd.read_parquet(theirs, columns=cols)
    for frame in (o, t):
        frame["refund_no"] = frame["refund_no"].fillna("")
    merged = o.merge(t, on=keys, how="outer", suffixes=("_o", "_t"), indicator=True)
    differs = (merged["_merge"] != "both") | (merged["amount_minor_o"] != merged["amount_minor_t"]) | (
        merged["currency_o"] != merged["currency_t"])
    breaks = merged[differs].copy()
    breaks["kind"] = breaks["_merge"].map({"left_only": "short", "right_only": "long", "both": "mismatch"})
    breaks[["kind", "order_no", "amount_minor_o", "amount_minor_t"]].to_parquet(out / "pandas.parquet")
    return time.perf_counter() - start, None


def _child(work: Callable[[Path, Path, Path], tuple[float, Any]], args: tuple[Path, Path, Path],
           queue: Any) -> None:
    elapsed, result = work(*args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, result, peak_mb))


def _measure(work: Callable[[Path, Path, Path], tuple[float, Any]], *args: Path) -> tuple[float, Any, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(work, args, queue))
    proc.start()
    elapsed, result, peak_mb = queue.get()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"benchmark step {work.__name__} failed with exit code {proc.exitcode}")
    return elapsed, result, peak_mb


def run(rows: int, folder: Path | None = None) -> dict[str, Any]:
    work = Path(folder or tempfile.mkdtemp(prefix="tally-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        ours, theirs = generate(work, rows)
        tally_s, tally_breaks, tally_mb = _measure(_tally, ours, theirs, work)
        sql_s, sql_breaks, _ = _measure(_duckdb_sql, ours, theirs, work)
        pandas_s = _measure(_pandas, ours, theirs, work)[0] if rows <= PANDAS_MAX_ROWS else None
    finally:
        if folder is None:
            shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows, "tally_s": round(tally_s, 3), "duckdb_sql_s": round(sql_s, 3),
            "pandas_s": None if pandas_s is None else round(pandas_s, 3),
            "tally_peak_rss_mb": round(tally_mb, 1), "same_result": tally_breaks == sql_breaks}
