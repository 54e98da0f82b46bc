"""Totals plans (账账 / 账实, and N:1 / 1:N by a group key), compiled through Ibis.

Instead of pairing records, each side's records of the processing day are summed per group
(``group_by``, possibly named differently on each side: our settlement batch number against the
bank's reference) and the totals are compared: equal (within tolerance) is matched, different is
a ``mismatch`` naming the group and both totals, a group on one side only is ``short``/``long``.
The measure is money (``amount_minor``, per currency) or units (``quantity``: shipped SKUs against
the inventory system's stock movements). A break's records describe the group; the records
behind it are found again in the lake by the group's values (drill-down).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from tally.engine.day import BreakFound, DayOutcome
from tally.engine.plan import Plan
from tally.records import SCHEMA


def _side(con: Any, files: list[str], plan: Plan, day: date, ours: bool) -> ir.Table:
    from tally.engine.compile import filtered

    group = plan.group_by_ours if ours else plan.group_by_theirs
    parts = [con.read_parquet(path) for path in files] or [ibis.memtable(SCHEMA.empty_table())]
    table = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    table = filtered(table.filter(table.business_day == day), plan.ours_filters if ours else plan.theirs_filters)
    # The same group names on both sides (g0, g1, …), so the two sides join on them.
    keyed = table.mutate(**{f"g{n}": table[name].cast("string").fill_null("") for n, name in enumerate(group)})
    return keyed.group_by([f"g{n}" for n in range(len(group))]).aggregate(
        total=keyed[plan.measure].fill_null(0).sum(), records=ibis._.count())


def reconcile_totals(con: Any, plan: Plan, day: date, ours: list[str], theirs: list[str]) -> DayOutcome:
    o = _side(con, ours, plan, day, True)
    t = _side(con, theirs, plan, day, False)
    names = [f"g{n}" for n in range(len(plan.group_by_ours))]
    joined = o.outer_join(t, [o[name] == t[name] for name in names], lname="o_{name}", rname="t_{name}")
    rows = joined.to_pyarrow().to_pylist()
    matched, breaks = 0, []
    for row in rows:
        o_total, t_total = row["o_total"], row["t_total"]
        if o_total is not None and t_total is not None and _within(plan, o_total, t_total):
            matched += 1
            continue
        kind = "short" if t_total is None else "long" if o_total is None else "mismatch"
        values = [row[f"o_{n}"] if row[f"o_{n}"] is not None else row[f"t_{n}"] for n in names]
        breaks.append(_break(plan, day, kind, values, row))
    return DayOutcome(plan.name, day, matched, 0, sorted(breaks, key=lambda b: repr(b.key)))


def _within(plan: Plan, ours: int, theirs: int) -> bool:
    allowed = max(plan.tolerance_minor * 10_000, abs(ours) * plan.tolerance_bp)
    return abs(ours - theirs) * 10_000 <= allowed


def _break(plan: Plan, day: date, kind: str, values: list[str], row: dict[str, Any]) -> BreakFound:
    def side(prefix: str, group: tuple[str, ...]) -> dict[str, Any] | None:
        if row[f"{prefix}total"] is None:
            return None
        return {"group": dict(zip(group, values, strict=True)), "measure": plan.measure,
                "total": row[f"{prefix}total"], "records": row[f"{prefix}records"], "business_day": day}

    labels = dict(zip(plan.group_by_ours, values, strict=True))
    currency = labels.get("currency") or ("XXX" if plan.measure == "quantity" else "")
    reason = {"short": "only_ours", "long": "only_theirs"}.get(kind, "total_mismatch")
    return BreakFound(kind=kind, reason=reason, day=day, record_kind="total",
                      order_no=" / ".join(v for v in values if v) or None, refund_no=None, currency=currency,
                      ours=side("o_", plan.group_by_ours), theirs=side("t_", plan.group_by_theirs))
