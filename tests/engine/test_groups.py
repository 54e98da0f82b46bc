"""Grouped candidates: one record against several of the other side whose amounts add up to it."""

from __future__ import annotations

import random
from datetime import date, timedelta
from difflib import SequenceMatcher
from itertools import count

import pytest

from tally.engine import groups
from tally.engine.groups import Item

D1 = date(2026, 11, 1)
_line = count(1)


def item(side: str, amount: int, day: date = D1, currency: str = "CNY", text: str = "") -> Item:
    return Item(side, currency, amount, day, text, ("lake.parquet", next(_line)))


def similarity(ours: Item, theirs: Item) -> float:
    return SequenceMatcher(None, ours.text, theirs.text).ratio()


def find(target: Item, members: list[Item], window_days: int = 2, group_max: int = 4,
         min_similarity: float = 0.0) -> list[list[int]]:
    """The amounts of each group found for ``target``, best first."""
    found = groups.find([target], members, window_days, group_max, min_similarity, similarity)
    return [[members[m].amount_minor for m in group] for group in found.get(0, [])]


def test_an_exact_sum_of_the_other_side_is_a_group() -> None:
    credit = item("theirs", 10_000)
    payouts = [item("ours", 3_000), item("ours", 5_000), item("ours", 7_000)]
    assert find(credit, payouts) == [[3_000, 7_000]]


def test_one_minor_unit_off_is_no_group() -> None:
    credit = item("theirs", 10_000)
    assert find(credit, [item("ours", 3_000), item("ours", 6_999)]) == []
    assert find(credit, [item("ours", 3_000), item("ours", 7_001)]) == []


def test_other_currencies_and_the_same_side_are_not_members() -> None:
    credit = item("theirs", 10_000)
    assert find(credit, [item("ours", 3_000), item("ours", 7_000, currency="USD")]) == []
    assert find(credit, [item("ours", 3_000), item("theirs", 7_000)]) == []


@pytest.mark.parametrize(("offset", "window_days", "found"), [
    (2, 2, True), (-2, 2, True), (3, 2, False), (-3, 2, False), (0, 0, True), (1, 0, False)])
def test_every_member_lies_within_the_window(offset: int, window_days: int, found: bool) -> None:
    credit = item("theirs", 10_000)
    payouts = [item("ours", 3_000), item("ours", 7_000, day=D1 + timedelta(days=offset))]
    assert find(credit, payouts, window_days=window_days) == ([[3_000, 7_000]] if found else [])


def test_group_max_bounds_the_members() -> None:
    credit = item("theirs", 6_000)
    payouts = [item("ours", 1_000), item("ours", 2_000), item("ours", 3_000)]
    assert find(credit, payouts, group_max=2) == []
    assert find(credit, payouts, group_max=3) == [[1_000, 2_000, 3_000]]
    assert groups.find([credit], payouts, 2, 0, 0.0, similarity) == {}


def test_one_of_ours_against_several_of_theirs() -> None:
    payout = item("ours", 9_900)
    credits = [item("theirs", 4_950), item("theirs", 4_950), item("theirs", 100)]
    assert find(payout, credits) == [[4_950, 4_950]]


def test_refunds_among_the_members_are_summed_with_their_sign() -> None:
    credit = item("theirs", 1_000)
    assert find(credit, [item("ours", 1_500), item("ours", -500), item("ours", 800)]) == [[1_500, -500]]


def test_several_fitting_groups_are_all_kept_up_to_the_cap_fewer_members_first() -> None:
    credit = item("theirs", 1_000)
    payouts = [item("ours", a) for a in (400, 600, 300, 700, 200, 800, 100, 900)]
    found = find(credit, payouts)
    assert len(found) == groups.KEEP == 5
    assert all(sum(group) == 1_000 for group in found)
    assert sorted(sorted(group) for group in found[:4]) == [[100, 900], [200, 800], [300, 700], [400, 600]]
    assert len(found[4]) == 3


def test_closer_dates_then_text_similarity_rank_groups_of_one_size() -> None:
    credit = item("theirs", 1_000, text="PAYOUT PO-7 PO-8")
    far = [item("ours", 400, day=D1 - timedelta(days=2), text="PO-7"), item("ours", 600, text="PO-8")]
    near = [item("ours", 300, text="XX"), item("ours", 700, text="YY")]
    similar = [item("ours", 450, text="PAYOUT PO-7"), item("ours", 550, text="PAYOUT PO-8")]
    assert find(credit, far + near + similar) == [[450, 550], [300, 700], [400, 600]]
    assert find(credit, far + near + similar, min_similarity=0.5) == [[450, 550]]


def test_many_unpaired_records_give_bounded_results() -> None:
    # 200 unpaired payouts and 200 unpaired credits over ten days, and three payouts of D1 that a
    # credit of D1 pays; more than POOL payouts lie within its window, the three are the nearest.
    rng = random.Random(7)
    payouts = [item("ours", rng.randrange(100, 100_000), day=D1 + timedelta(days=rng.randrange(1, 10)))
               for _ in range(200)]
    planted = [item("ours", 1_234_501), item("ours", 1_234_502), item("ours", 1_234_503)]
    credits = [item("theirs", rng.randrange(100, 300_000), day=D1 + timedelta(days=rng.randrange(10)))
               for _ in range(200)] + [item("theirs", 3_703_506)]
    members = payouts + planted
    found = groups.find(credits, members, 2, 4, 0.0, similarity)
    assert [members[m].amount_minor for m in found[200][0]] == [1_234_501, 1_234_502, 1_234_503]
    assert len(found) > 1  # random amounts fit too: suggestions, for a person to look at
    for n, fitting in found.items():
        assert 1 <= len(fitting) <= groups.KEEP
        for group in fitting:
            assert 2 <= len(group) <= 4
            assert sum(members[m].amount_minor for m in group) == credits[n].amount_minor
            assert all(abs((members[m].day - credits[n].day).days) <= 2 for m in group)


def test_a_day_of_equal_amounts_is_searched_within_bounds() -> None:
    # 200 payouts of 1.00 and 100 credits of 4.00: millions of fitting groups, five kept per credit.
    payouts = [item("ours", 100) for _ in range(200)]
    credits = [item("theirs", 400) for _ in range(100)]
    found = groups.find(credits, payouts, 2, 4, 0.0, similarity)
    assert sorted(found) == list(range(100))
    for fitting in found.values():
        assert len(fitting) == groups.KEEP
        assert all(len(group) == 4 for group in fitting)
        # Only the POOL records nearest in time (here: first in lake order) are considered.
        assert {m for group in fitting for m in group} <= set(range(groups.POOL))
