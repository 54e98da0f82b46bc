"""`tally bench`: Tally's reconcile step beside a hand-written DuckDB query and a pandas merge.

All three read the same normalized Parquet (one business day, N ours × N theirs records with
0.1 % planted breaks: a third short, a third long, a third amount mismatches) and write their
breaks. Each runs in a child process of its own so its peak RSS is its own.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from tally.engine.compile import reconcile_day
from tally.engine.plan import Plan

DAY = date(2026, 11, 1)
PANDAS_MAX_ROWS = 10_000_000
PLAN = Plan("bench", ("ours",), ("theirs",), keys=("order_no", "refund_no", "record_kind"),
            compare=("amount_minor", "currency"), carry_over_days=0)


def _connect() -> duckdb.DuckDBPyConnection:
    # DuckDB draws a progress bar on a terminal for statements over 2 s: not in `tally bench`'s output.
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    """Two Parquet files in the lake schema; every 1000th key carries a planted break."""
    ours, theirs = folder / "ours.parquet", folder / "theirs.parquet"
    con = _connect()
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
    # Libraries are imported before each step's clock starts (DuckDB for the hand-written query,
    # pandas for the merge). pyarrow imports pandas the first time it converts Python values.
    import pandas  # noqa: F401

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
    con = _connect()
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


def _child(work: Callable[..., tuple[float, Any]], args: tuple[Path, ...], queue: Any) -> None:
    elapsed, result = work(*args)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, result, peak_mb))


def _measure(work: Callable[..., tuple[float, Any]], *args: Path) -> tuple[float, Any, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(work, args, queue))
    proc.start()
    elapsed, result, peak_mb = queue.get()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"benchmark step {work.__name__} failed with exit code {proc.exitcode}")
    return elapsed, result, peak_mb


def interleaved(rows: int, runs: int = 5, folder: Path | None = None) -> dict[str, Any]:
    """Tally's reconcile step and the hand-written query, taking turns ``runs`` times in one
    process on the same files: the median of each and their ratio. On a small, busy machine a
    minute's noise moves both times alike, so this ratio varies less than one from ``run``."""
    work = Path(folder or tempfile.mkdtemp(prefix="tally-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        ours, theirs = generate(work, rows)
        tally_times, sql_times = [], []
        for _ in range(runs):
            sql_times.append(_duckdb_sql(ours, theirs, work)[0])
            tally_times.append(_tally(ours, theirs, work)[0])
    finally:
        if folder is None:
            shutil.rmtree(work, ignore_errors=True)
    tally_s, sql_s = statistics.median(tally_times), statistics.median(sql_times)
    return {"rows": rows, "runs": runs, "tally_s": round(tally_s, 3), "duckdb_sql_s": round(sql_s, 3),
            "ratio": round(tally_s / sql_s, 2)}


def generate_days(folder: Path, rows: int, days: int) -> list[tuple[Path, Path]]:
    """A file pair per day; one key in 3000 crosses midnight (ours on day d, theirs on d + 1)."""
    con = _connect()
    files = []
    for n in range(days):
        day = DAY + timedelta(days=n)
        ours, theirs = folder / f"ours-{n:02d}.parquet", folder / f"theirs-{n:02d}.parquet"
        base = f"""
            select '{{side}}' as source, DATE '{day}' as business_day, 'payment' as record_kind,
                   printf('D{n:02d}O%010d', i) as order_no, NULL::VARCHAR as refund_no, NULL::VARCHAR as channel_txn_id,
                   (100 + (i * 7919) % 99900)::BIGINT as amount_minor, 0::BIGINT as fee_minor,
                   0::BIGINT as discount_minor, 'CNY' as currency, NULL::TIMESTAMPTZ as occurred_at,
                   'SUCCESS' as status, NULL::VARCHAR as item, NULL::BIGINT as quantity,
                   repeat('{{sha}}', 64) as bill_sha256, (i + 2)::BIGINT as line_no
            from range({rows}) t(i)"""
        con.execute(f"copy ({base.format(side='ours', sha='a')}) to '{ours}' (format parquet)")
        # Theirs: the same, except that every 3000th record of the previous day arrives today.
        prev = f"printf('D{n - 1:02d}O%010d', line_no - 2)"
        con.execute(f"""copy (select * replace (
                case when (line_no - 2) % 3000 = 7 and {n} > 0 then {prev} else order_no end as order_no)
            from ({base.format(side='theirs', sha='b')})) to '{theirs}' (format parquet)""")
        files.append((ours, theirs))
    con.close()
    return files


def _days(pairs: list[tuple[Path, Path]], carry: int) -> tuple[float, Any]:
    plan = Plan("bench", ("ours",), ("theirs",), carry_over_days=carry)
    start = time.perf_counter()
    carried, found = None, []
    for n, (ours, theirs) in enumerate(pairs):
        outcome = reconcile_day(plan, DAY + timedelta(days=n), [str(ours)], [str(theirs)],
                                carried=carried if carry else None)
        carried = outcome.carried
        found.append((outcome.matched, outcome.pending, len(outcome.breaks)))
    return time.perf_counter() - start, found


def _carry_over(*pairs: Path) -> tuple[float, Any]:
    return _days(list(zip(pairs[::2], pairs[1::2], strict=True)), 1)


def _independent(*pairs: Path) -> tuple[float, Any]:
    return _days(list(zip(pairs[::2], pairs[1::2], strict=True)), 0)


def run_days(rows: int, days: int, folder: Path | None = None) -> dict[str, Any]:
    """`days` days of `rows` records a side, day by day with carry-over, beside the same days run
    as independent single-day runs."""
    work = Path(folder or tempfile.mkdtemp(prefix="tally-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        flat = [path for pair in generate_days(work, rows, days) for path in pair]
        tally_s, outcomes, tally_mb = _measure(_carry_over, *flat)
        independent_s = _measure(_independent, *flat)[0]
    finally:
        if folder is None:
            shutil.rmtree(work, ignore_errors=True)
    return {"rows": rows, "days": days, "tally_s": round(tally_s, 3), "independent_s": round(independent_s, 3),
            "ratio": round(tally_s / independent_s, 3), "tally_peak_rss_mb": round(tally_mb, 1),
            "matched_last_day": outcomes[-1][0]}


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
