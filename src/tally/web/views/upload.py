"""Upload bills by hand: several files at once (chosen or dropped), each imported on its own.

Each file goes through tally.services.importing.import_bill, like ``tally import``: the page
lists every file with what became of it — imported (standard name, rows), already imported
(the same bytes), or rejected with its error code and message — and one bad file never stops
the others. A file over TALLY_UPLOAD_MAX_BYTES is refused without being stored (web.uploads).
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from tally.errors import TallyError
from tally.ingest.models import Bill, Source
from tally.services.importing import import_bill
from tally.web.fields import BusinessDayField
from tally.web.permissions import ADD_BILL, requires
from tally.web.uploads import PerFileLimit, TooLarge
from tally.web.views.requests import HtmxHttpRequest


class UploadForm(forms.Form):
    source = forms.ModelChoiceField(queryset=Source.objects.exclude(kind="sql").order_by("name"),
                                    to_field_name="name", label=gettext_lazy("Source"))
    day = BusinessDayField(required=False, label=gettext_lazy("Business day"),
                          help_text=gettext_lazy("Only when the files cannot tell (an empty bill)."),
                          widget=forms.DateInput(attrs={"type": "date"}))


@dataclass(frozen=True)
class FileResult:
    name: str
    outcome: str  # imported, already, rejected
    bill: Bill | None = None
    code: str = ""
    message: str = ""


@csrf_exempt  # the size limit must be in place before anything reads the body; CSRF is checked below
@requires(ADD_BILL)
@require_http_methods(["GET", "POST"])
def upload(request: HtmxHttpRequest) -> HttpResponse:
    request.upload_handlers.insert(0, PerFileLimit(request))
    return _upload(request)


@csrf_protect
def _upload(request: HtmxHttpRequest) -> HttpResponse:
    limit_mb = max(1, settings.TALLY_UPLOAD_MAX_BYTES // 1024**2)
    results: list[FileResult] = []
    if request.method == "POST":
        form = UploadForm(request.POST)
        files = request.FILES.getlist("files")
        if not files:
            form.add_error(None, _("Choose or drop at least one file."))
        if form.is_valid() and files:
            source, day = form.cleaned_data["source"], form.cleaned_data["day"]
            results = [_import(file, source.name, day, limit_mb) for file in files]
    else:
        form = UploadForm(initial={"source": request.GET.get("source"), "day": request.GET.get("day")})
    context = {"form": form, "results": results, "limit_mb": limit_mb,
               "imported": sum(r.outcome != "rejected" for r in results)}
    return render(request, "tally/upload.html", context)


def _import(file: object, source: str, day: object, limit_mb: int) -> FileResult:
    name = str(getattr(file, "name", "") or "")
    if isinstance(file, TooLarge):
        return FileResult(name, "rejected", code="FILE_TOO_LARGE",
                          message=_("The file is larger than the upload limit of %(mb)s MB.") % {"mb": limit_mb})
    data = file.read()  # type: ignore[attr-defined]
    try:
        imported = import_bill(data, source, file_name=name, day=day)  # type: ignore[arg-type]
    except TallyError as exc:
        where = str(exc.where)
        return FileResult(name, "rejected", code=exc.code, message=exc.message + (f" ({where})" if where else ""))
    return FileResult(name, "already" if imported.already else "imported", bill=imported.bill)
