"""``tally worker``: the background queue (Huey) that fetches bills, scans inboxes, alerts and runs plans.

The queue is ``SqliteHuey`` at ``TALLY_HOME/queue.sqlite3`` (no server needed), or ``RedisHuey``
when ``TALLY_REDIS_URL`` is set; either keeps queued jobs across a restart of the worker. Every
minute ``tick`` asks tally.services.acquisition what is due and enqueues it:

- ``fetch_bill(source, day)`` for each source and business day whose next try is due
  (tally.services.schedule: after the ready time, backing off after each try);
- ``scan_inbox(source)`` for each inbox folder;
- ``alert_late(source, day)`` once per source and day past its deadline without a bill;
- ``run_plan_day(plan, day)`` when every side of a plan (``auto_run``, on by default) has its bill.

Beside the tick, hourly ``reopen_due`` (suspended breaks whose review date came), every five
minutes ``remind_approvers`` (proposals waiting longer than TALLY_APPROVAL_REMIND_HOURS), and hourly
``delete_old_exports`` (back-office exports older than TALLY_EXPORT_KEEP_DAYS). The jobs the back
office starts (runs, imports, exports: tally.web.jobs) are tasks of this queue too.

A job holds a lease (tally.services.leases) on what it works on, so two workers never fetch the
same source and day, nor run the same plan, at once; and it checks again that it is still due,
since an earlier copy of it may have done the work. Jobs that a killed worker was in the middle
of are not lost either: the next tick finds the work still due and enqueues it again.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey, TaskWrapper

from tally.home import home

log = logging.getLogger("tally.worker")
FETCH_LEASE = timedelta(hours=1)
RUN_LEASE = timedelta(hours=6)


def build_huey(*, redis_url: str | None = None, name: str | None = None) -> Huey:
    """The queue from the environment: Redis when TALLY_REDIS_URL is set, else SQLite in TALLY_HOME."""
    redis_url = os.environ.get("TALLY_REDIS_URL", "") if redis_url is None else redis_url
    name = name or os.environ.get("TALLY_QUEUE_NAME", "tally")
    if redis_url:
        return RedisHuey(name, url=redis_url, utc=True)
    path = home() / "queue.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), utc=True)


@dataclass(frozen=True)
class Tasks:
    huey: Huey
    tick: Callable[..., Any]
    fetch_bill: TaskWrapper
    scan_inbox: TaskWrapper
    alert_late: TaskWrapper
    run_plan_day: TaskWrapper


def register(huey: Huey) -> Tasks:
    """Declare Tally's jobs on ``huey`` (tests register them on a queue of their own)."""

    # Each job on a worker thread starts and ends with a usable database connection (as Django
    # does around a request); in immediate mode (tests) the caller's connection is left alone.
    @huey.pre_execute()
    def fresh_connections(task: Any) -> None:
        if not huey.immediate:
            from django.db import close_old_connections

            close_old_connections()

    @huey.post_execute()
    def close_connections(task: Any, value: Any, exc: BaseException | None) -> None:
        if not huey.immediate:
            from django.db import close_old_connections

            close_old_connections()

    @huey.task(name="tally.fetch_bill")
    def fetch_bill(source: str, day: str) -> str:
        from django.utils import timezone

        from tally.services import acquisition, fetching
        from tally.services.leases import LeaseHeld, lease

        try:
            with lease(f"fetch:{source}:{day}", FETCH_LEASE):
                if not acquisition.fetch_still_due(source, date.fromisoformat(day), timezone.now()):
                    return "not due"
                return fetching.fetch(source, date.fromisoformat(day)).outcome
        except LeaseHeld:
            return "held"

    @huey.task(name="tally.scan_inbox")
    def scan_inbox(source: str) -> list[str]:
        from tally.services import inbox
        from tally.services.leases import LeaseHeld, lease

        try:
            with lease(f"inbox:{source}", FETCH_LEASE):
                return [f"{s.file}: {s.outcome}" for s in inbox.scan(source)]
        except LeaseHeld:
            return ["held"]

    @huey.task(name="tally.alert_late")
    def alert_late(source: str, day: str, reason: str) -> bool:
        from tally.ingest.models import Source
        from tally.services.alerts import raise_late

        found = Source.objects.filter(name=source).first()
        return found is not None and raise_late(found, date.fromisoformat(day), reason) is not None

    @huey.task(name="tally.run_plan_day")
    def run_plan_day(plan: str, day: str) -> str:
        from tally.errors import TallyError
        from tally.services import acquisition
        from tally.services.leases import LeaseHeld, lease
        from tally.services.running import run_plan

        the_day = date.fromisoformat(day)
        try:
            with lease(f"run:{plan}", RUN_LEASE):
                if not acquisition.plan_day_still_due(plan, the_day):
                    return "not due"
                run_plan(plan, the_day, the_day)
                return "ran"
        except LeaseHeld:
            return "held"
        except TallyError as exc:  # a bill went missing meanwhile, the plan changed: the log says
            log.warning("auto-run of %s for %s: %s", plan, day, exc)
            return exc.code

    def tick(now: datetime | None = None) -> dict[str, int]:
        """Enqueue what is due at ``now``; returns how many of each kind."""
        from django.utils import timezone

        from tally.services import acquisition

        now = now or timezone.now()
        fetches = acquisition.due_fetches(now)
        for source, day in fetches:
            fetch_bill(source, day.isoformat())
        inboxes = acquisition.inbox_sources()
        for source in inboxes:
            scan_inbox(source)
        alerts = acquisition.due_alerts(now)
        for found, day, reason in alerts:
            alert_late(found.name, day.isoformat(), reason)
        runs = acquisition.due_runs(now)
        for plan, day in runs:
            run_plan_day(plan, day.isoformat())
        return {"fetches": len(fetches), "inboxes": len(inboxes), "alerts": len(alerts), "runs": len(runs)}

    @huey.periodic_task(crontab(minute="*"), name="tally.tick")
    def every_minute() -> dict[str, int]:
        from tally.web import jobs

        jobs.beat()  # the back office queues its jobs while a worker beats
        jobs.fail_interrupted()  # jobs whose process on this host died mid-way
        return tick()

    from tally.web import jobs

    jobs.register(huey)  # tally.start_run, _import, _export: runs, uploads and exports started in the back office

    @huey.periodic_task(crontab(minute="7"), name="tally.reopen_due")
    def reopen_due() -> int:
        """Suspended breaks whose review date has come are open again (hourly; `tally run` does it too)."""
        from tally.services.workflow import reopen_due as reopen

        return reopen()

    @huey.periodic_task(crontab(minute="*/5"), name="tally.remind_approvers")
    def remind_approvers() -> int:
        """Proposals waiting longer than TALLY_APPROVAL_REMIND_HOURS: one reminder, at most once per
        that period for each (tally.services.break_alerts.remind_waiting; `tally actions --remind`)."""
        from tally.services.break_alerts import remind_waiting

        return len(remind_waiting())

    @huey.periodic_task(crontab(minute="37"), name="tally.delete_old_exports")
    def delete_old_exports() -> int:
        """Back-office exports asked for more than TALLY_EXPORT_KEEP_DAYS ago: files and rows (hourly)."""
        from tally.web.exports import delete_old

        return delete_old()

    return Tasks(huey, tick, fetch_bill, scan_inbox, alert_late, run_plan_day)


def run(args: argparse.Namespace) -> int:
    """Serve the queue until SIGTERM/SIGINT (``tally worker``); Django is set up by the CLI."""
    from huey.consumer import Consumer

    from tally.services.leases import free_dead_holders
    from tally.web import jobs

    tasks = register(build_huey())
    if args.schedule:
        jobs.beat()  # the back office queues its jobs while a worker beats
    freed = free_dead_holders()
    if freed:
        log.warning("freed %d lease(s) of worker processes that are gone", freed)
    jobs.fail_interrupted()
    queue = "Redis" if isinstance(tasks.huey, RedisHuey) else str(home() / "queue.sqlite3")
    print(f"tally worker: {args.workers} thread(s), queue {queue}, "  # noqa: T201 (the operator's start line)
          f"schedule {'on' if args.schedule else 'off'}", flush=True)
    consumer = Consumer(tasks.huey, workers=args.workers, worker_type="thread", periodic=args.schedule,
                        check_worker_health=True)
    consumer.run()
    return 0

