"""Upload bills by hand: several files at once (chosen or dropped), imported as a job.

The POST keeps the files (tally.web.imports.stage) and starts the job — on the worker when one
runs, else on a thread (tally.web.jobs) — then redirects to the job's page, which lists every
file with what became of it: imported (standard name, rows), already imported (the same bytes),
or rejected — what is wrong in the reader's language (tally.web.error_labels), then the stored
English message and the code; one bad file never stops the others. The page asks
for itself again (htmx, else a link) until the job is over. A file over TALLY_UPLOAD_MAX_BYTES
is refused without being stored (web.uploads).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from tally.ingest.models import Source
from tally.web import imports, jobs
from tally.web.error_labels import Explained, explain
from tally.web.fields import BusinessDayField
from tally.web.models import ImportFile, ImportJob
from tally.web.permissions import ADD_BILL, VIEW_BILLS, requires
from tally.web.uploads import PerFileLimit
from tally.web.views.requests import HtmxHttpRequest


class UploadForm(forms.Form):
    source = forms.ModelChoiceField(queryset=Source.objects.exclude(kind="sql").order_by("name"),
                                    to_field_name="name", label=gettext_lazy("Source"))
    day = BusinessDayField(required=False, label=gettext_lazy("Business day"),
                          help_text=gettext_lazy("Only when the files cannot tell (an empty bill)."),
                          widget=forms.DateInput(attrs={"type": "date"}))


@csrf_exempt  # the size limit must be in place before anything reads the body; CSRF is checked below
@requires(ADD_BILL)
@require_http_methods(["GET", "POST"])
def upload(request: HtmxHttpRequest) -> HttpResponse:
    request.upload_handlers.insert(0, PerFileLimit(request))
    return _upload(request)


@csrf_protect
def _upload(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = UploadForm(request.POST)
        files = request.FILES.getlist("files")
        if not files:
            form.add_error(None, _("Choose or drop at least one file."))
        if form.is_valid() and files:
            job = imports.stage(files, form.cleaned_data["source"], form.cleaned_data["day"], request.user)
            jobs.start("import", job.pk)
            return redirect("bill-upload-job", pk=job.pk)
    else:
        form = UploadForm(initial={"source": request.GET.get("source"), "day": request.GET.get("day")})
    return render(request, "tally/upload.html", {"form": form, "limit_mb": _limit_mb()})


def _limit_mb() -> int:
    return max(1, settings.TALLY_UPLOAD_MAX_BYTES // 1024**2)


def _job_context(pk: int) -> dict[str, Any]:
    # Every user who may see bills may see every upload of them (sources have no per-user access).
    job = ImportJob.objects.filter(pk=pk).select_related("source", "requested_by").first()
    if job is None:
        raise Http404
    files = list(job.files.select_related("bill").order_by("position"))
    return {"job": job, "files": [(f, _error_of(f)) for f in files],
            "imported": sum(f.outcome in ("imported", "already") for f in files)}


def _error_of(file: ImportFile) -> Explained | None:
    """A rejected file's error in the reader's language; its code and English message are as stored."""
    if not file.code:
        return None
    if file.code == imports.TOO_LARGE:  # stored without a message: the limit may have changed since
        return explain(file.code, _("The file is larger than the upload limit of %(mb)s MB.") % {"mb": _limit_mb()})
    return explain(file.code, file.message)


@require_safe
@requires(VIEW_BILLS)
def upload_job(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return render(request, "tally/upload_job.html", _job_context(pk))


@require_safe
@requires(VIEW_BILLS)
def upload_job_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The progress block alone; while the job goes on it asks for itself again a little later."""
    return render(request, "tally/_upload_progress.html", _job_context(pk))
