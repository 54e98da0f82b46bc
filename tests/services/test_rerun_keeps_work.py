"""A re-run of a day never overwrites work done on its breaks (running._publish and the workflow)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tally.breaks.models import Action, Break
from tally.services import audit, resolution
from tally.services.running import run_plan
from tests.services import factories as data
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db
DAY = date(2024, 5, 1)


def _setup() -> None:
    data.table_source("shop")
    data.table_source("wechat")
    data.import_csv("shop", DAY, ("A1", "12.34"), ("B1", "5.00"), ("E1", "10.00"))
    data.import_csv("wechat", DAY, ("A1", "12.34"), ("C1", "5.00"), ("D1", "3.00"), ("E1", "10.50"))
    data.plan("p", "shop", "wechat", carry_over_days=0)


def _by_order() -> dict[str, Break]:
    return {b.order_no: b for b in Break.objects.all()}


def test_a_rerun_keeps_manual_matches_suspensions_and_resolutions_as_they_are() -> None:
    _setup()
    run_plan("p", DAY, DAY)
    found = _by_order()
    assert {k: b.kind for k, b in found.items()} == {"B1": "short", "C1": "long", "D1": "long", "E1": "mismatch"}
    maker = f.user("operator")
    match = resolution.propose([found["B1"].pk, found["C1"].pk], "manual_match", maker)
    assert match.state == "applied"  # the sums agree: nothing to approve under the default threshold 0
    resolution.suspend(found["D1"], maker, "asked the channel", timezone.localdate() + timedelta(days=5))
    before = {k: (b.status, b.updated_at, b.resolution, b.ours, b.theirs) for k, b in _by_order().items()}

    run_plan("p", DAY, DAY)

    after = {k: (b.status, b.updated_at, b.resolution, b.ours, b.theirs) for k, b in _by_order().items()}
    assert after["B1"] == before["B1"]
    assert after["C1"] == before["C1"]
    assert after["D1"] == before["D1"]
    assert after["B1"][0] == "resolved"
    assert after["D1"][0] == "suspended"
    assert Action.objects.get(pk=match.pk).state == "applied"
    assert audit.verify().ok


def test_a_break_with_work_on_it_that_the_rerun_no_longer_finds_is_resolved_by_the_rerun_rule() -> None:
    _setup()
    run_plan("p", DAY, DAY)
    found = _by_order()
    resolution.comment(found["E1"], f.user("operator"), "asked the shop about the 0.50")
    plan = found["E1"].plan
    plan.spec = {**plan.spec, "tolerance_minor": 100}
    plan.save()

    run_plan("p", DAY, DAY)

    e1 = Break.objects.get(pk=found["E1"].pk)
    assert (e1.status, e1.resolution) == ("resolved", "rule:rerun")
    assert e1.comments.count() == 1
    assert Action.objects.get(breaks=e1, kind="resolve").rule_version == "1"


def test_an_untouched_break_the_rerun_no_longer_finds_is_removed() -> None:
    _setup()
    run_plan("p", DAY, DAY)
    plan = _by_order()["E1"].plan
    plan.spec = {**plan.spec, "tolerance_minor": 100}
    plan.save()
    run_plan("p", DAY, DAY)
    assert "E1" not in _by_order()


def test_tally_run_reopens_suspensions_whose_review_date_came() -> None:
    _setup()
    run_plan("p", DAY, DAY)
    d1 = _by_order()["D1"]
    resolution.suspend(d1, f.user("operator"), "asked the channel", timezone.localdate() + timedelta(days=1))
    Break.objects.filter(pk=d1.pk).update(suspended_until=timezone.localdate())  # the review date has come
    run_plan("p", DAY, DAY)
    assert Break.objects.get(pk=d1.pk).status == "open"
