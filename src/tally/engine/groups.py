"""Grouped candidates (N:1 and 1:N without a group key): one record against several of the other side.

A record left unpaired after the 1:1 candidate step (engine.candidates) gets as suggestions the
groups of 2..``group_max`` unpaired records of the other side, in its currency and each within
``window_days`` of it, whose amounts add up exactly to its amount: a bank credit paying several
payouts, or one payout paid by several credits. A group is only ever a suggestion: a person
confirms it by a manual match, even when it is the only one that fits.

The search is bounded so that a day of many unpaired records cannot explode: per record only the
``POOL`` records of the other side nearest in time are considered, at most ``BUDGET`` partial
groups are examined, and the ``KEEP`` best groups are kept — fewer members first, then closer
dates (the sum of the members' distances in days), then text similarity. Amounts are integer minor
units: sums are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

POOL = 30  # records of the other side considered per record: the nearest in time
KEEP = 5  # group suggestions kept per record
BUDGET = 20_000  # partial groups examined per record, at most
HITS = 500  # fitting groups ranked per record, at most (the search meets the nearest first)
MAX_MEMBERS = 5  # the largest group_max a plan may ask for


@dataclass(frozen=True)
class Item:
    """An unpaired record as the search sees it."""

    side: str  # "ours" | "theirs"
    currency: str
    amount_minor: int
    day: date
    text: str  # the plan's candidate text columns, joined
    # A stable tie-break (lake file, line): the same whatever order the engine returned rows in.
    order: tuple[Any, ...]


Similarity = Callable[[Item, Item], float]


def find(targets: list[Item], members: list[Item], window_days: int, group_max: int, min_similarity: float,
         similarity: Similarity) -> dict[int, list[tuple[int, ...]]]:
    """For each index into ``targets`` that has any, its best groups (indices into ``members``),
    best first. ``similarity(ours, theirs)`` is a ratio in [0, 1]; a group's is its members' mean."""
    found: dict[int, list[tuple[int, ...]]] = {}
    if group_max < 2:
        return found
    for n, target in enumerate(targets):
        groups = _groups(target, members, window_days, group_max, min_similarity, similarity)
        if groups:
            found[n] = groups
    return found


def _groups(target: Item, members: list[Item], window_days: int, group_max: int, min_similarity: float,
            similarity: Similarity) -> list[tuple[int, ...]]:
    def distance(m: int) -> int:
        return abs((members[m].day - target.day).days)

    near = [m for m, item in enumerate(members)
            if item.side != target.side and item.currency == target.currency and distance(m) <= window_days]
    sign = 1 if target.amount_minor > 0 else -1
    if all(members[m].amount_minor * sign > 0 for m in near):
        # Without amounts of the other sign, a member as large as the target leaves nothing for the
        # others: it cannot be in any group, and is not allowed to take a place in the pool.
        near = [m for m in near if members[m].amount_minor * sign < target.amount_minor * sign]
    pool = sorted(near, key=lambda m: (distance(m), members[m].order))[:POOL]
    if len(pool) < 2:
        return []
    amounts = [members[m].amount_minor for m in pool]
    positions: dict[int, list[int]] = {}
    for pos, amount in enumerate(amounts):
        positions.setdefault(amount, []).append(pos)
    # When every amount has the target's sign, a partial group already past the target cannot come
    # back to it: that branch is cut. Mixed signs (refunds among payments) are searched in full.
    prune = target.amount_minor != 0 and all(a * sign > 0 for a in amounts)
    hits: list[tuple[int, ...]] = []
    budget = BUDGET

    def extend(start: int, chosen: tuple[int, ...], total: int, size: int) -> None:
        nonlocal budget
        if len(chosen) == size - 1:  # the last member is looked up by the amount still needed
            hits.extend((*chosen, last) for last in positions.get(target.amount_minor - total, ()) if last >= start)
            return
        for pos in range(start, len(pool)):
            if budget <= 0 or len(hits) >= HITS:
                return
            budget -= 1
            running = total + amounts[pos]
            if prune and running * sign >= target.amount_minor * sign:
                continue
            extend(pos + 1, (*chosen, pos), running, size)

    for size in range(2, group_max + 1):
        if len(hits) >= KEEP or budget <= 0:
            break  # fewer members rank first: enough groups of smaller sizes are found
        extend(0, (), 0, size)

    # One similarity per pool record (ours first, as in the 1:1 step), not one per group.
    scores = [similarity(target, members[m]) if target.side == "ours" else similarity(members[m], target)
              for m in pool]
    scored = [(group, sum(scores[pos] for pos in group) / len(group)) for group in hits]
    kept = [(group, score) for group, score in scored if score >= min_similarity]
    kept.sort(key=lambda gs: (len(gs[0]), sum(distance(pool[pos]) for pos in gs[0]), -gs[1],
                              sorted(members[pool[pos]].order for pos in gs[0])))
    return [tuple(sorted((pool[pos] for pos in group), key=lambda m: members[m].order)) for group, _ in kept[:KEEP]]
