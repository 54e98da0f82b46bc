"""Runs: the history, one run with its days and manifests, starting a run (or re-running from a
day) for operators, and the live progress of a run started here (polled by htmx every second)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from tally.breaks.models import DayResult, Run
from tally.errors import TallyError
from tally.ingest.models import Bill
from tally.services import access
from tally.web import jobs
from tally.web.models import RunJob
from tally.web.office_forms import RunForm
from tally.web.permissions import requires
from tally.web.views.plans import START_RUN, visible_plan
from tally.web.views.requests import HtmxHttpRequest

VIEW_RUNS = "breaks.view_run"
PAGE_SIZE = 50


def _visible_runs(user: Any) -> Any:
    return Run.objects.filter(plan__in=access.plans(user)).select_related("plan")


@require_safe
@requires(VIEW_RUNS)
def run_list(request: HtmxHttpRequest) -> HttpResponse:
    plans = access.plans(request.user)
    runs = _visible_runs(request.user).order_by("-started_at", "-pk")
    chosen = request.GET.get("plan") or ""
    if chosen:
        runs = runs.filter(plan__name=chosen)
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    active = RunJob.objects.filter(plan__in=plans, status__in=[RunJob.Status.QUEUED, RunJob.Status.RUNNING]
                                   ).select_related("plan", "requested_by")
    return render(request, "tally/office/run_list.html", {"page": page, "active": active,
                                                          "plans": plans.order_by("name"), "chosen": chosen})


def _visible_run(user: Any, pk: int) -> Run:
    run = _visible_runs(user).filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


@require_safe
@requires(VIEW_RUNS)
def run_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    run = _visible_run(request.user, pk)
    days = list(DayResult.objects.filter(run=run).order_by("day"))
    shas = {sha for d in days for sha in d.manifest.get("bills", [])}
    names = dict(Bill.objects.filter(sha256__in=shas, status=Bill.Status.IMPORTED).values_list("sha256", "name"))
    rows = [(result, [(sha, names.get(sha, "")) for sha in result.manifest.get("bills", [])]) for result in days]
    return render(request, "tally/office/run_detail.html", {"run": run, "days": rows})


@require_POST
@requires(START_RUN)
def run_start(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Start a run of the plan over the posted days (``first``…``last``)."""
    plan = visible_plan(request.user, name)
    form = RunForm(request.POST)
    if not form.is_valid():
        return render(request, "tally/office/run_refused.html", {"plan": plan, "form": form}, status=400)
    try:
        job = jobs.start_run(plan, form.cleaned_data["first"], form.cleaned_data["last"], request.user)
    except TallyError as exc:
        return render(request, "tally/office/run_refused.html", {"plan": plan, "form": form, "error": exc},
                      status=400)
    return redirect("run-job", pk=job.pk)


@require_POST
@requires(START_RUN)
def rerun_from(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Re-run the plan from one day up to the latest day it has results for."""
    plan = visible_plan(request.user, name)
    form = RunForm({"first": request.POST.get("day", "")})
    if not form.is_valid():
        return render(request, "tally/office/run_refused.html", {"plan": plan, "form": form}, status=400)
    first = form.cleaned_data["first"]
    latest = DayResult.objects.filter(plan=plan).order_by("-day").values_list("day", flat=True).first()
    last = max(first, latest) if latest else first
    try:
        job = jobs.start_run(plan, first, last, request.user)
    except TallyError as exc:
        return render(request, "tally/office/run_refused.html", {"plan": plan, "form": form, "error": exc},
                      status=400)
    return redirect("run-job", pk=job.pk)


def _visible_job(user: Any, pk: int) -> RunJob:
    job = RunJob.objects.filter(pk=pk, plan__in=access.plans(user)).select_related("plan", "run").first()
    if job is None:
        raise Http404
    return job


@require_safe
@requires(VIEW_RUNS)
def run_job(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return render(request, "tally/office/run_job.html", {"job": _visible_job(request.user, pk)})


@require_safe
@requires(VIEW_RUNS)
def run_job_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The progress block alone; while the job goes on it asks for itself again a second later."""
    return render(request, "tally/office/_run_progress.html", {"job": _visible_job(request.user, pk)})
