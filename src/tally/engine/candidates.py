"""Candidate matching for sources without a shared reference (a bank statement against payouts).

Among the records a day leaves unpaired, a record of ours and one of theirs are candidates when
they have the same currency and amount and lie within ``window_days`` of each other. Text
similarity (of the plan's ``text`` columns, e.g. the bank's reference against our payout id)
ranks them. A pair is matched only when each is the other's single best candidate; anything
less certain is a suggestion kept on the break for a person to confirm — never a silent guess.

With ``group_max`` ≥ 2, a record still unpaired after that step also gets the groups of records
of the other side whose amounts add up to its own (engine.groups) — suggestions only.

A stored suggestion is a record of the other side (``side``, ``business_day``, ``order_no``,
``amount_minor``, ``currency``, ``line_no``, ``source``, ``bill_sha256``), or a group:
``{"group": [record, …], "amount_minor": sum, "currency": …}``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from difflib import SequenceMatcher
from typing import Any

from tally.engine import groups


@dataclass(frozen=True)
class Candidates:
    window_days: int = 2
    text: tuple[str, ...] = ("order_no",)
    min_similarity: float = 0.0  # a ratio in [0, 1] of text, not money
    # Largest group suggested against one record (engine.groups); 0: no groups.
    group_max: int = 0


def _text(row: dict[str, Any], prefix: str, spec: Candidates) -> str:
    return " ".join(str(row[f"{prefix}{name}"] or "") for name in spec.text)


def similarity(ours: dict[str, Any], theirs: dict[str, Any], spec: Candidates) -> float:
    return SequenceMatcher(None, _text(ours, "o_", spec), _text(theirs, "t_", spec)).ratio()


def pair(rows: list[dict[str, Any]], spec: Candidates) -> tuple[list[tuple[int, int]], dict[int, list[int]]]:
    """Indices into ``rows`` (one-sided rows of either side) of the pairs to match, and for every
    other row that has candidates, the indices of its candidates (suggestions)."""
    ours = [n for n, row in enumerate(rows) if row["t_line_no"] is None]
    theirs = [n for n, row in enumerate(rows) if row["o_line_no"] is None]
    scores: dict[tuple[int, int], float] = {}
    for o in ours:
        for t in theirs:
            a, b = rows[o], rows[t]
            if (a["o_currency"] == b["t_currency"] and a["o_amount_minor"] == b["t_amount_minor"]
                    and abs((a["o_business_day"] - b["t_business_day"]).days) <= spec.window_days):
                score = similarity(a, b, spec)
                if score >= spec.min_similarity:
                    scores[o, t] = score

    def best(n: int, side: int) -> int | None:
        options = [(score, pair_[1 - side]) for pair_, score in scores.items() if pair_[side] == n]
        if not options:
            return None
        top = max(score for score, _ in options)
        winners = [other for score, other in options if score == top]
        return winners[0] if len(winners) == 1 else None

    best_of_ours = {o: best(o, 0) for o in ours}
    matched = [(o, t) for o, t in best_of_ours.items() if t is not None and best(t, 1) == o]
    taken = {n for pair_ in matched for n in pair_}
    suggestions: dict[int, list[int]] = {}
    # Ties in the order of the lake (file, line), not of the rows, which each engine returns its own way.
    for (o, t) in sorted(scores, key=lambda p: (-scores[p], rows[p[0]]["o_file"], rows[p[0]]["o_line_no"],
                                                rows[p[1]]["t_file"], rows[p[1]]["t_line_no"])):
        if o not in taken and t not in taken:
            suggestions.setdefault(o, []).append(t)
            suggestions.setdefault(t, []).append(o)
    return matched, suggestions


# The carried ``side`` of a one-sided record that broke on an earlier day: carried only while it may
# still be a member of a group (its business day + carry_over_days + window_days), never re-paired.
RECENT = {"ours": "ours_break", "theirs": "theirs_break"}
Paths = dict[str, list[str]]  # "o_"/"t_" → the lake files a row's ``file`` indexes


def match(rows: list[dict[str, Any]], spec: Candidates, counts: Counter[str], paths: Paths,
          recent: list[dict[str, Any]]) -> None:
    """Pair unpaired rows (``pair``): a unique best pair counts as matched (outcome ``candidate``);
    other candidates, and groups, are kept on the rows (``suggestions``, ``groups``: member rows).
    ``recent``: carried records of earlier days' one-sided breaks, group members only."""
    one_sided = [row for row in rows if row["outcome"] in ("short", "long", "pending")]
    pairs, suggestions = pair(one_sided, spec)
    for o, t in pairs:
        for row in (one_sided[o], one_sided[t]):
            counts["pending"] -= row["outcome"] == "pending"
            row["outcome"] = "candidate"
        counts["matched"] += 1
    for n, others in suggestions.items():
        one_sided[n]["suggestions"] = [one_sided[m] for m in others]
    if spec.group_max < 2:
        return
    members = [row for row in one_sided if row["outcome"] != "candidate"] + [_recent_row(r) for r in recent]
    targets = [row for row in members if row["outcome"] in ("short", "long")]
    found = groups.find([_item(row, spec, paths) for row in targets], [_item(row, spec, paths) for row in members],
                        spec.window_days, spec.group_max, spec.min_similarity, _similarity)
    for n, fitting in found.items():
        targets[n]["groups"] = [[members[m] for m in group] for group in fitting]


def _similarity(ours: groups.Item, theirs: groups.Item) -> float:
    return SequenceMatcher(None, ours.text, theirs.text).ratio()


def _prefix(row: dict[str, Any]) -> str:
    return "o_" if row["t_line_no"] is None else "t_"


def _item(row: dict[str, Any], spec: Candidates, paths: Paths) -> groups.Item:
    p = _prefix(row)
    path = row["path"] if "path" in row else paths[p][row[f"{p}file"]]
    return groups.Item("ours" if p == "o_" else "theirs", row[f"{p}currency"], row[f"{p}amount_minor"],
                       row[f"{p}business_day"], _text(row, p, spec), (path, row[f"{p}line_no"]))


def _recent_row(record: dict[str, Any]) -> dict[str, Any]:
    p, other = ("o_", "t_") if record["side"] == RECENT["ours"] else ("t_", "o_")
    return {**{f"{p}{name}": value for name, value in record.items()}, f"{other}line_no": None,
            "outcome": "recent", "path": record["path"], "record": record}


def within_reach(record: dict[str, Any], day: date, carry_over_days: int, spec: Candidates) -> bool:
    """Whether a one-sided record may still be a member of a group of a record breaking on ``day``
    (one of business day ``day`` − carry_over_days, at most window_days away)."""
    return (day - record["business_day"]).days <= carry_over_days + spec.window_days


def still_recent(recent: list[dict[str, Any]], breaks: list[dict[str, Any]],
                 record_of: Callable[[dict[str, Any]], dict[str, Any]], paths: Paths, day: date,
                 carry_over_days: int, spec: Candidates) -> list[dict[str, Any]]:
    """The carried records (``RECENT`` sides) the next day's groups may need: ``recent`` and today's
    one-sided ``breaks``, while within reach."""
    out = list(recent)
    for row in breaks:
        p = _prefix(row)
        side = "ours" if p == "o_" else "theirs"
        out.append({**record_of(row), "side": RECENT[side], "path": paths[p][row[f"{p}file"]]})
    tomorrow = day + timedelta(days=1)
    return [r for r in out if within_reach(r, tomorrow, carry_over_days, spec)]


def stored(row: dict[str, Any], record_of: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """A break's suggestions as stored (see the module's docstring); ``record_of`` gives a member
    row's full lake record."""
    def one(member: dict[str, Any]) -> dict[str, Any]:
        p, record = _prefix(member), record_of(member)
        names = ("business_day", "order_no", "amount_minor", "currency", "line_no")
        return {"side": "ours" if p == "o_" else "theirs", **{name: member[f"{p}{name}"] for name in names},
                "source": record["source"], "bill_sha256": record["bill_sha256"]}

    singles = [one(member) for member in row.get("suggestions", ())]
    grouped = [{"group": [one(member) for member in group],
                "amount_minor": sum(member[f"{_prefix(member)}amount_minor"] for member in group),
                "currency": group[0][f"{_prefix(group[0])}currency"]} for group in row.get("groups", ())]
    return (*singles, *grouped)
