"""Compiles a plan into one query per processing day, through Ibis. The only engine-aware module.

The query is a full outer join of our records with theirs on the plan's keys (null-safe: a
missing refund_no equals a missing refund_no) within ``carry_over_days`` of each other, with a
difference flag per compared field. Each joined row gets one outcome for processing day D:

- a pair completed on D (the later of its two days is D): ``matched``, or ``mismatch`` when a
  compared field differs beyond tolerance;
- a one-sided record of day B: ``pending`` while B + carry_over_days > D, ``short``/``long`` on
  D = B + carry_over_days; anything else was settled on an earlier day (``done``).

The same pass counts the joined rows and keeps only the few that are not plain matched pairs
(one-sided, differing, or paired across days); only those are classified. So the engine reads
only the columns the plan needs, and only breaks and pending records reach Python (their full
records are read back from the lake by line number, in one more query).

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
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.backends.duckdb  # loads every SQL compiler Ibis has: at import, not at a run's first connect
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from tally.engine import candidates
from tally.engine.day import BreakFound, DayOutcome
from tally.engine.plan import Filters, Plan
from tally.errors import ConfigError
from tally.records import SCHEMA, as_rows

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


def _table(con: Any, data: pa.Table) -> ir.Table:
    """Arrow rows as a table of the connection. On DuckDB registered with it directly: Ibis's
    ``memtable`` imports pandas on first use, half a second when a process starts."""
    if con.name != "duckdb":
        return ibis.memtable(data)
    name = f"tally_rows_{uuid.uuid4().hex}"
    con.con.register(name, data)
    return con.table(name)


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


def _of_day(con: Any, path: str, day: date) -> ir.Table:
    """A lake file's records of ``day``, whatever else the file holds. The lake writes a file per
    bill and day, so on DuckDB the file's statistics usually show that every row is of that day,
    and the filter (a tenth of a 10M-record day's join) is left out."""
    table = con.read_parquet(path)
    if con.name == "duckdb":
        stats = con.con.sql("select min(stats_min), max(stats_max), sum(stats_null_count) from parquet_metadata($1) "
                            "where path_in_schema = 'business_day'", params=[path]).fetchall()
        if stats == [(day.isoformat(), day.isoformat(), 0)]:
            return table
    return table.filter(table.business_day == day)


def _side(con: Any, side: SideInput, prefix: str, plan: Plan, day: date, dup_keys: ir.Table | None) -> ir.Table:
    columns = _columns(plan)
    index = {path: n for n, path in enumerate(side.paths)}
    parts = [_of_day(con, path, day).select(columns).mutate(file=ibis.literal(n, "int32"))
             for n, path in enumerate(side.files)]
    if side.carried is not None and side.carried.num_rows:
        files = pa.array([index[p] for p in side.carried.column("path").to_pylist()], pa.int32())
        rows = side.carried.select(columns).append_column("file", files)
        # Nullable like a Parquet scan's columns, so the two union.
        parts.append(_table(con, rows.cast(pa.schema([f.with_nullable(True) for f in rows.schema]))))
    if not parts:
        parts = [_table(con, SCHEMA.empty_table().select(columns)).mutate(file=ibis.literal(0, "int32"))]
    table = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    table = filtered(table, plan.ours_filters if prefix == "o_" else plan.theirs_filters)
    table = table.mutate(**{f"k_{key}": table[key].cast("string").fill_null("") for key in plan.keys})
    # Columns whose value is the same for every row are left out of the join (DuckDB carries a
    # constant through a join like any column: a tenth of the day): see _value.
    extra = ["file"] if len(parts) > 1 else []
    if dup_keys is not None:
        flagged = dup_keys.mutate(dup=ibis.literal(True))
        table = table.left_join(flagged, [f"k_{key}" for key in plan.keys]).drop(
            *[f"k_{key}_right" for key in plan.keys])
        table = table.mutate(dup=table.dup.fill_null(False))
        extra.append("dup")
    if plan.carry_over_days:
        table = table.mutate(day=table.business_day)
        extra.append("day")
    # Only what the join and the comparison need: the rows kept (breaks, pending, one-sided) get
    # their whole records from the lake afterwards, so the join's tables stay narrow.
    joined = dict.fromkeys([*[f"k_{key}" for key in plan.keys], *plan.compare, "line_no", *extra])
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
SIDES = ("o_", "t_")


def _value(table: ir.Table, prefix: str, name: str, day: date) -> ir.Value:
    """A side's ``file``, ``dup`` or ``day``, or the value all its rows share when the side leaves
    the column out: a single file, no duplicate keys, nothing carried over (every record is of the
    day processed)."""
    if f"{prefix}{name}" in table.columns:
        return table[f"{prefix}{name}"]
    return {"file": ibis.literal(0, "int32"), "dup": ibis.literal(False), "day": ibis.literal(day)}[name]


def _join(o: ir.Table, t: ir.Table, plan: Plan, dup_keys: ir.Table | None) -> ir.Table:
    """Our records full-outer-joined with theirs on the plan's keys, within ``carry_over_days``
    (with none, every record is of the day processed: the keys are the whole condition)."""
    c = plan.carry_over_days
    predicates = [o[f"o_k_{key}"] == t[f"t_k_{key}"] for key in plan.keys]
    if c:
        predicates.append((o.o_day.epoch_days() - t.t_day.epoch_days()).abs() <= c)
    if dup_keys is not None:
        predicates += [~o.o_dup, ~t.t_dup]
    return o.outer_join(t, predicates)


def _summary(o: ir.Table, t: ir.Table, plan: Plan, day: date, dup_keys: ir.Table | None, engine: str) -> ir.Table:
    """The day in one pass over the joined rows: how many there are, and the few that are not
    plain matched pairs (one-sided, differing, paired across days), each classified. The pairs
    are the rows less the one-sided ones, so they are counted without classifying every row.

    Each kept row gets an ``outcome`` code (index into OUTCOMES) and a ``why`` code: for pairs,
    1 + the index of the first compared field that differs (0: none); for one-sided rows,
    100 + the index into ONE_SIDED. Only the kept rows are classified, not the matched pairs."""
    joined = _join(o, t, plan, dup_keys)
    only_ours, only_theirs = joined.t_line_no.isnull(), joined.o_line_no.isnull()
    differs = [_differs(joined, name, plan) for name in plan.compare]
    keep = ibis.or_(only_ours, only_theirs, *differs)
    if plan.carry_over_days:
        keep |= joined.o_day != joined.t_day
    # A kept row's keys and other fields come with its full records, read back from the lake.
    fields = {f"{side}{name}": joined[f"{side}{name}"] for side in SIDES for name in ("line_no", *plan.compare)}
    fields |= {f"{side}{name}": _value(joined, side, name, day) for side in SIDES for name in ("file", "dup", "day")}
    counted = joined.aggregate(
        n=ibis._.count(),
        # The struct is never null. Saying so spares DuckDB building it for every row to check
        # (Spark's collect skips nulls whatever it is told, and refuses to be told).
        kept=ibis.struct(fields).collect(where=keep, include_null=engine == "duckdb"))
    rows = counted.unnest("kept", keep_empty=True).unpack("kept")
    only_ours, only_theirs = rows.t_line_no.isnull(), rows.o_line_no.isnull()
    first_difference = ibis.cases(
        *[(_differs(rows, name, plan), n + 1) for n, name in enumerate(plan.compare)], else_=0)
    one_sided_why = ibis.cases(
        (only_ours & rows.o_dup, 102), (only_theirs & rows.t_dup, 102), (only_ours, 100), else_=101)
    rows = rows.mutate(why=ibis.ifelse(only_ours | only_theirs, one_sided_why, first_difference).cast("int8"))
    # A one-sided record of day B waits while B + carry_over_days > day.
    waits_after = ibis.literal(day - timedelta(days=plan.carry_over_days))
    outcome = ibis.cases(
        (only_ours & (rows.o_day > waits_after), 5),
        (only_theirs & (rows.t_day > waits_after), 5),
        (only_ours, 3),
        (only_theirs, 4),
        (rows.why == 0, 1),
        else_=2,
    )
    return rows.mutate(outcome=outcome.cast("int8")).drop(
        *[f"{side}{name}" for side in SIDES for name in ("dup", *plan.compare)])


def _reason(plan: Plan, why: int) -> str:
    if why >= 100:
        return ONE_SIDED[why - 100]
    name = plan.compare[why - 1]
    return REASONS.get(name, f"{name}_mismatch")


def _fanned_out_keys(con: Any, plan: Plan, day: date, ours: SideInput, theirs: SideInput) -> ir.Table:
    """Keys for which some record pairs with more than one counterpart."""
    joined = _join(_side(con, ours, "o_", plan, day, None), _side(con, theirs, "t_", plan, day, None), plan, None)
    pairs = joined.filter(joined.o_line_no.notnull() & joined.t_line_no.notnull())
    keys = [f"o_k_{key}" for key in plan.keys]
    fans = []
    for side in SIDES:
        grouped = pairs.group_by([*keys, _value(pairs, side, "file", day).name("file"), f"{side}line_no"]).aggregate(
            n=ibis._.count())
        fans.append(grouped.filter(grouped.n > 1).select(keys))
    both = fans[0].union(fans[1]).distinct()
    found = arrow(con, both)
    return _table(con, found.rename_columns([f"k_{key}" for key in plan.keys]))


@dataclass(frozen=True)
class _Day:
    """What the day's query found: pairs counted, and the rows that are not plain matched pairs."""

    pairs: int
    fanned_out: bool  # some record paired with more than one counterpart
    kept: list[dict[str, Any]]


def _day(con: Any, plan: Plan, day: date, ours: SideInput, theirs: SideInput, dup_keys: ir.Table | None) -> _Day:
    o, t = _side(con, ours, "o_", plan, day, dup_keys), _side(con, theirs, "t_", plan, day, dup_keys)
    found = arrow(con, _summary(o, t, plan, day, dup_keys, con.name))
    n = found.column("n")[0].as_py()
    # A day with nothing kept still gives its one row, with no line on either side.
    kept = [row for row in as_rows(found.drop_columns(["n"]))
            if row["o_line_no"] is not None or row["t_line_no"] is not None]
    only_ours = sum(1 for row in kept if row["t_line_no"] is None)
    only_theirs = sum(1 for row in kept if row["o_line_no"] is None)
    # Each side's records, in a query of their own: sharing the side tables with the join's
    # query would make DuckDB materialize them.
    sides = [side.aggregate(n=ibis._.count()).mutate(side=ibis.literal(k, "int8")) for k, side in enumerate((o, t))]
    records = dict(zip(*arrow(con, sides[0].union(sides[1])).select(["side", "n"]).to_pydict().values(), strict=True))
    # Rows holding a record of a side outnumber that side's records only when one paired twice.
    fanned_out = n - only_theirs > records.get(0, 0) or n - only_ours > records.get(1, 0)
    return _Day(n - only_ours - only_theirs, fanned_out, kept)


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
    seen = _day(con, plan, day, ours, theirs, None)
    if seen.fanned_out:
        seen = _day(con, plan, day, ours, theirs, _fanned_out_keys(con, plan, day, ours, theirs))
    counts = Counter(OUTCOMES[row["outcome"]] for row in seen.kept)
    # A matched pair is kept only when it pairs records of different days (carry-over).
    cross_day = counts.pop("matched", 0)
    counts["matched"] = seen.pairs - counts["mismatch"]
    rows = [{**row, "outcome": OUTCOMES[row["outcome"]], "reason": _reason(plan, row["why"])}
            for row in seen.kept if OUTCOMES[row["outcome"]] != "matched"]
    full = _full_records(con, {"o_": ours.paths, "t_": theirs.paths}, rows)
    _release(con, engine)
    _mark_one_sided_duplicates(rows, plan, full)
    recent = _recent(carried, plan, day)
    if plan.candidates:
        columns = _columns(plan)
        for row in rows:
            _fill(row, full, columns)
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


def _mark_one_sided_duplicates(rows: list[dict[str, Any]], plan: Plan,
                               full: dict[str, dict[tuple[int, int], dict[str, Any]]]) -> None:
    def key(row: dict[str, Any], side: str) -> tuple[Any, ...]:
        record = full[side][(row[f"{side}file"], row[f"{side}line_no"])]
        # As the join compares keys: a missing value equals an empty one.
        return (side, *("" if record[k] is None else record[k] for k in plan.keys))

    one_sided = [(row, key(row, "o_" if row["t_line_no"] is None else "t_")) for row in rows
                 if row["o_line_no"] is None or row["t_line_no"] is None]
    seen = Counter(found for _, found in one_sided)
    for row, found in one_sided:
        if seen[found] > 1:
            row["reason"] = "duplicate"


CARRIED = SCHEMA.append(pa.field("side", pa.string())).append(pa.field("path", pa.string()))


def _carried(carried: pa.Table | None, side: str) -> pa.Table | None:
    if carried is None or not carried.num_rows:
        return None
    return carried.filter(pc.equal(carried.column("side"), side))


def _full_records(con: Any, paths: dict[str, list[str]],
                  rows: list[dict[str, Any]]) -> dict[str, dict[tuple[int, int], dict[str, Any]]]:
    """The complete lake records of the kept rows' lines, per side: one query for every file of
    both sides (a semi-join on line numbers each)."""
    wanted = sorted({(side, row[f"{prefix}file"], row[f"{prefix}line_no"]) for side, prefix in enumerate(SIDES)
                     for row in rows if row[f"{prefix}line_no"] is not None})
    found: dict[str, dict[tuple[int, int], dict[str, Any]]] = {prefix: {} for prefix in SIDES}
    if not wanted:
        return found
    columns = [pa.array(list(values), kind) for values, kind in zip(zip(*wanted, strict=True),
                                                                      (pa.int8(), pa.int32(), pa.int64()), strict=True)]
    # (pa.table would import pandas, to check whether it was handed a data frame.)
    lines = _table(con, pa.Table.from_arrays(columns, names=["side", "file", "line_no"]))
    parts = []
    for side, file in sorted({(side, file) for side, file, _ in wanted}):
        these = lines.filter((lines.side == side) & (lines.file == file)).select("line_no")
        parts.append(con.read_parquet(paths[SIDES[side]][file]).select(SCHEMA.names).semi_join(these, "line_no")
                     .mutate(side=ibis.literal(side, "int8"), file=ibis.literal(file, "int32")))
    picked = arrow(con, parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0])
    # Back to the lake's own types: Spark hands UTC timestamps back without their zone.
    records = as_rows(picked.select(SCHEMA.names).cast(SCHEMA))
    for side, file, record in zip(picked.column("side").to_pylist(), picked.column("file").to_pylist(), records,
                                  strict=True):
        found[SIDES[side]][(file, record["line_no"])] = record
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
    suggestions = candidates.stored(row, lambda member: _record_of(member, full)) \
        if "suggestions" in row or "groups" in row else ()
    side = ours or theirs
    assert side is not None
    return BreakFound(
        kind=row["outcome"], reason=row["reason"], day=side["business_day"], record_kind=side["record_kind"],
        order_no=side["order_no"], refund_no=side["refund_no"], currency=side["currency"], ours=ours, theirs=theirs,
        suggestions=suggestions,
    )
