"""Compiles a plan into one query per processing day, through Ibis. The only engine-aware module.

The query is a full outer join of our records with theirs on the plan's keys (null-safe: a
missing refund_no equals a missing refund_no) within ``carry_over_days`` of each other, with a
difference flag per compared field. Each joined row gets one outcome for processing day D:

- a pair completed on D (the later of its two days is D): ``matched``, or ``mismatch`` when a
  compared field differs beyond tolerance;
- a one-sided record of day B: ``pending`` while B + carry_over_days > D, ``short``/``long`` on
  D = B + carry_over_days; anything else was settled on an earlier day (``done``).

The rows are aggregated by outcome in the same pass: counts for all, and the records only for
the few rows that are not matched pairs. So the engine reads only the columns the plan needs,
and only breaks reach Python (their full records are read back from the lake by line number).

Duplicates are never collapsed. A record that would pair with more than one counterpart makes
its key ambiguous: every record of that key is then treated as one-sided with reason
``duplicate`` (detected cheaply: pairs can only outnumber records when some key fans out, and
only then is the day recomputed with the ambiguous keys kept out of pairing). One-sided records
of one side sharing a key are also marked ``duplicate``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from tally.engine import candidates
from tally.engine.day import BreakFound, DayOutcome
from tally.engine.plan import Filters, Plan
from tally.errors import ConfigError
from tally.records import SCHEMA

REASONS = {"amount_minor": "amount_mismatch", "currency": "currency_mismatch", "status": "status_mismatch",
           "fee_minor": "fee_mismatch", "discount_minor": "discount_mismatch", "quantity": "quantity_mismatch",
           "record_kind": "kind_mismatch"}
BREAKS = ("short", "long", "mismatch")
LEAN = ("business_day", "record_kind", "order_no", "refund_no", "amount_minor", "currency", "line_no")


_SPARK: list[Any] = []  # one session per process: starting Spark takes seconds


def connect(engine: str) -> Any:
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET enable_progress_bar = false")
        # A day larger than memory spills its joins and aggregates here instead of failing
        # (TMPDIR moves it; TALLY_ENGINE_MEMORY, e.g. "4GB", caps DuckDB below its 80 % of RAM).
        spill = Path(tempfile.gettempdir()) / "tally-spill"
        spill.mkdir(exist_ok=True)
        con.raw_sql(f"SET temp_directory = '{spill}'")
        if limit := os.environ.get("TALLY_ENGINE_MEMORY"):
            if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit.strip(), re.IGNORECASE):
                raise ConfigError("BAD_ENGINE_MEMORY", f"TALLY_ENGINE_MEMORY={limit!r} is not a size",
                                  hint='a size such as "4GB" or "512MB"')
            con.raw_sql(f"SET memory_limit = '{limit.strip()}'")
        return con
    if engine == "spark":
        if not _SPARK:
            _SPARK.append(ibis.pyspark.connect(_spark_session()))
        return _SPARK[0]
    raise ConfigError("UNKNOWN_ENGINE", f"TALLY_ENGINE={engine!r} is not an engine", hint="use duckdb or spark")


def _spark_session() -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("ENGINE_NOT_INSTALLED", "TALLY_ENGINE=spark needs PySpark",
                          hint="pip install pyspark (and a Java 17 runtime)") from None
    return (SparkSession.builder.master(os.environ.get("TALLY_SPARK_MASTER", "local[*]"))
            .appName("tally")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", os.environ.get("TALLY_SPARK_SHUFFLE_PARTITIONS", "8"))
            .getOrCreate())


def arrow(con: Any, expr: ir.Table) -> pa.Table:
    """The expression's rows as Arrow. On DuckDB straight from its relation: Ibis's ``to_pyarrow``
    then passes the rows through a type converter built on pandas, whose import alone takes about
    0.6 s when a process starts, for rows whose types are already the expression's. (Ibis's own
    ``to_pyarrow_batches`` calls a cursor method DuckDB 2 no longer has.)"""
    if con.name == "duckdb":
        return con._to_duckdb_relation(expr).to_arrow_table()
    return expr.to_pyarrow()


def _release(con: Any, engine: str) -> None:
    if engine == "duckdb":
        con.disconnect()


def _columns(plan: Plan) -> list[str]:
    filtered = [name for name, _ in plan.ours_filters + plan.theirs_filters]
    text = plan.candidates.text if plan.candidates else ()
    wanted = [*LEAN, *plan.keys, *plan.compare, *filtered, *text]
    return list(dict.fromkeys(wanted))


def filtered(table: ir.Table, filters: Filters) -> ir.Table:
    """Only the records the plan looks at (e.g. record_kind in payment, refund)."""
    for name, values in filters:
        table = table.filter(table[name].isin(list(values)))
    return table


@dataclass(frozen=True)
class SideInput:
    """One side of a day: the day's lake files, and the records carried from earlier days
    (``carried``: lake records plus the ``path`` of the file each came from)."""

    files: list[str]
    carried: pa.Table | None = None

    @property
    def paths(self) -> list[str]:
        """Every file a record of this side may come from; a record's ``file`` indexes this list."""
        extra = [] if self.carried is None else sorted(set(self.carried.column("path").to_pylist()))
        return self.files + [p for p in extra if p not in self.files]


def _side(con: Any, side: SideInput, prefix: str, plan: Plan, day: date, dup_keys: ir.Table | None) -> ir.Table:
    columns = _columns(plan)
    index = {path: n for n, path in enumerate(side.paths)}
    # Only the day's own records from its files, whatever else a file holds.
    parts = [con.read_parquet(path).select(columns).filter(ibis._.business_day == day)
             .mutate(file=ibis.literal(n, "int32")) for n, path in enumerate(side.files)]
    if side.carried is not None and side.carried.num_rows:
        files = pa.array([index[p] for p in side.carried.column("path").to_pylist()], pa.int32())
        rows = side.carried.select(columns).append_column("file", files)
        # Nullable like a Parquet scan's columns, so the two union.
        parts.append(ibis.memtable(rows.cast(pa.schema([f.with_nullable(True) for f in rows.schema]))))
    if not parts:
        parts = [ibis.memtable(SCHEMA.empty_table().select(columns)).mutate(file=ibis.literal(0, "int32"))]
    table = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    table = filtered(table, plan.ours_filters if prefix == "o_" else plan.theirs_filters)
    table = table.mutate(**{f"k_{key}": table[key].cast("string").fill_null("") for key in plan.keys})
    if dup_keys is not None:
        flagged = dup_keys.mutate(dup=ibis.literal(True))
        table = table.left_join(flagged, [f"k_{key}" for key in plan.keys]).drop(
            *[f"k_{key}_right" for key in plan.keys])
        table = table.mutate(dup=table.dup.fill_null(False))
    else:
        table = table.mutate(dup=ibis.literal(False))
    table = table.mutate(dn=table.business_day.epoch_days())
    # Only what the join and the comparison need: the rows kept (breaks, pending, one-sided) get
    # their whole records from the lake afterwards, so the join's tables stay narrow.
    joined = dict.fromkeys([*[f"k_{key}" for key in plan.keys], *plan.compare, "line_no", "file", "dup", "dn"])
    return table.select(*joined).rename({f"{prefix}{name}": name for name in joined})


def _differs(joined: ir.Table, name: str, plan: Plan) -> ir.BooleanValue:
    ours, theirs = joined[f"o_{name}"], joined[f"t_{name}"]
    if name == "amount_minor" and (plan.tolerance_minor or plan.tolerance_bp):
        # |ours − theirs| ≤ max(tolerance_minor, |ours| × bp / 10 000), in integers.
        allowed = ibis.greatest(ibis.literal(plan.tolerance_minor * 10_000), ours.abs() * plan.tolerance_bp)
        return (ours - theirs).abs() * 10_000 > allowed
    return ~ours.identical_to(theirs)


OUTCOMES = ("done", "matched", "mismatch", "short", "long", "pending")
ONE_SIDED = ("only_ours", "only_theirs", "duplicate")


def _classified(con: Any, plan: Plan, day: date, ours: SideInput, theirs: SideInput,
                dup_keys: ir.Table | None) -> ir.Table:
    """The joined rows with an ``outcome`` code (index into OUTCOMES) and a ``why`` code:
    for pairs, 1 + the index of the first compared field that differs (0: none); for one-sided
    rows, 100 + the index into ONE_SIDED. Small integers keep the grouping cheap."""
    o = _side(con, ours, "o_", plan, day, dup_keys)
    t = _side(con, theirs, "t_", plan, day, dup_keys)
    c = plan.carry_over_days
    predicates = [o[f"o_k_{key}"] == t[f"t_k_{key}"] for key in plan.keys]
    # An equi-join when nothing carries over; else records up to c days apart pair.
    predicates.append(o.o_dn == t.t_dn if c == 0 else (o.o_dn - t.t_dn).abs() <= c)
    if dup_keys is not None:
        predicates += [~o.o_dup, ~t.t_dup]
    joined = o.outer_join(t, predicates)
    d = ibis.literal(day).epoch_days()
    only_ours = joined.t_line_no.isnull()
    only_theirs = joined.o_line_no.isnull()
    first_difference = ibis.cases(
        *[(_differs(joined, name, plan), n + 1) for n, name in enumerate(plan.compare)], else_=0)
    one_sided_why = ibis.cases(
        (only_ours & joined.o_dup, 102), (only_theirs & joined.t_dup, 102), (only_ours, 100), else_=101)
    joined = joined.mutate(why=ibis.ifelse(only_ours | only_theirs, one_sided_why, first_difference).cast("int8"))
    outcome = ibis.cases(
        (only_ours & (joined.o_dn + c > d), 5),
        (only_theirs & (joined.t_dn + c > d), 5),
        (only_ours, 3),
        (only_theirs, 4),
        (joined.why == 0, 1),
        else_=2,
    )
    return joined.mutate(outcome=outcome.cast("int8"))


def _summary(classified: ir.Table, plan: Plan) -> ir.Table:
    """One row per outcome and reason: counts, and the records of every row that is not a pair."""
    payload = ibis.struct({f"{side}{name}": classified[f"{side}{name}"] for side in ("o_", "t_")
                           for name in ("file", "line_no")})
    # The records of unpaired rows: breaks, and the one-sided rows that duplicate checks need.
    keep = (classified.outcome >= 2) | (classified.why >= 100)
    # The CASE guard builds a record only for the rows kept (nearly none), not for every pair.
    # A pair whose two records have different business days was paired across days (carry-over).
    cross = (classified.o_dn != classified.t_dn).cast("int64")
    rows = classified.select("outcome", "why", "o_line_no", "t_line_no", p=ibis.ifelse(keep, payload, ibis.null()),
                             cross=cross)
    return rows.group_by(["outcome", "why"]).aggregate(
        n=ibis._.count(),
        cross=rows.cross.sum(),
        o_rows=rows.o_line_no.count(),
        t_rows=rows.t_line_no.count(),
        rows=rows.p.collect(),
    )


def _reason(plan: Plan, why: int) -> str:
    if why >= 100:
        return ONE_SIDED[why - 100]
    name = plan.compare[why - 1]
    return REASONS.get(name, f"{name}_mismatch")


def _fanned_out_keys(con: Any, plan: Plan, day: date, ours: SideInput, theirs: SideInput) -> ir.Table:
    """Keys for which some record pairs with more than one counterpart."""
    joined = _classified(con, plan, day, ours, theirs, None)
    pairs = joined.filter(joined.why < 100)
    keys = [f"o_k_{key}" for key in plan.keys]
    fans = []
    for side in ("o_", "t_"):
        grouped = pairs.group_by([*keys, f"{side}file", f"{side}line_no"]).aggregate(n=ibis._.count())
        fans.append(grouped.filter(grouped.n > 1).select(keys))
    both = fans[0].union(fans[1]).distinct()
    found = arrow(con, both)
    return ibis.memtable(found.rename_columns([f"k_{key}" for key in plan.keys]))


def _counts(con: Any, ours: SideInput, theirs: SideInput, plan: Plan, day: date) -> tuple[int, int]:
    """How many records each side has for the day (both in one query)."""
    o, t = (_side(con, side, "", plan, day, None).aggregate(n=ibis._.count()).mutate(side=ibis.literal(n, "int8"))
            for n, side in enumerate((ours, theirs)))
    found = dict(zip(*arrow(con, o.union(t)).select(["side", "n"]).to_pydict().values(), strict=True))
    return int(found.get(0, 0)), int(found.get(1, 0))


def reconcile_day(plan: Plan, day: date, ours_files: list[str], theirs_files: list[str], engine: str = "duckdb",
                  carried: pa.Table | None = None) -> DayOutcome:
    """Process one business day: its records (from the day's lake files) joined with the records
    still pending from earlier days (``carried``, as the previous day returned them). Returns the
    counts, every break with its full records, and the records to carry to the next day."""
    con = connect(engine)
    if plan.match == "totals":
        from tally.engine.totals import reconcile_totals

        totalled = reconcile_totals(con, plan, day, ours_files, theirs_files)
        _release(con, engine)
        return totalled
    ours = SideInput(ours_files, _carried(carried, "ours"))
    theirs = SideInput(theirs_files, _carried(carried, "theirs"))
    summary = arrow(con, _summary(_classified(con, plan, day, ours, theirs, None), plan)).to_pylist()
    o_count, t_count = _counts(con, ours, theirs, plan, day)
    fanned_out = sum(r["o_rows"] for r in summary) > o_count or sum(r["t_rows"] for r in summary) > t_count
    if fanned_out:
        dup_keys = _fanned_out_keys(con, plan, day, ours, theirs)
        summary = arrow(con, _summary(_classified(con, plan, day, ours, theirs, dup_keys), plan)).to_pylist()
    counts = Counter[str]()
    rows: list[dict[str, Any]] = []
    for group in summary:
        outcome = OUTCOMES[group["outcome"]]
        counts[outcome] += group["n"]
        if group["outcome"] >= 2 or group["why"] >= 100:
            reason = _reason(plan, group["why"])
            rows += [{**row, "outcome": outcome, "reason": reason} for row in group["rows"] or []]
    full = {"o_": _full_records(con, ours.paths, rows, "o_"), "t_": _full_records(con, theirs.paths, rows, "t_")}
    _release(con, engine)
    columns = _columns(plan)
    for row in rows:
        _fill(row, full, columns)
    _mark_one_sided_duplicates(rows, plan)
    recent = _recent(carried, plan, day)
    if plan.candidates:
        # In Python after the query, whatever the engine: candidates are the same on DuckDB and Spark.
        candidates.match(rows, plan.candidates, counts, {"o_": ours.paths, "t_": theirs.paths}, recent or [])
    breaks = [row for row in rows if row["outcome"] in BREAKS]
    waiting = [row for row in rows if row["outcome"] == "pending"]
    found = sorted((_break(row, full) for row in breaks), key=lambda b: repr(b.key))
    to_carry = [{**full[prefix][(row[f"{prefix}file"], row[f"{prefix}line_no"])], "side": side,
                 "path": paths[row[f"{prefix}file"]]}
                for row in waiting
                for prefix, side, paths in (("o_", "ours", ours.paths), ("t_", "theirs", theirs.paths))
                if row[f"{prefix}line_no"] is not None]
    if recent is not None:  # one-sided breaks, today's and earlier ones, while they may join a group
        assert plan.candidates is not None
        to_carry += candidates.still_recent(recent, [row for row in breaks if row["outcome"] != "mismatch"],
                                            lambda row: _record_of(row, full), {"o_": ours.paths, "t_": theirs.paths},
                                            day, plan.carry_over_days, plan.candidates)
    to_carry.sort(key=lambda r: (r["side"], r["path"], r["line_no"]))
    cross_day = sum(group["cross"] or 0 for group in summary if OUTCOMES[group["outcome"]] == "matched")
    return DayOutcome(plan.name, day, counts["matched"], counts["pending"], found, cross_day=cross_day,
                      carried=pa.Table.from_pylist(to_carry, schema=CARRIED))


def totals(files: list[str], engine: str = "duckdb", filters: Filters = ()) -> dict[str, dict[str, int]]:
    """Per currency: the number of records and the sums of amount, fee and discount in ``files``
    (only the records ``filters`` keep: a plan's side filters)."""
    if not files:
        return {}
    con = connect(engine)
    parts = [filtered(con.read_parquet(path), filters).select("currency", "amount_minor", "fee_minor", "discount_minor")
             for path in files]
    table = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    sums = table.group_by("currency").aggregate(
        records=ibis._.count(), amount_minor=table.amount_minor.sum(), fee_minor=table.fee_minor.sum(),
        discount_minor=table.discount_minor.sum())
    rows = arrow(con, sums).to_pylist()
    _release(con, engine)
    return {row.pop("currency"): {k: int(v or 0) for k, v in row.items()} for row in rows}


def _recent(carried: pa.Table | None, plan: Plan, day: date) -> list[dict[str, Any]] | None:
    """Earlier days' one-sided breaks that may still be members of a group (plans with
    ``candidates.group_max``; None for other plans, which carry none)."""
    if plan.candidates is None or plan.candidates.group_max < 2:
        return None
    if carried is None or not carried.num_rows:
        return []
    sides = pa.array(sorted(candidates.RECENT.values()))
    records = carried.filter(pc.is_in(carried.column("side"), value_set=sides)).to_pylist()
    return [r for r in records if candidates.within_reach(r, day, plan.carry_over_days, plan.candidates)]


def _mark_one_sided_duplicates(rows: list[dict[str, Any]], plan: Plan) -> None:
    def key(row: dict[str, Any], side: str) -> tuple[Any, ...]:
        return (side, *(("" if row[f"{side}{k}"] is None else str(row[f"{side}{k}"])) for k in plan.keys))

    one_sided = [(row, "o_" if row["t_line_no"] is None else "t_") for row in rows
                 if row["o_line_no"] is None or row["t_line_no"] is None]
    seen = Counter(key(row, side) for row, side in one_sided)
    for row, side in one_sided:
        if seen[key(row, side)] > 1:
            row["reason"] = "duplicate"


CARRIED = SCHEMA.append(pa.field("side", pa.string())).append(pa.field("path", pa.string()))


def _carried(carried: pa.Table | None, side: str) -> pa.Table | None:
    if carried is None or not carried.num_rows:
        return None
    return carried.filter(pc.equal(carried.column("side"), side))


def _full_records(con: Any, files: list[str], rows: list[dict[str, Any]],
                  prefix: str) -> dict[tuple[int, int], dict[str, Any]]:
    """The complete lake records of the breaks' lines, one semi-join per file."""
    wanted: dict[int, set[int]] = {}
    for row in rows:
        if row[f"{prefix}line_no"] is not None:
            wanted.setdefault(row[f"{prefix}file"], set()).add(row[f"{prefix}line_no"])
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for file, lines in wanted.items():
        table = con.read_parquet(files[file])
        picked = arrow(con, table.semi_join(ibis.memtable({"line_no": sorted(lines)}), "line_no"))
        # Back to the lake's own types: Spark hands UTC timestamps back without their zone.
        picked = picked.select(SCHEMA.names).cast(SCHEMA)
        found |= {(file, record["line_no"]): record for record in picked.to_pylist()}
    return found


def _fill(row: dict[str, Any], full: dict[str, dict[tuple[int, int], dict[str, Any]]], columns: list[str]) -> None:
    """A kept row's fields (``o_order_no``, ``t_amount_minor`` …) from its records, None for a missing side."""
    for prefix in ("o_", "t_"):
        line = row[f"{prefix}line_no"]
        record = None if line is None else full[prefix][(row[f"{prefix}file"], line)]
        row.update({f"{prefix}{name}": None if record is None else record[name] for name in columns
                    if name != "line_no"})


def _record_of(row: dict[str, Any], full: dict[str, dict[tuple[int, int], dict[str, Any]]]) -> dict[str, Any]:
    """A one-sided row's full lake record (an earlier day's break carried for groups holds its own)."""
    if "record" in row:
        return dict(row["record"])
    prefix = "o_" if row["t_line_no"] is None else "t_"
    return dict(full[prefix][(row[f"{prefix}file"], row[f"{prefix}line_no"])])


def _break(row: dict[str, Any], full: dict[str, dict[tuple[int, int], dict[str, Any]]]) -> BreakFound:
    def record(prefix: str) -> dict[str, Any] | None:
        line = row[f"{prefix}line_no"]
        return None if line is None else full[prefix][(row[f"{prefix}file"], line)]

    ours, theirs = record("o_"), record("t_")
    suggestions = candidates.stored(row, lambda member: _record_of(member, full))
    side = ours or theirs
    assert side is not None
    return BreakFound(
        kind=row["outcome"], reason=row["reason"], day=side["business_day"], record_kind=side["record_kind"],
        order_no=side["order_no"], refund_no=side["refund_no"], currency=side["currency"], ours=ours, theirs=theirs,
        suggestions=suggestions,
    )
