"""The bills the sources owe, day by day: what the worker does each minute, and what the calendar shows.

The database says what happened (bills, fetch attempts, alerts); tally.services.schedule says what
that means at a given moment. Nothing here talks to a channel: the worker hands each due
(source, day) to tally.services.fetching.fetch and each due plan day to running.run_plan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Max

from tally.breaks.models import DayResult, Plan
from tally.engine.plan import Plan as PlanSpec
from tally.errors import ConfigError
from tally.ingest.models import Alert, Bill, FetchAttempt, Source
from tally.services import schedule
from tally.services.schedule import History, Reason, State, Timing, Try, Why


@dataclass(frozen=True)
class Cell:
    source: str
    day: date
    state: State
    reason: Reason | None
    bills: tuple[str, ...] = ()


def timing_of(source: Source) -> Timing:
    return schedule.timing(source.kind, source.spec)


def channel_sources() -> list[Source]:
    """Every source that delivers bills (a ``sql`` source is read by its plan's run instead)."""
    return list(Source.objects.exclude(kind="sql").order_by("name"))


def histories(source: Source, days: list[date]) -> dict[date, History]:
    """What the database knows of the source's bill for each day."""
    if not days:
        return {}
    first, last = min(days), max(days)
    imported: dict[date, list[str]] = defaultdict(list)
    rejected: dict[date, Reason] = {}
    bills = Bill.objects.filter(source=source).filter(business_day__range=(first, last)).order_by("received_at")
    for bill in bills.only("business_day", "status", "name", "original_name", "error_code", "error"):
        assert bill.business_day is not None
        if bill.status == Bill.Status.IMPORTED:
            imported[bill.business_day].append(bill.name)
        else:
            rejected[bill.business_day] = Reason(Why.BILL, bill.error, bill.error_code,
                                                 file=bill.original_name or bill.name)
    tries: dict[date, list[Try]] = defaultdict(list)
    attempts = FetchAttempt.objects.filter(source=source, business_day__range=(first, last)).order_by("started_at")
    for a in attempts.only("business_day", "outcome", "started_at", "transient", "reason", "details"):
        tries[a.business_day].append(Try(a.outcome, a.started_at, a.transient, a.reason,
                                         str(a.details.get("code") or "")))
    alerted = set(Alert.objects.filter(source=source, business_day__range=(first, last))
                  .values_list("business_day", flat=True))
    return {day: History(imported=bool(imported.get(day)), tries=tuple(tries.get(day, ())),
                         rejected_bill=rejected.get(day), alerted=day in alerted) for day in days}


def due_fetches(now: datetime) -> list[tuple[str, date]]:
    """(source, day) pairs whose next try is due, oldest day first."""
    due = []
    for source in channel_sources():
        t = timing_of(source)
        if not t.fetched or source.spec["fetch"].get("transport") == "inbox":
            continue  # inboxes are scanned, not fetched by day
        for day, history in histories(source, t.days(now)).items():
            if schedule.due(t, day, history, now):
                due.append((source.name, day))
    return sorted(due, key=lambda pair: (pair[1], pair[0]))


def fetch_still_due(source_name: str, day: date, now: datetime) -> bool:
    """Checked again when a queued fetch runs: another worker may have done it meanwhile."""
    source = Source.objects.filter(name=source_name).first()
    if source is None:
        return False
    t = timing_of(source)
    return schedule.due(t, day, histories(source, [day])[day], now)


def due_alerts(now: datetime) -> list[tuple[Source, date, str]]:
    """(source, day, reason) for each bill past its deadline that no alert was raised for yet; the
    reason in English, as the alert's row, e-mail and webhook carry it."""
    found = []
    for source in channel_sources():
        t = timing_of(source)
        for day, history in histories(source, t.days(now)).items():
            if schedule.alert_due(t, day, history, now):
                reason = schedule.state(t, day, history, now)[1]
                found.append((source, day, str(reason) if reason else ""))
    return found


def inbox_sources() -> list[str]:
    return [s.name for s in channel_sources() if (s.spec.get("fetch") or {}).get("transport") == "inbox"]


def due_runs(now: datetime) -> list[tuple[str, date]]:
    """For each plan with ``auto_run`` (the default), its oldest day whose every bill is in and that
    has not run since the newest of them came. One day per plan at a time keeps days in order."""
    due = []
    sources = {s.name: s for s in Source.objects.all()}
    for plan in Plan.objects.all():
        if plan.spec.get("auto_run", True) is not True:
            continue
        try:
            spec = PlanSpec.from_spec(plan.name, plan.spec)
        except ConfigError:
            continue
        sides = [sources.get(name) for name in spec.sources]
        billed = [s for s in sides if s is not None and s.kind != "sql"]
        if None in sides or not billed:
            continue
        days = sorted({d for s in billed for d in timing_of(s).days(now)})
        ran = dict(DayResult.objects.filter(plan=plan, day__in=days).values_list("day", "published_at"))
        for day in days:
            bills_at = [_newest_bill(s, day) for s in billed]
            if schedule.plan_day_due(bills_at, ran.get(day)):
                due.append((plan.name, day))
                break
    return due


def plan_day_still_due(plan_name: str, day: date) -> bool:
    plan = Plan.objects.filter(name=plan_name).first()
    if plan is None:
        return False
    spec = PlanSpec.from_spec(plan.name, plan.spec)
    billed = [s for s in Source.objects.filter(name__in=spec.sources) if s.kind != "sql"]
    ran = DayResult.objects.filter(plan=plan, day=day).values_list("published_at", flat=True).first()
    return bool(billed) and schedule.plan_day_due([_newest_bill(s, day) for s in billed], ran)


def _newest_bill(source: Source, day: date) -> datetime | None:
    """When the newest imported bill covering ``day`` arrived (a bill may cover several days)."""
    imported = Bill.objects.filter(source=source, status=Bill.Status.IMPORTED)
    newest: datetime | None = imported.filter(business_day=day).aggregate(at=Max("received_at"))["at"]
    for bill in imported.exclude(business_day=day).filter(days__icontains=day.isoformat()):
        if day.isoformat() in bill.days and (newest is None or bill.received_at > newest):
            newest = bill.received_at
    return newest


def calendar(days: list[date], now: datetime) -> list[tuple[Source, list[Cell]]]:
    """Each channel source's row of cells over ``days``."""
    rows = []
    for source in channel_sources():
        t = timing_of(source)
        known = histories(source, days)
        names = _bill_names(source, days)
        cells = []
        for day in days:
            cell_state, reason = schedule.state(t, day, known[day], now)
            cells.append(Cell(source.name, day, cell_state, reason, tuple(names.get(day, ()))))
        rows.append((source, cells))
    return rows


def _bill_names(source: Source, days: list[date]) -> dict[date, list[str]]:
    names: dict[date, list[str]] = defaultdict(list)
    for name, day in Bill.objects.filter(source=source, status=Bill.Status.IMPORTED,
                                         business_day__in=days).values_list("name", "business_day"):
        if day is not None:
            names[day].append(name)
    return names
