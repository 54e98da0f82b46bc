"""What follows each published run day: the plan's rules over the breaks that day raised, then
the alert for new breaks the rules did not explain.

Neither may undo the day: it is already published. A failure is logged (with its traceback in
``TALLY_HOME/logs``) and the run goes on; ``tally rules apply PLAN --day D`` runs the rules again.
"""

from __future__ import annotations

import datetime as dt
import logging

from tally.breaks.models import Plan
from tally.engine.plan import Plan as PlanSpec
from tally.services import break_alerts
from tally.services.rules import apply_rules

log = logging.getLogger("tally.rules")


def after_day(plan: Plan, spec: PlanSpec, day: dt.date, *, since: dt.datetime) -> None:
    if spec.rules:
        try:
            applied = apply_rules(plan, detected_on=day)
        except Exception:
            log.exception("the rules of plan %s failed after day %s; the day's breaks stay open", plan.name, day)
        else:
            log.info("rules resolved %d break(s) of %s detected on %s", len(applied.resolved), plan.name, day)
    try:
        break_alerts.new_breaks(plan, spec, day, since)
    except Exception:
        log.exception("the new-breaks alert of plan %s, day %s, failed", plan.name, day)
