"""A small, obviously-correct matcher: the semantics of CONTRACT.md "How a run counts",
written as plain loops over records, to check the engine against."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tally.engine.compile import REASONS
from tally.engine.plan import Plan


@dataclass(frozen=True)
class Day:
    matched: int
    pending: int
    breaks: list[tuple[str, str, int | None, int | None]]  # kind, reason, ours line, theirs line


def _key(record: dict[str, Any], plan: Plan) -> tuple[str, ...]:
    return tuple("" if record[k] is None else str(record[k]) for k in plan.keys)


def _kept(record: dict[str, Any], filters: tuple) -> bool:
    return all(record[name] in values for name, values in filters)


def _first_difference(o: dict[str, Any], t: dict[str, Any], plan: Plan) -> str | None:
    for name in plan.compare:
        if name == "amount_minor" and (plan.tolerance_minor or plan.tolerance_bp):
            allowed = max(plan.tolerance_minor * 10_000, abs(o[name]) * plan.tolerance_bp)
            differs = abs(o[name] - t[name]) * 10_000 > allowed
        else:
            differs = o[name] != t[name]
        if differs:
            return REASONS.get(name, f"{name}_mismatch")
    return None


def simulate(plan: Plan, days: list[date], ours: list[dict[str, Any]],
             theirs: list[dict[str, Any]]) -> list[Day]:
    """Process the days in order, carrying each day's pending records into the next."""
    carried: list[tuple[str, dict[str, Any]]] = []
    results = []
    for day in days:
        result, carried = process(plan, day, ours, theirs, carried)
        results.append(result)
    return results


def process(plan: Plan, day: date, ours: list[dict[str, Any]], theirs: list[dict[str, Any]],
            carried: list[tuple[str, dict[str, Any]]]) -> tuple[Day, list[tuple[str, dict[str, Any]]]]:
    c = plan.carry_over_days
    o_in = [r for r in ours if r["business_day"] == day] + [r for side, r in carried if side == "o"]
    t_in = [r for r in theirs if r["business_day"] == day] + [r for side, r in carried if side == "t"]
    o_in = [r for r in o_in if _kept(r, plan.ours_filters)]
    t_in = [r for r in t_in if _kept(r, plan.theirs_filters)]
    pairs = [(o, t) for o in o_in for t in t_in
             if _key(o, plan) == _key(t, plan) and abs((o["business_day"] - t["business_day"]).days) <= c]
    partners = Counter([("o", o["line_no"]) for o, _ in pairs] + [("t", t["line_no"]) for _, t in pairs])
    ambiguous = {_key(o, plan) for o, t in pairs if partners["o", o["line_no"]] > 1 or partners["t", t["line_no"]] > 1}
    pairs = [(o, t) for o, t in pairs if _key(o, plan) not in ambiguous]
    paired = {("o", o["line_no"]) for o, _ in pairs} | {("t", t["line_no"]) for _, t in pairs}
    matched, breaks = 0, []
    for o, t in pairs:
        reason = _first_difference(o, t, plan)
        if reason is None:
            matched += 1
        else:
            breaks.append(("mismatch", reason, o["line_no"], t["line_no"]))
    one_sided = [("o", r) for r in o_in if ("o", r["line_no"]) not in paired] + \
                [("t", r) for r in t_in if ("t", r["line_no"]) not in paired]
    same_key = Counter((side, _key(r, plan)) for side, r in one_sided)
    waiting = []
    for side, r in one_sided:
        if r["business_day"] + timedelta(days=c) > day:
            waiting.append((side, r))
            continue
        duplicate = _key(r, plan) in ambiguous or same_key[side, _key(r, plan)] > 1
        reason = "duplicate" if duplicate else ("only_ours" if side == "o" else "only_theirs")
        line = r["line_no"]
        breaks.append(("short", reason, line, None) if side == "o" else ("long", reason, None, line))
    return Day(matched, len(waiting), sorted(breaks, key=repr)), waiting
