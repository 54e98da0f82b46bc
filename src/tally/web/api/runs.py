"""Runs: the history, one run with its days and manifests, starting a run, a started run's progress."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from tally.breaks.models import DayResult, Run
from tally.errors import ConfigError, NotFound
from tally.services import access
from tally.web import jobs
from tally.web.api.auth import needs, require
from tally.web.api.paging import Paged, page
from tally.web.api.plans import DayOut, visible
from tally.web.models import RunJob
from tally.web.office_forms import MAX_RUN_DAYS

router = Router(tags=["runs"])
VIEW_RUNS = "breaks.view_run"
START_RUN = "breaks.add_run"


class RunOut(Schema):
    id: int
    plan: str
    first_day: date
    last_day: date
    status: str
    engine: str
    started_at: datetime
    finished_at: datetime | None
    error: str


class RunDetail(RunOut):
    days: list[DayOut]


class RunFilters(Paged):
    plan: str | None = None


class RunPage(Schema):
    count: int
    items: list[RunOut]


class StartRun(Schema):
    plan: str
    first: date
    last: date | None = None


class JobOut(Schema):
    id: int
    plan: str
    first_day: date
    last_day: date
    status: str
    via: str
    days_total: int
    days_done: int
    current_day: date | None
    run_id: int | None
    error: str
    requested_at: datetime
    finished_at: datetime | None


def _out(run: Run) -> dict[str, Any]:
    return {"id": run.pk, "plan": run.plan.name, "first_day": run.first_day, "last_day": run.last_day,
            "status": run.status, "engine": run.engine, "started_at": run.started_at,
            "finished_at": run.finished_at, "error": run.error}


def _job(job: RunJob) -> dict[str, Any]:
    return {"id": job.pk, "plan": job.plan.name, "first_day": job.first_day, "last_day": job.last_day,
            "status": job.status, "via": job.via, "days_total": job.days_total, "days_done": job.days_done,
            "current_day": job.current_day, "run_id": job.run_id, "error": job.error,
            "requested_at": job.requested_at, "finished_at": job.finished_at}


@router.get("/", response=RunPage, summary="Runs of the plans you may see, newest first")
def run_list(request: HttpRequest, filters: Query[RunFilters]) -> dict[str, Any]:
    require(request, VIEW_RUNS)
    runs = Run.objects.filter(plan__in=access.plans(request.user)).select_related("plan").order_by("-started_at",
                                                                                                   "-pk")
    if filters.plan:
        runs = runs.filter(plan__name=filters.plan)
    return page(runs, filters, _out)


@router.get("/{run_id}", response=RunDetail, summary="One run, with each day's result and manifest")
def run_detail(request: HttpRequest, run_id: int) -> dict[str, Any]:
    require(request, VIEW_RUNS)
    run = Run.objects.filter(pk=run_id, plan__in=access.plans(request.user)).select_related("plan").first()
    if run is None:
        raise NotFound("UNKNOWN_RUN", f"there is no run {run_id} you may see")
    days = [{"day": d.day, "matched": d.matched, "pending": d.pending, "short": d.short, "long": d.long,
             "mismatch": d.mismatch, "plan_version": d.plan_version, "run_id": d.run_id, "manifest": d.manifest}
            for d in DayResult.objects.filter(run=run).order_by("day")]
    return {**_out(run), "days": days}


@router.post("/", response={202: JobOut}, auth=needs(START_RUN),
             summary="Start a run of a plan over days (queued for the worker)")
def run_start(request: HttpRequest, body: StartRun) -> Status[dict[str, Any]]:
    require(request, START_RUN)
    plan = visible(request, body.plan)
    last = body.last or body.first
    if last < body.first:
        raise ConfigError("BAD_RANGE", f"last ({last}) is before first ({body.first})", field="last")
    if (last - body.first).days + 1 > MAX_RUN_DAYS:
        raise ConfigError("RANGE_TOO_LONG", f"a run covers at most {MAX_RUN_DAYS} days", field="last")
    job = jobs.start_run(plan, body.first, last, request.user)
    return Status(202, _job(RunJob.objects.select_related("plan").get(pk=job.pk)))


@router.get("/jobs/{job_id}", response=JobOut, summary="How a run started here is going")
def run_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    require(request, VIEW_RUNS)
    job = RunJob.objects.filter(pk=job_id, plan__in=access.plans(request.user)).select_related("plan").first()
    if job is None:
        raise NotFound("UNKNOWN_JOB", f"there is no run job {job_id} you may see")
    return _job(job)
