"""Rules and reports over the JSON API with tokens: the same service, permissions and plan access as
the rules and reports pages; the statement is the one `tally report --json` prints."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tally.breaks.models import Action, Break
from tally.cli import main
from tally.services.running import run_plan
from tests.services import factories as sf
from tests.services import workflow_factories as f
from tests.web.api_client import Api

pytestmark = pytest.mark.django_db
DAY = f.DAY
NEXT = DAY + dt.timedelta(days=1)
RULES = [{"rule": "cross_day"}, {"rule": "rounding", "tolerance_minor": 1}]


def rounding_plan() -> tuple[Any, Break, Break, Break]:
    """A plan whose rounding rule explains two breaks (one per day) and not a third."""
    plan = f.plan(rules=RULES)
    near = f.brk(plan, ours=1000, theirs=999, order_no="NEAR")
    far = f.brk(plan, ours=1000, theirs=990, order_no="FAR")
    later = f.brk(plan, ours=500, theirs=501, order_no="LATER", day=NEXT)
    return plan, near, far, later


# Rules.

def test_list_the_plans_rules_with_kind_version_and_parameters() -> None:
    plan, *_ = rounding_plan()
    answer = Api(f.user("viewer")).get(f"/rules/{plan.name}")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["plan"] == plan.name
    assert body["rules"] == [
        {"position": 1, "name": "cross_day", "kind": "notes", "version": 1, "explains": [], "parameters": {}},
        {"position": 2, "name": "rounding", "kind": "resolves", "version": 1, "explains": ["amount_minor"],
         "parameters": {"tolerance_minor": 1}},
    ]


def test_dry_run_of_a_day_and_of_a_range_changes_nothing() -> None:
    plan, near, _far, later = rounding_plan()
    api = Api(f.user("viewer"))
    day = api.get(f"/rules/{plan.name}/dry-run?first={DAY}").json()
    assert (day["dry_run"], day["examined"]) == (True, 2)
    [would] = day["resolved"]
    assert (would["break_id"], would["rule"], would["rule_version"], would["applied"]) == (near.pk, "rounding", 1,
                                                                                          False)
    assert would["explanation"] == "difference 0.01 CNY is within the rounding tolerance of 0.01 CNY"
    both = api.get(f"/rules/{plan.name}/dry-run?first={DAY}&last={NEXT}").json()
    assert both["examined"] == 3
    assert sorted(o["break_id"] for o in both["resolved"]) == sorted([near.pk, later.pk])
    every = api.get(f"/rules/{plan.name}/dry-run").json()
    assert every["examined"] == 3
    assert set(Break.objects.values_list("status", flat=True)) == {"open"}
    assert not Action.objects.exists()


def test_an_operator_applies_the_rules_of_a_day() -> None:
    plan, near, far, later = rounding_plan()
    answer = Api(f.user("operator")).post(f"/rules/{plan.name}/apply", {"first": DAY.isoformat()})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["dry_run"] is False
    assert [(o["break_id"], o["applied"]) for o in body["resolved"]] == [(near.pk, True)]
    statuses = dict(Break.objects.values_list("pk", "status"))
    assert (statuses[near.pk], statuses[far.pk], statuses[later.pk]) == ("resolved", "open", "open")
    action = Action.objects.get(breaks=near)
    assert (action.rule, action.rule_version, action.maker_id, action.state) == ("rounding", "1", None, "applied")


def test_applying_needs_the_operator_permission_like_the_page() -> None:
    plan, near, *_ = rounding_plan()
    for role in ("viewer", "approver"):
        refused = Api(f.user(role)).post(f"/rules/{plan.name}/apply", {})
        assert refused.status_code == 403, role
    assert Break.objects.get(pk=near.pk).status == "open"
    nobody = Api(f.user(None))
    assert nobody.get(f"/rules/{plan.name}").status_code == 403
    assert nobody.get(f"/rules/{plan.name}/dry-run").status_code == 403
    assert Client().get(f"/api/rules/{plan.name}").status_code == 401


def test_a_plan_the_user_may_not_see_is_404_for_every_rules_endpoint() -> None:
    plan, near, *_ = rounding_plan()
    other = f.plan()
    limited = Api(f.user("admin", plans=(other,)))
    for answer in (limited.get(f"/rules/{plan.name}"), limited.get(f"/rules/{plan.name}/dry-run"),
                   limited.post(f"/rules/{plan.name}/apply", {}), limited.get("/rules/no-such-plan")):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "UNKNOWN_PLAN"
    assert Break.objects.get(pk=near.pk).status == "open"


def test_bad_days_are_refused_with_a_code() -> None:
    plan, *_ = rounding_plan()
    api = Api(f.user("operator"))
    assert api.get(f"/rules/{plan.name}/dry-run?first=not-a-day").status_code == 422
    no_first = api.get(f"/rules/{plan.name}/dry-run?last={DAY}")
    assert (no_first.status_code, no_first.json()["error"]["code"]) == (400, "BAD_RANGE")
    backwards = api.post(f"/rules/{plan.name}/apply", {"first": NEXT.isoformat(), "last": DAY.isoformat()})
    assert (backwards.status_code, backwards.json()["error"]["code"], backwards.json()["error"]["field"]) == (
        400, "BAD_RANGE", "last")
    assert set(Break.objects.values_list("status", flat=True)) == {"open"}


# Reports.

def reconciled() -> str:
    """Two days of real bills through a real run: 应收/实收 from the lake, breaks from the run."""
    sf.table_source("shop")
    sf.table_source("bank")
    sf.import_csv("shop", DAY, ("A1", "12.34"), ("A2", "5.00"))
    sf.import_csv("bank", DAY, ("A1", "12.34"), ("A3", "7.00"))
    sf.import_csv("shop", NEXT, ("B1", "1.00"))
    sf.import_csv("bank", NEXT, ("B1", "1.50"))
    sf.plan("bank_vs_shop", "shop", "bank", carry_over_days=0)
    run_plan("bank_vs_shop", DAY, NEXT)
    return "bank_vs_shop"


def test_the_statement_per_day_is_what_tally_report_prints(capsys: pytest.CaptureFixture[str]) -> None:
    plan = reconciled()
    answer = Api(f.user("viewer")).get(f"/reports/{plan}?first={DAY}&last={NEXT}")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["plan"], body["channel"], body["ours"], body["first"], body["last"]) == (
        plan, "bank", "shop", DAY.isoformat(), NEXT.isoformat())
    first, second = body["days"]
    cny = first["currencies"]["CNY"]
    assert (cny["expected_minor"], cny["received_minor"], cny["difference_minor"]) == (1734, 1934, -200)
    assert (cny["short_count"], cny["short_minor"], cny["long_count"], cny["long_minor"]) == (1, 500, 1, 700)
    assert first["matched"] == 1
    assert second["currencies"]["CNY"]["mismatch_minor"] == 50
    for day, got in ((DAY, first), (NEXT, second)):
        capsys.readouterr()
        assert main(["report", "--plan", plan, "--day", day.isoformat(), "--json"]) == 0
        assert got == json.loads(capsys.readouterr().out)


def test_one_day_by_default_and_the_reports_permission() -> None:
    plan = reconciled()
    one = Api(f.user("viewer")).get(f"/reports/{plan}?first={NEXT}").json()
    assert [d["day"] for d in one["days"]] == [NEXT.isoformat()]
    assert Api(f.user(None)).get(f"/reports/{plan}?first={DAY}").status_code == 403


def test_a_hidden_plans_report_is_404() -> None:
    plan = reconciled()
    limited = Api(f.user("viewer", plans=(f.plan(),)))
    answer = limited.get(f"/reports/{plan}?first={DAY}")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "UNKNOWN_PLAN")


def test_bad_report_ranges_are_refused() -> None:
    plan = f.plan()
    api = Api(f.user("viewer"))
    assert api.get(f"/reports/{plan.name}").status_code == 422  # first is required
    assert api.get(f"/reports/{plan.name}?first=2024-13-01").status_code == 422
    assert api.get(f"/reports/{plan.name}?first=0001-01-01").status_code == 422  # no 挂账 cut-off before it
    long = api.get(f"/reports/{plan.name}?first={DAY}&last={DAY + dt.timedelta(days=31)}")
    assert (long.status_code, long.json()["error"]["code"]) == (400, "RANGE_TOO_LONG")
    backwards = api.get(f"/reports/{plan.name}?first={NEXT}&last={DAY}")
    assert (backwards.status_code, backwards.json()["error"]["code"]) == (400, "BAD_RANGE")
