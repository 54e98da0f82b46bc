"""Alerts about breaks, sent through ``tally.services.notify``:

- ``breaks.new``: after each run day, the breaks that day raised for the first time and that are
  still open after the plan's rules, at or above the threshold (``alert_threshold_minor`` of the
  plan, else ``TALLY_ALERT_BREAK_MINOR``; 0 alerts every new break). One message per plan and
  day, not one per break; the webhook lists at most ``LISTED`` of them.
- ``approval.waiting``: an action was proposed and waits for a second person.
- ``approval.reminder``: proposals still waiting after ``TALLY_APPROVAL_REMIND_HOURS`` (default 24),
  one message listing them; each proposal at most once per that many hours (``Action.reminded_at``,
  claimed row by row, so two workers never remind of the same proposal twice). Sent by the worker
  every few minutes and by ``tally actions --remind``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tally.breaks.models import Action, Break, Plan
from tally.engine.plan import Plan as PlanSpec
from tally.money import format_minor
from tally.services import notify
from tally.services.reports import exposure_minor

log = logging.getLogger("tally.alerts")
LISTED = 100


def threshold_minor(spec: PlanSpec) -> int:
    if spec.alert_threshold_minor is not None:
        return spec.alert_threshold_minor
    return int(getattr(settings, "TALLY_ALERT_BREAK_MINOR", 0))


def _row(brk: Break) -> dict[str, Any]:
    return {"id": brk.pk, "day": brk.day.isoformat(), "kind": brk.kind, "record_kind": brk.record_kind,
            "order_no": brk.order_no, "refund_no": brk.refund_no or None, "currency": brk.currency,
            "ours_amount_minor": brk.ours_amount_minor, "theirs_amount_minor": brk.theirs_amount_minor,
            "exposure_minor": exposure_minor(brk), "reason": brk.reason}


def new_breaks(plan: Plan, spec: PlanSpec, day: dt.date, since: dt.datetime) -> notify.Delivery | None:
    """Alert the breaks first raised on ``day`` (created at or after ``since``) still open and at
    or above the threshold; None when there are none."""
    if not (settings.TALLY_ALERT_EMAILS or settings.TALLY_ALERT_WEBHOOK_URL):
        return None
    limit = threshold_minor(spec)
    fresh = Break.objects.filter(plan=plan, detected_on=day, created_at__gte=since, status=Break.Status.OPEN)
    found = sorted((b for b in fresh.order_by("day", "kind", "order_no", "id") if exposure_minor(b) >= limit),
                   key=lambda b: -exposure_minor(b))
    if not found:
        return None
    totals: dict[str, int] = {}
    for brk in found:
        totals[brk.currency] = totals.get(brk.currency, 0) + exposure_minor(brk)
    shown = ", ".join(f"{format_minor(v, c)} {c}" for c, v in sorted(totals.items()))
    subject = f"{plan.name} {day.isoformat()}: {len(found)} new break(s), {shown}"
    lines = [f"  {b.kind:8} {b.order_no or '-':24} {format_minor(exposure_minor(b), b.currency):>14} {b.currency}"
             f"  {b.reason}" for b in found[:20]]
    more = f"\n  … and {len(found) - 20} more" if len(found) > 20 else ""
    body = (f"Processing {day.isoformat()} of plan {plan.name} raised {len(found)} new break(s) at or above "
            f"{limit} minor units that the plan's rules did not explain:\n\n" + "\n".join(lines) + more +
            "\n\nSee them in the back office (Breaks, filtered by plan and day).\n")
    data = {"plan": plan.name, "day": day.isoformat(), "count": len(found), "threshold_minor": limit,
            "totals_minor": totals, "breaks": [_row(b) for b in found[:LISTED]], "truncated": len(found) > LISTED}
    delivery = notify.send("breaks.new", subject, body, data)
    log.info("new breaks alert: %s %s (%d)", plan.name, day, len(found))
    return delivery


def approval_waiting(action_id: int) -> notify.Delivery | None:
    """Alert that a proposed action waits for approval (called once the proposal is committed)."""
    action = Action.objects.select_related("plan", "maker").filter(pk=action_id).first()
    if action is None or action.state != Action.State.PROPOSED:
        return None
    if not (settings.TALLY_ALERT_EMAILS or settings.TALLY_ALERT_WEBHOOK_URL):
        return None
    data = _action_row(action)
    maker, ids = data["maker"], data["breaks"]
    subject = f"{action.plan.name}: {action.kind} by {maker} waits for approval"
    body = (f"{maker} proposed {action.kind} on {len(ids)} break(s) of plan {action.plan.name} "
            f"(amount {_amount(action)}).\n\nReason: {action.reason or '-'}\n\n"
            f"An approver other than {maker} can approve or reject it in the approvals inbox.\n")
    return notify.send("approval.waiting", subject, body, data)


def _amount(action: Action) -> str:
    if action.amount_minor is None or not action.currency:
        return "-"
    return f"{format_minor(action.amount_minor, action.currency)} {action.currency}"


def _action_row(action: Action) -> dict[str, Any]:
    return {"action": action.pk, "plan": action.plan.name, "kind": action.kind,
            "maker": action.maker.get_username() if action.maker else "-", "amount_minor": action.amount_minor,
            "currency": action.currency or None, "reason": action.reason,
            "breaks": sorted(int(pk) for pk in action.prior), "created_at": action.created_at.isoformat()}


def remind_hours() -> int:
    return int(getattr(settings, "TALLY_APPROVAL_REMIND_HOURS", 24))


def remind_waiting(now: dt.datetime | None = None) -> list[int]:
    """Remind approvers of the proposals waiting longer than ``remind_hours()`` and not reminded
    within that time: one ``approval.reminder`` message; returns the ids of the actions reminded."""
    hours = remind_hours()
    if hours <= 0 or not (settings.TALLY_ALERT_EMAILS or settings.TALLY_ALERT_WEBHOOK_URL):
        return []
    now = now or timezone.now()
    since = now - dt.timedelta(hours=hours)
    due = Q(state=Action.State.PROPOSED, created_at__lte=since) & (Q(reminded_at__isnull=True)
                                                                   | Q(reminded_at__lte=since))
    candidates = list(Action.objects.filter(due).order_by("created_at", "id").values_list("pk", flat=True))
    # Claim each row on its own: whoever updates it first reminds of it; a second worker skips it.
    claimed = [pk for pk in candidates if Action.objects.filter(due, pk=pk).update(reminded_at=now)]
    if not claimed:
        return []
    actions = list(Action.objects.filter(pk__in=claimed).select_related("plan", "maker").order_by("created_at", "id"))
    rows = [{**_action_row(a), "waiting_hours": int((now - a.created_at).total_seconds() // 3600)} for a in actions]
    subject = f"{len(rows)} action(s) wait for approval for more than {hours} h"
    lines = [f"  #{a.pk:<6} {a.plan.name:20} {a.kind:12} by {row['maker']:12} {_amount(a):>18}"
             f"  waiting {row['waiting_hours']} h" for a, row in list(zip(actions, rows, strict=True))[:20]]
    more = f"\n  … and {len(rows) - 20} more" if len(rows) > 20 else ""
    body = (f"These proposals have waited for a second person for more than {hours} hours:\n\n"
            + "\n".join(lines) + more +
            "\n\nAn approver other than the maker can approve or reject them in the approvals inbox.\n")
    data = {"hours": hours, "count": len(rows), "actions": rows[:LISTED], "truncated": len(rows) > LISTED}
    notify.send("approval.reminder", subject, body, data)
    log.info("approval reminder: %d action(s)", len(rows))
    return claimed
