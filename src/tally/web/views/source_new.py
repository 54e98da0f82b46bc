"""New table source: upload a sample → adjust the proposed mapping → preview → save.

The same steps change an existing table source (``?source=NAME`` on the upload): the form then
starts from its current declaration, and saving adds a version instead of a source.

The sample stays aside (tally.services.samples) while the mapping is adjusted; each post reads
it again with the file settings of the form, so changing the format, encoding, delimiter, sheet
or widths shows the headers that reading finds. Saving validates the declaration like
``tally apply`` does and records version 1 of the new source.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from tally.channels.tabular.detect import Sniffed
from tally.channels.tabular.guess import DIRECTION_VALUES, KIND_VALUES, match_value
from tally.errors import TallyError
from tally.ingest.models import Source
from tally.services import samples
from tally.services.sources import declare
from tally.web.error_labels import error_html, explain_error
from tally.web.permissions import ADD_SOURCE, CHANGE_SOURCE, requires
from tally.web.source_forms import MAPPED, MappingForm, UploadForm
from tally.web.views.requests import HtmxHttpRequest, wants_fragment

MAPPING_ID = "mapping"
FILE_FIELDS = ("format", "encoding", "delimiter", "sheet", "widths", "records_path")


class _SizeLimit(FileUploadHandler):
    """Stops reading an upload once it passes TALLY_UPLOAD_MAX_BYTES (before it fills the disk)."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.seen = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.seen += len(raw_data)
        if self.seen > settings.TALLY_UPLOAD_MAX_BYTES:
            setattr(self.request, "tally_upload_too_large", True)  # noqa: B010 - the request is untyped here
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@csrf_exempt  # the upload handler must be in place before anything reads the body; CSRF is checked below
@requires(ADD_SOURCE)
@require_http_methods(["GET", "POST"])
def source_new(request: HtmxHttpRequest) -> HttpResponse:
    request.upload_handlers.insert(0, _SizeLimit(request))
    return _upload(request)


def _changed_source(request: HtmxHttpRequest, name: str | None) -> Source | None:
    """The table source whose mapping is being changed (None for a new source)."""
    if not name:
        return None
    if not request.user.has_perm(CHANGE_SOURCE):
        raise PermissionDenied
    return get_object_or_404(Source, name=name, kind="table")


@csrf_protect
def _upload(request: HtmxHttpRequest) -> HttpResponse:
    limit_mb = max(1, settings.TALLY_UPLOAD_MAX_BYTES // 1024**2)
    changed = _changed_source(request, request.GET.get("source"))
    form = UploadForm(request.POST or None, request.FILES or None)
    too_large = getattr(request, "tally_upload_too_large", False)
    if too_large:
        form = UploadForm()
        form.too_large = _("The file is larger than the upload limit of %(mb)s MB.") % {"mb": limit_mb}
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["sample"]
        token = ""
        try:
            token = samples.save(upload.read(), upload.name, _owner(request),
                                 source=changed.name if changed else None)
            samples.look(samples.load(token, _owner(request)))
        except TallyError as exc:
            if token:
                samples.discard(token)
            form.add_error("sample", error_html(explain_error(exc)))
        else:
            return redirect("source-map", token=token)
    return render(request, "tally/sources/new.html", {"form": form, "limit_mb": limit_mb, "changed": changed},
                  status=413 if too_large else 200)


@requires(ADD_SOURCE)
@require_http_methods(["GET", "POST"])
def source_map(request: HtmxHttpRequest, token: str) -> HttpResponse:
    try:
        item = samples.load(token, _owner(request))
    except TallyError:
        raise Http404("no such sample") from None
    changed = _changed_source(request, item.source)
    file_error: TallyError | None = None
    given = {k: str(request.POST[k]) for k in FILE_FIELDS if request.POST.get(k)} if request.method == "POST" else {}
    options = _file_options(given)
    try:
        found = samples.look(item, options)
    except TallyError as exc:
        file_error, found = exc, Sniffed(format=str(options.get("format") or "csv"))
    proposal = samples.propose(found)
    action = request.POST.get("action", "")
    data = _form_data(request.POST if request.method == "POST" else None, found, proposal, item.name,
                      reread=action == "reread", current=changed.spec if changed else None)
    if changed is not None:
        data["name"] = changed.name  # a change keeps the source's name
    kind_values = found.values.get(data.get("col_record_kind", ""), [])
    direction_values = found.values.get(data.get("col_direction", ""), [])
    _carry_value_maps(data, request.POST, kind_values, direction_values,
                      changed.spec.get("values", {}) if changed and request.method != "POST" else {})
    form = MappingForm(data, headers=found.headers, sheets=found.sheets, kind_values=kind_values,
                       direction_values=direction_values)
    preview = None
    if request.method == "POST" and action in ("preview", "save") and file_error is None and form.is_valid():
        spec = form.spec()
        name = form.cleaned_data["name"]
        try:
            if action == "save":
                saved = declare(name, spec, via="web", by=request.user, new=changed is None)
                samples.discard(token)
                messages.success(request, _("Source %(name)s saved as version %(number)s.")
                                 % {"name": name, "number": saved.version.number})
                target = reverse("source-detail", args=[saved.source.name])
                return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
            from tally import config

            config.validate_source(name, spec)
            preview = samples.preview(item, spec, name=name)
        except TallyError as exc:
            form.add_error(None, error_html(explain_error(exc)))
    context = {"form": form, "found": found, "item": item, "file_error": file_error, "preview": preview,
               "mapping_id": MAPPING_ID, "token": token, "changed": changed}
    if wants_fragment(request, MAPPING_ID):
        return render(request, "tally/sources/_mapping.html", context)
    return render(request, "tally/sources/map.html", context)


def _owner(request: HtmxHttpRequest) -> int:
    return int(request.user.pk or 0)


def _file_options(given: dict[str, str]) -> dict[str, Any]:
    """File settings from the posted form, leniently (the form itself reports bad values)."""
    options: dict[str, Any] = dict(given)
    if "widths" in options:
        try:
            options["widths"] = [int(w) for w in options["widths"].replace("，", ",").split(",") if w.strip()]
        except ValueError:
            del options["widths"]
        if options.get("format") != "txt" or not options.get("widths") or min(options["widths"]) < 1:
            options.pop("widths", None)
    if options.get("format") != "json":
        options.pop("records_path", None)
    return options


def _form_data(posted: QueryDict | None, found: Sniffed, proposal: Any, file_name: str, *,
               reread: bool, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The form's data: as posted; or the proposal (first visit), keeping on a re-read all that was
    posted except the column choices, which follow the headers the new reading found."""
    if posted is not None and not reread:
        return dict(posted.items())
    stem = file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    name = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in stem).strip("_") or "new_source"
    data: dict[str, Any] = {"name": name if name[0].isalpha() else f"s_{name}", "timezone": "Asia/Shanghai",
                            "amount_unit": proposal.amount_unit or "major", "sign": "by_kind",
                            "record_kind": "payment", **found.options()}
    if found.encoding:
        data["encoding"] = found.encoding if found.encoding in ("utf-8", "gb18030") else "auto"
    for column in MAPPED:
        data[f"col_{column}"] = proposal.columns.get(column, "")
    if "currency" not in proposal.columns and "amount_minor" in proposal.columns:
        data["currency"] = "CNY"
    if "direction" in proposal.columns:
        data["sign"] = "direction"
    if current is not None and posted is None:
        data.update(_spec_data(current, found.headers))
    if posted is not None:
        data.update({k: v for k, v in posted.items() if k not in ("action", "csrfmiddlewaretoken")
                     and not k.startswith(("col_", "kind_", "dir_", "kindval_", "dirval_"))})
    return data


def _spec_data(spec: dict[str, Any], headers: list[str]) -> dict[str, Any]:
    """Form data from an existing declaration (changing a source): its settings, and its columns
    where the sample has those headers."""
    kept = ("format", "encoding", "delimiter", "sheet", "records_path", "amount_unit", "sign", "timezone",
            "currency", "time_format", "date_format", "record_kind", "description")
    data: dict[str, Any] = {k: spec[k] for k in kept if k in spec}
    if "widths" in spec:
        data["widths"] = ",".join(str(w) for w in spec["widths"])
    for column in MAPPED:
        header = spec.get("columns", {}).get(column)
        data[f"col_{column}"] = header if isinstance(header, str) and header in headers else ""
    return data


def _carry_value_maps(data: dict[str, Any], posted: QueryDict, kind_values: list[str],
                      direction_values: list[str], current: dict[str, dict[str, str]]) -> None:
    """Value-map choices follow the value text (the list changes when another column is chosen);
    a value never chosen gets the current declaration's choice, else the proposal."""
    for prefix, values, table in (("kind", kind_values, KIND_VALUES), ("dir", direction_values, DIRECTION_VALUES)):
        chosen: dict[str, str] = dict(current.get("record_kind" if prefix == "kind" else "direction", {}))
        for n in range(200):
            if (text := posted.get(f"{prefix}val_{n}")) is not None:
                chosen[str(text)] = str(posted.get(f"{prefix}_{n}", ""))
        for n, value in enumerate(values):
            data[f"{prefix}_{n}"] = chosen[value] if value in chosen else (match_value(value, table) or "")
