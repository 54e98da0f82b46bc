"""Compiles a plan into one query per processing day, through Ibis. The only engine-aware module.

The query is a full outer join of our records with theirs on the plan's keys (null-safe: a
missing refund_no equals a missing refund_no) within ``carry_over_days`` of each other, with a
difference flag per compared field. Each joined row gets one outcome for processing day D:

- a pair completed on D (the later of its two days is D): ``matched``, or ``mismatch`` when a
  compared field differs beyond tolerance or a key appears twice on one side;
- a one-sided record of day B: ``pending`` while B + carry_over_days > D, ``short``/``long`` on
  D = B + carry_over_days; anything else was settled on an earlier day.

Matched pairs are written to Parquet by the engine; only breaks and counts reach Python.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from tally.engine.day import BreakFound, DayOutcome
from tally.engine.plan import Plan
from tally.records import COLUMNS, SCHEMA

REASONS = {"amount_minor": "amount_mismatch", "currency": "currency_mismatch", "status": "status_mismatch",
           "fee_minor": "fee_mismatch", "discount_minor": "discount_mismatch", "quantity": "quantity_mismatch",
           "record_kind": "kind_mismatch"}


def connect(engine: str) -> Any:
    if engine == "duckdb":
        return ibis.duckdb.connect()
    raise ValueError(f"engine {engine!r} is not available")


def _side(con: Any, files: list[str], prefix: str, plan: Plan, first: date, last: date) -> ir.Table:
    table = con.read_parquet(files) if files else ibis.memtable(SCHEMA.empty_table())
    table = table.filter(table.business_day.between(first, last))
    keys = {f"{prefix}k_{key}": table[key].fill_null("") for key in plan.keys}
    renamed = {f"{prefix}{column}": table[column] for column in COLUMNS}
    table = table.select(**renamed, **keys, **{f"{prefix}dn": table.business_day.epoch_days()})
    key_cols = [f"{prefix}k_{key}" for key in plan.keys]
    return table.mutate(**{f"{prefix}n": ibis._.count().over(group_by=key_cols)})


def classify(con: Any, plan: Plan, day: date, ours: list[str], theirs: list[str], first: date) -> ir.Table:
    o = _side(con, ours, "o_", plan, first, day)
    t = _side(con, theirs, "t_", plan, first, day)
    c = plan.carry_over_days
    predicates = [o[f"o_k_{key}"] == t[f"t_k_{key}"] for key in plan.keys]
    predicates.append((o.o_dn - t.t_dn).abs() <= c)
    joined = o.outer_join(t, predicates)
    d = ibis.literal(day).epoch_days()
    both = joined.o_line_no.notnull() & joined.t_line_no.notnull()
    differs = [(name, _differs(joined, name, plan.tolerance_minor)) for name in plan.compare]
    reason = ibis.cases(*[(flag, REASONS.get(name, f"{name}_mismatch")) for name, flag in differs], else_=None)
    duplicate = (joined.o_n > 1) | (joined.t_n > 1)
    done_on = ibis.greatest(joined.o_dn, joined.t_dn)
    outcome = ibis.cases(
        (both & (done_on == d) & duplicate, "mismatch"),
        (both & (done_on == d) & reason.isnull(), "matched"),
        (both & (done_on == d), "mismatch"),
        (joined.t_line_no.isnull() & (joined.o_dn + c == d), "short"),
        (joined.o_line_no.isnull() & (joined.t_dn + c == d), "long"),
        (joined.t_line_no.isnull() & (joined.o_dn + c > d), "pending"),
        (joined.o_line_no.isnull() & (joined.t_dn + c > d), "pending"),
        else_="done",
    )
    why = ibis.cases(
        (both & duplicate, "duplicate"),
        (both, reason),
        (joined.t_line_no.isnull() & duplicate, "duplicate"),
        (joined.o_line_no.isnull() & duplicate, "duplicate"),
        (joined.t_line_no.isnull(), "only_ours"),
        else_="only_theirs",
    )
    return joined.mutate(outcome=outcome, reason=why).filter(ibis._.outcome != "done")


def _differs(joined: ir.Table, name: str, tolerance_minor: int) -> ir.BooleanValue:
    ours, theirs = joined[f"o_{name}"], joined[f"t_{name}"]
    if name == "amount_minor" and tolerance_minor:
        return (ours - theirs).abs() > tolerance_minor
    return ~ours.identical_to(theirs)


def reconcile_day(plan: Plan, day: date, ours: list[str], theirs: list[str], first: date,
                  matched_path: Path | None, engine: str = "duckdb") -> DayOutcome:
    """Process one business day: matched pairs to ``matched_path`` (Parquet), breaks and counts back."""
    con = connect(engine)
    # Materialized once in the engine; the three reads below are over this small table.
    result = con.create_table("classified", classify(con, plan, day, ours, theirs, first), temp=True)
    if matched_path is not None:
        matched_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = matched_path.with_name(f".{matched_path.name}.tmp")
        result.filter(result.outcome == "matched").drop("outcome", "reason").to_parquet(tmp)
        tmp.replace(matched_path)
    totals = result.group_by("outcome").aggregate(n=ibis._.count()).to_pyarrow().to_pylist()
    counts = {row["outcome"]: row["n"] for row in totals}
    rows = result.filter(result.outcome.isin(["short", "long", "mismatch"])).to_pyarrow().to_pylist()
    con.disconnect()
    return DayOutcome(plan.name, day, counts.get("matched", 0), counts.get("pending", 0),
                      sorted((_break(row) for row in rows), key=lambda b: repr(b.key)))


def _record(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    if row[f"{prefix}line_no"] is None:
        return None
    return {column: row[f"{prefix}{column}"] for column in COLUMNS}


def _break(row: dict[str, Any]) -> BreakFound:
    ours, theirs = _record(row, "o_"), _record(row, "t_")
    side = ours or theirs
    assert side is not None
    return BreakFound(
        kind=row["outcome"], reason=row["reason"], day=side["business_day"], record_kind=side["record_kind"],
        order_no=side["order_no"], refund_no=side["refund_no"], currency=side["currency"], ours=ours, theirs=theirs,
    )
