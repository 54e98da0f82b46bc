"""Plans as the back office edits them: their TOML, validation, saving, and a dry run of one day.

The text is the plan's ``[plans.NAME]`` table exactly as ``tally export`` writes it; it is read
back through ``tally.config`` (the same checks as ``tally apply``), so a plan saved in the back
office is one ``tally apply`` would accept. Saving a changed plan bumps its version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import tomli_w
from django.db import transaction

from tally import config
from tally.breaks.models import Plan
from tally.engine.day import DayOutcome
from tally.engine.plan import Plan as PlanSpec
from tally.errors import ConfigError
from tally.ingest.models import Source
from tally.services import declarations, running


@dataclass(frozen=True)
class Checked:
    spec: dict[str, Any]
    plan: PlanSpec


def plan_toml(plan: Plan) -> str:
    return tomli_w.dumps({"plans": {plan.name: plan.spec}})


def check(name: str, text: str) -> Checked:
    """The edited text as a plan declaration for ``name``; ConfigError (with line or field) if not."""
    decl = config.parse(text, file=f"plans.{name}")
    if decl.sources:
        raise ConfigError("BAD_CONFIG", "only the plan itself can be edited here, not sources",
                          field="sources", hint="change sources on their own pages")
    if list(decl.plans) != [name]:
        found = ", ".join(decl.plans) or "none"
        raise ConfigError("BAD_CONFIG", f"the text must declare exactly [plans.{name}] (found: {found})",
                          field=f"plans.{name}", hint="a plan is renamed with tally apply, not here")
    spec = decl.plans[name]
    plan = PlanSpec.from_spec(name, spec)
    known = set(Source.objects.filter(name__in=plan.sources).values_list("name", flat=True))
    missing = [s for s in plan.sources if s not in known]
    if missing:
        raise ConfigError("UNKNOWN_SOURCE", f"plans.{name} refers to undeclared source(s) {', '.join(missing)}",
                          field=f"plans.{name}", hint="add the source first")
    return Checked(spec, plan)


@transaction.atomic
def save(plan: Plan, text: str) -> Plan:
    """Store the edited declaration (a new version when it changed); returns the plan as saved."""
    checked = check(plan.name, text)
    declarations.apply(config.Declarations(sources={}, plans={plan.name: checked.spec}))
    return Plan.objects.get(pk=plan.pk)


def dry_run(plan: Plan, text: str, day: date) -> DayOutcome:
    """What processing ``day`` would give under the edited declaration; nothing is written."""
    checked = check(plan.name, text)
    return running.run_day(plan, checked.plan, day, dry_run=True)
