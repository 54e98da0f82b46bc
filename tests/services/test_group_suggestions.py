"""Group suggestions end to end: a plan TOML with `candidates.group_max`, bills imported through
the normal path, a run, the group on the bank credit's break, and a person confirming it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tally import config
from tally.breaks.models import Action, Break
from tally.services import declarations, resolution, suggestions
from tally.services.running import run_plan
from tests.services import factories as data
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db
DAY = date(2024, 5, 1)

TOML = """
[sources.payouts]
kind = "table"
format = "csv"
currency = "CNY"
timezone = "Asia/Shanghai"
[sources.payouts.columns]
order_no = "order_no"
amount_minor = "amount"
occurred_at = "paid_at"

[sources.bank]
kind = "table"
format = "csv"
currency = "CNY"
timezone = "Asia/Shanghai"
[sources.bank.columns]
order_no = "order_no"
amount_minor = "amount"
occurred_at = "paid_at"

[plans.bank_vs_payouts]
ours = "payouts"
theirs = "bank"
keys = ["order_no"]
carry_over_days = 1
[plans.bank_vs_payouts.candidates]
window_days = 2
text = ["order_no"]
group_max = 4
"""


def _run() -> dict[str, Break]:
    declarations.apply(config.parse(TOML, file="tally.toml"), file="tally.toml")
    # Payouts PO-1 + PO-2 (30.00 + 45.00) are paid the next day by one bank credit of 75.00 that
    # names neither; the other records fit nothing.
    data.import_csv("payouts", DAY, ("PO-1", "30.00"), ("PO-2", "45.00"))
    data.import_csv("payouts", DAY + timedelta(days=1), ("PO-3", "1.11"))
    data.import_csv("payouts", DAY + timedelta(days=2), ("PO-4", "2.22"))
    data.import_csv("bank", DAY, ("FEE-0", "5.55"))
    data.import_csv("bank", DAY + timedelta(days=1), ("BATCH-77", "75.00"))
    data.import_csv("bank", DAY + timedelta(days=2), ("FEE-2", "7.77"))
    outcomes = run_plan("bank_vs_payouts", DAY, DAY + timedelta(days=2))
    assert sum(outcome.matched for outcome in outcomes) == 0  # a group is never matched by itself
    return {b.order_no: b for b in Break.objects.all()}


def test_a_suggested_group_is_confirmed_as_a_manual_match_and_resolves_the_breaks() -> None:
    found = _run()
    assert {k: b.kind for k, b in found.items()} == {
        "PO-1": "short", "PO-2": "short", "PO-3": "short", "FEE-0": "long", "BATCH-77": "long"}
    credit = found["BATCH-77"]
    (stored,) = credit.suggestions
    assert stored["amount_minor"] == credit.theirs_amount_minor == 7500
    assert [(m["order_no"], m["amount_minor"], m["source"]) for m in stored["group"]] == [
        ("PO-1", 3000, "payouts"), ("PO-2", 4500, "payouts")]

    (group,) = suggestions.suggested(credit)
    assert (group.grouped, group.adds_up, group.confirmable) == (True, True, True)
    assert sorted(group.break_ids) == sorted([found["PO-1"].pk, found["PO-2"].pk])

    maker = f.user("operator")
    match = resolution.propose([credit.pk, *group.break_ids], "manual_match", maker)
    # An N:1 manual match whose sums agree moves no money: the default maker-checker policy applies
    # it at once (docs/workflow.md), exactly as the same match typed by hand would be.
    assert (match.state, match.amount_minor, match.payload) == (
        "applied", 0, {"ours": sorted(group.break_ids), "theirs": [credit.pk]})
    statuses = {k: (b.status, b.resolution) for k, b in ((k, Break.objects.get(pk=b.pk)) for k, b in found.items())}
    assert statuses["BATCH-77"] == statuses["PO-1"] == statuses["PO-2"] == ("resolved", "manual_match")
    assert statuses["PO-3"][0] == statuses["FEE-0"][0] == "open"
    assert not suggestions.suggested(Break.objects.get(pk=credit.pk))[0].confirmable


def test_an_unmatched_group_can_be_confirmed_again() -> None:
    found = _run()
    credit = found["BATCH-77"]
    (group,) = suggestions.suggested(credit)
    maker = f.user("operator")
    match = resolution.propose([credit.pk, *group.break_ids], "manual_match", maker)
    resolution.unmatch(match.pk, maker, "confirmed too early")
    assert Action.objects.get(pk=match.pk).state == "undone"
    assert {Break.objects.get(pk=pk).status for pk in (credit.pk, *group.break_ids)} == {"open"}
    (again,) = suggestions.suggested(Break.objects.get(pk=credit.pk))
    assert again.confirmable
    assert sorted(again.break_ids) == sorted(group.break_ids)
