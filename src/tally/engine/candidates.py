"""Candidate matching for sources without a shared reference (a bank statement against payouts).

Among the records a day leaves unpaired, a record of ours and one of theirs are candidates when
they have the same currency and amount and lie within ``window_days`` of each other. Text
similarity (of the plan's ``text`` columns, e.g. the bank's reference against our payout id)
ranks them. A pair is matched only when each is the other's single best candidate; anything
less certain is a suggestion kept on the break for a person to confirm — never a silent guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any


@dataclass(frozen=True)
class Candidates:
    window_days: int = 2
    text: tuple[str, ...] = ("order_no",)
    min_similarity: float = 0.0  # a ratio in [0, 1] of text, not money


def similarity(ours: dict[str, Any], theirs: dict[str, Any], spec: Candidates) -> float:
    def text(row: dict[str, Any], prefix: str) -> str:
        return " ".join(str(row[f"{prefix}{name}"] or "") for name in spec.text)

    return SequenceMatcher(None, text(ours, "o_"), text(theirs, "t_")).ratio()


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
    for (o, t) in sorted(scores, key=lambda p: -scores[p]):
        if o not in taken and t not in taken:
            suggestions.setdefault(o, []).append(t)
            suggestions.setdefault(t, []).append(o)
    return matched, suggestions
