"""A plan's automatic rules over the API: what they are, a dry run, and applying them.

The same service as ``tally rules apply`` and the rules page (``tally.services.rules``) and the same
permissions as that page: seeing the rules and the dry run needs ``breaks.view_break``, applying
them ``breaks.act_on_break`` too. A plan the caller may not see is 404 like a missing one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from tally.engine.plan import Plan as PlanSpec
from tally.engine.rules import KINDS
from tally.errors import ConfigError
from tally.services import access
from tally.services.rules import Applied, Outcome, apply_rules
from tally.web.api.answers import errors
from tally.web.api.auth import needs, require
from tally.web.api.plans import visible

router = Router(tags=["rules"])
VIEW = access.VIEW  # the rules page
APPLY = access.ACT  # its apply button


class RuleOut(Schema):
    position: int  # 1-based: the order the rules are tried in
    name: str  # as declared (rule = "fee"), and as recorded on the actions it resolves
    kind: str  # "resolves": explains and resolves a break; "notes": only notes it (cross_day)
    version: int
    explains: list[str]  # the compared fields the rule may explain
    parameters: dict[str, Any]  # every parameter, defaults included


class RulesOut(Schema):
    plan: str
    plan_version: int
    rules: list[RuleOut]


class Days(Schema):
    """No days: every open break; ``first``: that business day; ``first`` and ``last``: the range."""

    first: date | None = None
    last: date | None = None


class OutcomeOut(Schema):
    break_id: int
    day: date
    kind: str
    order_no: str
    refund_no: str | None
    currency: str
    ours_amount_minor: int | None
    theirs_amount_minor: int | None
    rule: str | None  # the rule that resolves (would resolve) it; None: notes only
    rule_version: int | None
    explanation: str | None
    notes: list[str]
    applied: bool
    error: str | None  # why a resolution did not happen (the break changed meanwhile)


class CrossDayOut(Schema):
    day: date
    matched: int


class RulesRun(Schema):
    plan: str
    dry_run: bool
    examined: int
    resolved: list[OutcomeOut]  # resolved, or would be (dry run)
    noted: list[OutcomeOut]  # notes only: left to people
    cross_day: list[CrossDayOut]


def _rule(position: int, rule: Any) -> dict[str, Any]:
    kind = KINDS[rule.name]
    names = sorted(set(kind.defaults) | set(kind.required))
    return {"position": position, "name": rule.name, "kind": "resolves" if kind.explains else "notes",
            "version": rule.version, "explains": list(kind.explains),
            "parameters": {n: rule.param(n) for n in names}}


def _outcome(outcome: Outcome) -> dict[str, Any]:
    row = outcome.as_dict()
    row["break_id"] = row.pop("break")
    return row


def _run(applied: Applied) -> dict[str, Any]:
    return {"plan": applied.plan, "dry_run": applied.dry_run, "examined": applied.examined,
            "resolved": [_outcome(o) for o in applied.resolved], "noted": [_outcome(o) for o in applied.noted],
            "cross_day": [{"day": d, "matched": n} for d, n in applied.cross_day]}


def _range(days: Days) -> tuple[date | None, date | None]:
    if days.last is not None and days.first is None:
        raise ConfigError("BAD_RANGE", "last needs first: give the range's first day too", field="first")
    if days.first is not None and days.last is not None and days.last < days.first:
        raise ConfigError("BAD_RANGE", f"last ({days.last}) is before first ({days.first})", field="last")
    return days.first, days.last


@router.get("/{plan}", response={200: RulesOut, **errors(400, 401, 403, 404, 422)},
            summary="The plan's automatic rules, in the order they are tried")
def rule_list(request: HttpRequest, plan: str) -> dict[str, Any]:
    require(request, VIEW)
    found = visible(request, plan)
    spec = PlanSpec.from_spec(found.name, found.spec)  # a declaration that no longer validates: 400
    return {"plan": found.name, "plan_version": found.version,
            "rules": [_rule(n, r) for n, r in enumerate(spec.rules, start=1)]}


@router.get("/{plan}/dry-run", response={200: RulesRun, **errors(400, 401, 403, 404, 422)},
            summary="What the rules would resolve now among the open breaks of a day, a range or all days "
                    "(changes nothing)")
def rule_dry_run(request: HttpRequest, plan: str, days: Query[Days]) -> dict[str, Any]:
    require(request, VIEW)
    found = visible(request, plan)
    first, last = _range(days)
    return _run(apply_rules(found, day=first, last=last, dry_run=True))


@router.post("/{plan}/apply", response={200: RulesRun, **errors(400, 401, 403, 404, 422)}, auth=needs(APPLY),
             summary="Apply the rules to the open breaks of a day, a range or all days (each resolution audited "
                     "with the rule and its version)")
def rule_apply(request: HttpRequest, plan: str, days: Days) -> dict[str, Any]:
    require(request, VIEW)
    require(request, APPLY)
    found = visible(request, plan)
    first, last = _range(days)
    return _run(apply_rules(found, day=first, last=last))
