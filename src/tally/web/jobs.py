"""Runs started from the back office: queued for ``tally worker`` when one is running, else run
on a thread of the web server; either way each finished day moves the job's progress row.

The queue is the worker's own (Huey on TALLY_REDIS_URL, else ``TALLY_HOME/queue.sqlite3``);
the web only enqueues the ``tally.start_run`` job by name, and ``tally worker`` registers it
(``register``). A worker says it is alive every minute (``beat``); without a beat in the last
few minutes, nobody would take the job, so the web runs it itself.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import date, timedelta
from typing import Any

from django.db import close_old_connections
from django.utils import timezone

from tally.breaks.models import Plan, Run
from tally.engine.day import DayOutcome
from tally.errors import TallyError
from tally.home import home
from tally.services.running import days_between, run_plan
from tally.web.models import Heartbeat, RunJob

log = logging.getLogger("tally.web.jobs")
ALIVE = timedelta(minutes=3)
TASK = "tally.start_run"


def beat(name: str | None = None) -> None:
    """The worker is alive (called at its start and every minute)."""
    Heartbeat.objects.update_or_create(name=name or f"worker:{socket.gethostname()}",
                                       defaults={"beat_at": timezone.now()})


def worker_alive() -> bool:
    return Heartbeat.objects.filter(beat_at__gte=timezone.now() - ALIVE).exists()


def _queue() -> Any:
    """The worker's queue, built as ``tally.worker.build_huey`` builds it (same name, same storage)."""
    from huey import RedisHuey, SqliteHuey

    name = os.environ.get("TALLY_QUEUE_NAME", "tally")
    if url := os.environ.get("TALLY_REDIS_URL", ""):
        return RedisHuey(name, url=url, utc=True)
    path = home() / "queue.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), utc=True)


def register(huey: Any) -> Any:
    """Declare the job on ``huey`` (the worker's queue, or the web's handle on it)."""
    return huey.task(name=TASK)(execute)


def start_run(plan: Plan, first: date, last: date, user: Any) -> RunJob:
    """Queue (or start) a run of ``plan`` over ``first``…``last``; the job row tells how it goes."""
    days = days_between(first, last)
    via = "worker" if worker_alive() else "thread"
    job = RunJob.objects.create(plan=plan, first_day=first, last_day=last, requested_by=user, via=via,
                                days_total=len(days))
    if via == "worker":
        register(_queue())(job.pk)
    else:
        threading.Thread(target=_in_thread, args=(job.pk,), name=f"tally-run-{job.pk}", daemon=True).start()
    return job


def _in_thread(job_id: int) -> None:
    try:
        execute(job_id)
    finally:
        close_old_connections()


def execute(job_id: int) -> str:
    """Run the job's days in order, moving its progress after each; returns how it ended."""
    started = timezone.now()
    # Taking the job is one conditional update: a second copy of it finds it taken.
    if not RunJob.objects.filter(pk=job_id, status=RunJob.Status.QUEUED).update(status=RunJob.Status.RUNNING,
                                                                                 started_at=started):
        return "gone"
    job = RunJob.objects.select_related("plan").get(pk=job_id)

    def progress(day: date, outcome: DayOutcome) -> None:
        RunJob.objects.filter(pk=job.pk).update(days_done=job.days_total if day >= job.last_day else
                                                (day - job.first_day).days + 1, current_day=day, run=_run(job, started))

    try:
        run_plan(job.plan.name, job.first_day, job.last_day, progress=progress)
    except TallyError as exc:
        _finish(job, started, RunJob.Status.FAILED, str(exc))
        return exc.code
    except Exception as exc:
        log.exception("run job %s failed", job.pk)
        _finish(job, started, RunJob.Status.FAILED, f"{type(exc).__name__}: {exc}")
        return "failed"
    _finish(job, started, RunJob.Status.DONE, "")
    return "done"


def _run(job: RunJob, started: Any) -> Run | None:
    # The plan's lease lets one run of a plan go at a time, so its newest run since we began is ours.
    return (Run.objects.filter(plan=job.plan, first_day=job.first_day, last_day=job.last_day,
                               started_at__gte=started - timedelta(seconds=1)).order_by("-started_at").first())


def _finish(job: RunJob, started: Any, status: str, error: str) -> None:
    RunJob.objects.filter(pk=job.pk).update(status=status, error=error, finished_at=timezone.now(),
                                            run=_run(job, started))
