"""Long work started from the back office — runs, imports of uploaded bills, exports — queued for
``tally worker`` when one is running, else run on a thread of the web server; either way the
job's row (RunJob, ImportJob, ExportJob) moves as it goes, for the page that polls it.

Each kind of job is a row model plus an ``execute(job_id)`` that takes the row (``Job.take``: a
second copy of the job finds it taken) and does the work (``KINDS``); ``start(kind, job_id)`` is
the one way any of them begins. The queue is the worker's own (Huey on TALLY_REDIS_URL, else
``TALLY_HOME/queue.sqlite3``); the web only enqueues a kind's task by name (``tally.start_run``,
``tally.start_import``, ``tally.start_export``), and ``tally worker`` registers them all
(``register``). A worker says it is alive every minute (``beat``); without a beat in the last few
minutes, nobody would take the job, so the web runs it itself.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import close_old_connections
from django.utils import timezone
from django.utils.translation import gettext_noop

from tally.breaks.models import Plan, Run
from tally.engine.day import DayOutcome
from tally.errors import TallyError
from tally.home import home
from tally.services.leases import gone
from tally.services.running import days_between, run_plan
from tally.web import exports, imports
from tally.web.models import ExportJob, Heartbeat, ImportJob, Job, RunJob

log = logging.getLogger("tally.web.jobs")
ALIVE = timedelta(minutes=3)


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


@dataclass(frozen=True)
class Kind:
    task: str  # the worker's task name
    model: type[Job]  # the job's row
    execute: Callable[[int], str]  # does the job once; returns how it ended ("gone" if already taken)
    # Cleans up after a job whose process died mid-way (its row already failed); a run needs
    # nothing: each day is published whole or not at all, and its lease frees itself.
    interrupted: Callable[[int], None] = lambda job_id: None


def register(huey: Any) -> dict[str, Any]:
    """Declare every kind's task on ``huey`` (the worker's queue, or the web's handle on it)."""
    return {name: huey.task(name=kind.task)(kind.execute) for name, kind in KINDS.items()}


def start(kind: str, job_id: int) -> str:
    """Queue the job for the worker when one beats, else run it on a thread here; returns which."""
    via = "worker" if worker_alive() else "thread"
    KINDS[kind].model._default_manager.filter(pk=job_id).update(via=via)
    if via == "worker":
        register(_queue())[kind](job_id)
    else:
        threading.Thread(target=_in_thread, args=(job_id,), kwargs={"kind": kind}, name=f"tally-{kind}-{job_id}",
                         daemon=True).start()
    return via


# Stored as this English text (the JSON API gives it as is); pages translate it when shown
# (tally_errors.stored_error).
INTERRUPTED = gettext_noop(
    "the process running this job stopped before the job ended (killed, or restarted); start it again")


def fail_interrupted() -> int:
    """Fail the jobs still "running" under a process of this host that no longer runs, and clean
    up what they left; returns how many (the worker's tick, every minute)."""
    failed = 0
    for kind in KINDS.values():
        running = kind.model._default_manager.filter(status=Job.Status.RUNNING,
                                                     taken_by__startswith=f"{socket.gethostname()}:")
        for pk, who in running.values_list("pk", "taken_by"):
            if gone(who) and kind.model._default_manager.filter(pk=pk, status=Job.Status.RUNNING, taken_by=who).update(
                    status=Job.Status.FAILED, error=INTERRUPTED, finished_at=timezone.now()):
                log.warning("%s %s was left running by %s, which is gone: failed", kind.model.__name__, pk, who)
                kind.interrupted(pk)
                failed += 1
    return failed


def _in_thread(job_id: int, *, kind: str) -> None:
    try:
        KINDS[kind].execute(job_id)
    finally:
        close_old_connections()


def start_run(plan: Plan, first: date, last: date, user: Any) -> RunJob:
    """Queue (or start) a run of ``plan`` over ``first``…``last``; the job row tells how it goes."""
    days = days_between(first, last)
    job = RunJob.objects.create(plan=plan, first_day=first, last_day=last, requested_by=user, days_total=len(days))
    job.via = start("run", job.pk)
    return job


def execute(job_id: int) -> str:
    """Run the job's days in order, moving its progress after each; returns how it ended."""
    if not RunJob.take(job_id):
        return "gone"
    job = RunJob.objects.select_related("plan").get(pk=job_id)
    started = job.started_at

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


KINDS: dict[str, Kind] = {
    "run": Kind("tally.start_run", RunJob, execute),
    "import": Kind("tally.start_import", ImportJob, imports.execute, imports.interrupted),
    "export": Kind("tally.start_export", ExportJob, exports.execute, exports.discard),
}
