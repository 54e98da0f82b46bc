"""Applying a plan's automatic rules to its open breaks (``tally rules apply``, the rules page, and
by itself after each run day).

The rules run in the plan's order over each open break; the first rule that explains a break
resolves it through the workflow (``resolve(..., by=None, rule=NAME, rule_version=N)``: an
audited action naming the rule and its version). Notes (``cross_day``) are reported beside the
break and never resolve it. A dry run computes exactly the same list and changes nothing.

Matched pairs across business days never become breaks: the run counts them per day
(``DayResult.cross_day``), and the ``cross_day`` rule reports those counts with its notes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from tally.breaks.models import Break, DayResult, FxRate, Plan
from tally.engine.plan import Plan as PlanSpec
from tally.engine.rules import Context, Finding, explain
from tally.errors import ConfigError, TallyError
from tally.money import format_minor
from tally.services import resolution

log = logging.getLogger("tally.rules")


@dataclass(frozen=True)
class Outcome:
    """What the rules say about one break: the resolving finding (if any) and the notes."""

    brk: Break
    finding: Finding | None
    notes: tuple[Finding, ...] = ()
    applied: bool = False
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        b = self.brk
        return {"break": b.pk, "day": b.day.isoformat(), "kind": b.kind, "order_no": b.order_no,
                "refund_no": b.refund_no or None, "currency": b.currency,
                "ours_amount_minor": b.ours_amount_minor, "theirs_amount_minor": b.theirs_amount_minor,
                "rule": self.finding.rule if self.finding else None,
                "rule_version": self.finding.version if self.finding else None,
                "explanation": self.finding.text if self.finding else None,
                "notes": [f"{n.rule}: {n.text}" for n in self.notes], "applied": self.applied,
                "error": self.error or None}


@dataclass
class Applied:
    plan: str
    dry_run: bool
    examined: int = 0
    resolved: list[Outcome] = field(default_factory=list)  # resolved, or would be (dry run)
    noted: list[Outcome] = field(default_factory=list)  # notes only: left to people
    cross_day: list[tuple[date, int]] = field(default_factory=list)  # matched across days, per day

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "dry_run": self.dry_run, "examined": self.examined,
                "resolved": [o.as_dict() for o in self.resolved], "noted": [o.as_dict() for o in self.noted],
                "cross_day": [{"day": d.isoformat(), "matched": n} for d, n in self.cross_day]}


def spec_of(plan: Plan | str) -> tuple[Plan, PlanSpec]:
    if isinstance(plan, str):
        found = Plan.objects.filter(name=plan).first()
        if found is None:
            raise ConfigError("UNKNOWN_PLAN", f"there is no plan named {plan!r}",
                              hint="declare it with `tally apply FILE.toml`")
        plan = found
    return plan, PlanSpec.from_spec(plan.name, plan.spec)


def open_breaks(plan: Plan, day: date | None = None, *, detected_on: date | None = None,
                last: date | None = None) -> QuerySet[Break]:
    """The plan's open breaks of business ``day`` (through ``last`` when given), or all of them."""
    query = Break.objects.filter(plan=plan, status=Break.Status.OPEN)
    if day is not None and last is not None:
        query = query.filter(day__range=(day, last))
    elif day is not None:
        query = query.filter(day=day)
    if detected_on is not None:
        query = query.filter(detected_on=detected_on)
    return query.order_by("day", "id")


def _rates(breaks: list[Break]) -> dict[tuple[date, str, str], Decimal]:
    """The rates of the days of every break whose two sides are in different currencies."""
    days = {date.fromisoformat(str(b.theirs["business_day"])) for b in breaks
            if b.ours and b.theirs and b.ours.get("currency") != b.theirs.get("currency")}
    if not days:
        return {}
    return {(r.day, r.base, r.quote): r.value for r in FxRate.objects.filter(day__in=days)}


def evaluate(spec: PlanSpec, breaks: list[Break]) -> list[Outcome]:
    """Each break with what the plan's rules say about it (pure but for the rate lookup)."""
    ctx = Context(compare=spec.compare, rates=_rates(breaks))
    outcomes = []
    for brk in breaks:
        notes: list[Finding] = []
        finding = None
        for rule in spec.rules:
            found = explain(rule, brk.ours, brk.theirs, ctx)
            if found is None:
                continue
            if found.resolves:
                finding = found
                break
            notes.append(found)
        if finding or notes:
            outcomes.append(Outcome(brk, finding, tuple(notes)))
    return outcomes


def apply_rules(plan: Plan | str, day: date | None = None, dry_run: bool = False, *,
                detected_on: date | None = None, last: date | None = None) -> Applied:
    """Run the plan's rules over its open breaks (of business ``day``, or days ``day`` … ``last``, or
    detected on ``detected_on``)."""
    plan, spec = spec_of(plan)
    result = Applied(plan.name, dry_run)
    if not spec.rules:
        return result
    breaks = list(open_breaks(plan, day, detected_on=detected_on, last=last))
    result.examined = len(breaks)
    for outcome in evaluate(spec, breaks):
        if outcome.finding is None:
            result.noted.append(outcome)
        elif dry_run:
            result.resolved.append(outcome)
        else:
            result.resolved.append(_resolve(outcome))
    if any(rule.name == "cross_day" for rule in spec.rules):
        days = DayResult.objects.filter(plan=plan, cross_day__gt=0)
        one_day = day or detected_on
        if day is not None and last is not None:
            days = days.filter(day__range=(day, last))
        elif one_day is not None:
            days = days.filter(day=one_day)
        result.cross_day = list(days.order_by("day").values_list("day", "cross_day"))
    return result


def _resolve(outcome: Outcome) -> Outcome:
    finding = outcome.finding
    assert finding is not None
    reason = finding.text
    if outcome.notes:
        reason += "; " + "; ".join(n.text for n in outcome.notes)
    try:
        resolution.resolve(outcome.brk.pk, None, rule=finding.rule, rule_version=str(finding.version), reason=reason)
    except TallyError as exc:  # someone acted on the break meanwhile: left as it is, and said so
        log.warning("rule %s did not resolve break %s: %s", finding.rule, outcome.brk.pk, exc.message)
        return Outcome(outcome.brk, finding, outcome.notes, applied=False, error=exc.message)
    return Outcome(outcome.brk, finding, outcome.notes, applied=True)


def summary_line(outcome: Outcome) -> str:
    """One line of the CLI's plain output."""
    b = outcome.brk
    amounts = " / ".join(format_minor(a, b.currency) if a is not None else "-"
                         for a in (b.ours_amount_minor, b.theirs_amount_minor))
    what = f"{outcome.finding.rule}@{outcome.finding.version}: {outcome.finding.text}" if outcome.finding else \
        "; ".join(f"{n.rule}: {n.text}" for n in outcome.notes)
    return f"#{b.pk} {b.day} {b.kind} {b.order_no or '-'} {amounts} {b.currency}  {what}"
