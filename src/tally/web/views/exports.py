"""Exports as jobs: starting one (the data browser's records; a plan's day report or breaks), its page
following the job (htmx, every 2 s), its file once written, and the user's own list.

Starting is a POST (CSRF-checked), so neither a link followed by a crawler nor a prefetch starts
work; it records the export (tally.web.exports), starts the job — on the worker when one runs,
else on a thread (tally.web.jobs) — and goes to the job's page.

An export is its requester's alone: anyone else, other staff included, gets 404 for its page, its
progress and its file, as for an id that does not exist. The permission the export needed (seeing
bills for records; seeing breaks, and the plan, for a report) is checked again on the way out, so
no file outlives a right taken away since.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from tally.web import exports, jobs
from tally.web.browse_forms import BrowseForm
from tally.web.models import ExportJob
from tally.web.permissions import VIEW_BILLS, VIEW_BREAKS, requires
from tally.web.views.browser import RESULTS_ID
from tally.web.views.reports import chosen_day, visible_plan

LISTED = 50


@require_POST
@requires(VIEW_BILLS)
def start_records(request: HttpRequest, fmt: str) -> HttpResponse:
    """Export the records the data browser shows for the filters in the query string."""
    if fmt not in exports.CONTENT_TYPES:
        raise Http404
    form = BrowseForm(request.GET)
    if not form.is_valid():
        return render(request, "tally/office/browser.html", {"form": form, "results_id": RESULTS_ID, "rows": []},
                      status=400)
    return _started(exports.records(form, fmt, request.user))


@require_POST
@requires(VIEW_BREAKS)
def start_report(request: HttpRequest, name: str, what: str, extension: str) -> HttpResponse:
    """Export the plan's statement (``report``) or breaks (``breaks``) of the ``day`` in the query string."""
    plan = visible_plan(request, name)
    if what not in (ExportJob.What.REPORT, ExportJob.What.BREAKS) or extension not in exports.CONTENT_TYPES:
        raise Http404
    _form, day = chosen_day(request, plan)
    return _started(exports.report(plan, what, extension, day, request.user))


def _started(job: ExportJob) -> HttpResponse:
    jobs.start("export", job.pk)
    return redirect("export-job", pk=job.pk)


def _mine(request: HttpRequest) -> QuerySet[ExportJob]:
    if not request.user.is_authenticated:  # login_required sees to it; an empty id would match orphans
        raise Http404
    return ExportJob.objects.filter(requested_by_id=request.user.pk)


def _own_job(request: HttpRequest, pk: int) -> ExportJob:
    """The user's own export, if they may still make it; 404 alike for someone else's and a missing one."""
    job = _mine(request).filter(pk=pk).select_related("plan", "source", "requested_by").first()
    if job is None:
        raise Http404
    if job.what == ExportJob.What.RECORDS:
        if not request.user.has_perm(VIEW_BILLS):
            raise PermissionDenied
    else:
        if not request.user.has_perm(VIEW_BREAKS):
            raise PermissionDenied
        if job.plan is None:  # deleted since: nothing of it is shown any more
            raise Http404
        visible_plan(request, job.plan.name)
    return job


def _origin(job: ExportJob) -> str | None:
    """The page the export was asked from, with the same filters or day."""
    if job.what == ExportJob.What.RECORDS:
        return f"{reverse('browser')}?{urlencode(job.parameters)}"
    return f"{reverse('plan-report', args=[job.plan.name])}?{urlencode(job.parameters)}" if job.plan else None


@require_safe
@login_required
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    return render(request, "tally/office/export_job.html", {"job": job, "origin": _origin(job)})


@require_safe
@login_required
def export_job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress block alone; while the job goes on it asks for itself again a little later."""
    return render(request, "tally/office/_export_progress.html", {"job": _own_job(request, pk)})


@require_safe
@login_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _own_job(request, pk)
    if job.status != ExportJob.Status.DONE or not job.stored:
        raise Http404
    try:
        handle = (Path(settings.TALLY_HOME) / job.stored).open("rb")
    except FileNotFoundError:  # deleted by hand, or TALLY_HOME not shared with the worker
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=job.file_name,
                            content_type=exports.CONTENT_TYPES[job.format])
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    """The user's own exports, newest first."""
    listed = _mine(request).select_related("plan", "source").order_by("-requested_at", "-pk")[:LISTED]
    return render(request, "tally/office/export_list.html",
                  {"jobs": listed, "keep_days": settings.TALLY_EXPORT_KEEP_DAYS})
