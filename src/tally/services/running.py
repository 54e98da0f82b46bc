"""Running a plan over a range of business days, strictly one day after another, oldest first.

Each day is computed by the engine, then published in one database transaction: the day's
counts, new and persisting breaks (matched by their stable identity), and the removal of open
breaks the day no longer finds. A day is visible whole or not at all. Breaks someone worked on
(resolved, suspended, awaiting approval, manually matched) are never overwritten by a re-run.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from tally.breaks.models import Break, DayResult, Plan, Run
from tally.engine.compile import reconcile_day
from tally.engine.day import BreakFound, DayOutcome
from tally.engine.plan import Plan as PlanSpec
from tally.errors import ConfigError, OperationFailed
from tally.home import engine_name
from tally.ingest.models import Bill, Source
from tally.lake import write_table
from tally.services import sqlsource, workflow
from tally.services.day_end import after_day
from tally.services.leases import free_dead_holders, lease
from tally.services.workspace import lake

RUN_LEASE = timedelta(hours=6)
# A run stopped from outside (Ctrl-C, SystemExit) has no message of its own: it stores this, then the
# exception's class, e.g. " (KeyboardInterrupt)"; in English, translated when a page shows it.
STOPPED = gettext_noop("the run was stopped before it ended; the days it had published stay")

Progress = Callable[[date, DayOutcome], None]


@dataclass(frozen=True)
class Inputs:
    ours: list[str]
    theirs: list[str]
    bills: list[str]


def plan_named(name: str) -> tuple[Plan, PlanSpec]:
    plan = Plan.objects.filter(name=name).first()
    if plan is None:
        raise ConfigError("UNKNOWN_PLAN", f"there is no plan named {name!r}",
                          hint="declare it with `tally apply FILE.toml`")
    return plan, PlanSpec.from_spec(plan.name, plan.spec)


def catch_up_to(name: str, first: date) -> date:
    """Where a run from ``first`` must end: a day changes what later days carry, so every day
    already processed after it is run again (catch-up)."""
    latest = DayResult.objects.filter(plan__name=name).order_by("-day").values_list("day", flat=True).first()
    return max(first, latest) if latest else first


def days_between(first: date, last: date) -> list[date]:
    if last < first:
        raise ConfigError("BAD_RANGE", f"--to {last} is before --from {first}")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def limited(spec: PlanSpec, only: list[str] | None) -> PlanSpec:
    """The plan with each side limited to the sources named (e.g. some of several order databases)."""
    if not only:
        return spec
    unknown = sorted(set(only) - set(spec.sources))
    if unknown:
        raise ConfigError("UNKNOWN_SOURCE", f"plan {spec.name} has no source {', '.join(unknown)}",
                          hint=f"its sources: {', '.join(spec.sources)}")
    ours, theirs = tuple(s for s in spec.ours if s in only), tuple(s for s in spec.theirs if s in only)
    if not ours or not theirs:
        raise ConfigError("BAD_ARGUMENTS", "keep at least one source on each side of the plan",
                          hint=f"ours: {', '.join(spec.ours)}; theirs: {', '.join(spec.theirs)}")
    return dataclasses.replace(spec, ours=ours, theirs=theirs)


def run_plan(name: str, first: date, last: date, *, progress: Progress | None = None,
             only: list[str] | None = None, dry_run: bool = False) -> list[DayOutcome]:
    plan, spec = plan_named(name)
    spec = limited(spec, only)
    days = days_between(first, last)
    if dry_run:  # what the days would give; no run, day result, break or carried file is written
        return [run_day(plan, spec, day, dry_run=True) for day in days]
    run = Run.objects.create(plan=plan, first_day=first, last_day=last, engine=engine_name())
    workflow.reopen_due(timezone.localdate())  # suspensions whose review date came are open again
    outcomes = []
    try:
        # A database lease, so two runs of a plan never overlap on SQLite or PostgreSQL, on any host.
        free_dead_holders()  # a run killed on this host must not block the next one for hours
        with lease(f"plan:{plan.name}", RUN_LEASE):
            for day in days:
                outcome = run_day(plan, spec, day, run)
                outcomes.append(outcome)
                if progress:
                    progress(day, outcome)
    except BaseException as exc:
        Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, finished_at=timezone.now(),
                                             error=_error_of(exc))
        raise
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, finished_at=timezone.now())
    return outcomes


def _error_of(exc: BaseException) -> str:
    """What a failed run stores: the error's text, else its class (a bare ``AssertionError()``)."""
    if not isinstance(exc, Exception):
        return f"{STOPPED} ({type(exc).__name__})"
    return str(exc) or type(exc).__name__


def run_day(plan: Plan, spec: PlanSpec, day: date, run: Run | None = None, *, dry_run: bool = False) -> DayOutcome:
    inputs = _inputs(spec, day)
    carried = _carried_from(spec.name, day - timedelta(days=1))
    outcome = reconcile_day(spec, day, inputs.ours, inputs.theirs, engine=engine_name(), carried=carried)
    if dry_run:
        return outcome
    if outcome.carried is not None:
        write_table(outcome.carried, _carried_path(spec.name, day))
    since = timezone.now()
    _publish(plan, outcome, inputs, run)
    after_day(plan, spec, outcome.day, since=since)  # the plan's rules, then alerts for new breaks
    return outcome


def _carried_path(plan: str, day: date) -> Path:
    return lake().results_dir(plan, day) / "carried.parquet"


def _carried_from(plan: str, day: date) -> pa.Table | None:
    """The records the plan's processing of ``day`` left pending, or None if it never ran."""
    path = _carried_path(plan, day)
    return pq.read_table(path) if path.exists() else None


def _inputs(spec: PlanSpec, day: date) -> Inputs:
    days = [day]
    sources = {s.name: s for s in Source.objects.filter(name__in=spec.sources)}
    files: dict[str, list[str]] = {}
    bills: list[str] = []
    for name in spec.sources:
        if name not in sources:
            raise ConfigError("UNKNOWN_SOURCE", f"plan {spec.name} refers to source {name!r}, which does not exist")
    # Channel bills first: a day is only complete (and our database worth a snapshot) once the
    # channel has published its bill for it.
    for source in sorted(sources.values(), key=lambda s: s.kind == "sql"):
        name = source.name
        if source.kind == "sql":
            for d in days:
                if not _has_bill(source, d):
                    sqlsource.fetch(source, d)
        if not _has_bill(source, day):
            raise OperationFailed(
                "BILL_MISSING", f"source {name} has no bill for {day}; nothing was reconciled for that day",
                hint=f"import it with `tally import FILE --source {name}` (or fetch it), then run again")
        paths: list[str] = []
        for bill in Bill.objects.filter(source=source, status=Bill.Status.IMPORTED):
            for d in bill.days:
                if date.fromisoformat(d) in days:
                    paths.append(str(lake().record_path(name, date.fromisoformat(d), bill.sha256)))
                    bills.append(bill.sha256)
        files[name] = paths
    return Inputs(ours=[p for s in spec.ours for p in files[s]], theirs=[p for s in spec.theirs for p in files[s]],
                  bills=sorted(set(bills)))


def _has_bill(source: Source, day: date) -> bool:
    imported = Bill.objects.filter(source=source, status=Bill.Status.IMPORTED)
    return imported.filter(business_day=day).exists() or any(day.isoformat() in b.days for b in imported)


def identities(plan: str, found: list[BreakFound]) -> list[str]:
    """Stable identity per break: same plan, kind, keys and side ⇒ same break on every re-run.
    Duplicates of one key are told apart by their order (bill line)."""
    seen: dict[str, int] = {}
    out = []
    for item in found:
        base = "|".join(str(part) for part in (plan, item.kind, item.day, item.record_kind, item.order_no,
                                                item.refund_no, "ours" if item.ours else "theirs"))
        seen[base] = seen.get(base, 0) + 1
        out.append(hashlib.sha256(f"{base}|{seen[base]}".encode()).hexdigest())
    return out


def _jsonable(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}


def _stored_suggestion(suggestion: dict[str, Any]) -> dict[str, Any]:
    """One record of the other side, or a group of them (tally.engine.candidates), as JSON."""
    if "group" in suggestion:
        return {**suggestion, "group": [_jsonable(member) for member in suggestion["group"]]}
    return _jsonable(suggestion) or {}


@transaction.atomic
def _publish(plan: Plan, outcome: DayOutcome, inputs: Inputs, run: Run | None) -> None:
    counts = outcome.counts()
    DayResult.objects.update_or_create(
        plan=plan, day=outcome.day,
        defaults={"run": run, "matched": outcome.matched, "pending": outcome.pending, **counts,
                  "cross_day": outcome.cross_day,
                  "plan_version": plan.version,
                  "manifest": {"bills": inputs.bills, "engine": engine_name(), "plan_version": plan.version}},
    )
    ids = identities(plan.name, outcome.breaks)
    worked_on = set(Break.objects.filter(plan=plan, identity__in=ids).exclude(status=Break.Status.OPEN)
                    .values_list("identity", flat=True))
    for identity, item in zip(ids, outcome.breaks, strict=True):
        if identity in worked_on:
            continue  # resolved, suspended or awaiting approval (a manual match too): kept exactly as it is
        # A totals plan's break carries group totals instead of one record's amount.
        amounts = {f"{side}_amount_minor": (record or {}).get("amount_minor", (record or {}).get("total"))
                   for side, record in (("ours", item.ours), ("theirs", item.theirs))}
        Break.objects.update_or_create(
            plan=plan, identity=identity,
            defaults={"day": item.day, "detected_on": outcome.day, "kind": item.kind, "reason": item.reason,
                      "record_kind": item.record_kind, "order_no": item.order_no or "",
                      "refund_no": item.refund_no or "", "currency": item.currency, **amounts,
                      "ours": _jsonable(item.ours), "theirs": _jsonable(item.theirs),
                      "suggestions": [_stored_suggestion(s) for s in item.suggestions]},
        )
    # A re-run that no longer finds an open break removes it if nobody touched it; one with work on
    # it (an assignee, comments, evidence, past actions) is resolved by the rule "rerun", recorded.
    # Breaks that are not open stay as they are.
    gone = Break.objects.filter(plan=plan, detected_on=outcome.day, status=Break.Status.OPEN).exclude(identity__in=ids)
    touched = list(gone.filter(Q(assignee__isnull=False) | Q(comments__isnull=False) | Q(attachments__isnull=False)
                               | Q(actions__isnull=False)).values_list("pk", flat=True).distinct())
    for pk in touched:
        workflow.resolve(pk, None, rule="rerun", rule_version="1",
                         reason=f"the run of {outcome.day} no longer finds this break")
    gone.exclude(pk__in=touched).delete()
