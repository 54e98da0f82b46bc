"""FX rates: the table the ``fx`` rule reads (filtered by day and currency pair, paged) and, for
admins, the upload of a rates CSV through the same service as ``tally rates import``.

A refused file is refused whole: the page names the code, the line and what to do, and no rate of
it was kept (``tally.services.fxrates`` checks every row before writing any). Files larger than
``fxrates.MAX_BYTES`` are dropped while they stream in (``tally.web.uploads``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from tally.breaks.models import FxRate
from tally.errors import InputRejected, TallyError
from tally.money import currency_code
from tally.services import fxrates
from tally.web.fields import BusinessDayField
from tally.web.permissions import IMPORT_FX_RATES, VIEW_FX_RATES, requires
from tally.web.uploads import PerFileLimit, TooLarge
from tally.web.views.requests import HtmxHttpRequest

PAGE_SIZE = 50


def _currency(value: str) -> str:
    if not value:
        return ""
    try:
        return currency_code(value)
    except TallyError:
        raise ValidationError(_("Enter a three-letter currency code such as USD.")) from None


class RateFilters(forms.Form):
    day = BusinessDayField(required=False, label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    base = forms.CharField(required=False, max_length=3, label=gettext_lazy("Base currency"),
                           widget=forms.TextInput(attrs={"size": 4, "autocomplete": "off"}))
    quote = forms.CharField(required=False, max_length=3, label=gettext_lazy("Quote currency"),
                            widget=forms.TextInput(attrs={"size": 4, "autocomplete": "off"}))

    def clean_base(self) -> str:
        return _currency(self.cleaned_data["base"])

    def clean_quote(self) -> str:
        return _currency(self.cleaned_data["quote"])


class RatesUpload(forms.Form):
    file = forms.FileField(label=gettext_lazy("Rates file (CSV)"))


@csrf_exempt  # the size limit must be in place before anything reads the body; CSRF is checked below
@requires(VIEW_FX_RATES)
@require_http_methods(["GET", "HEAD", "POST"])
def rate_list(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not request.user.has_perm(IMPORT_FX_RATES):
            raise PermissionDenied
        limit = PerFileLimit(request)
        limit.limit = fxrates.MAX_BYTES
        request.upload_handlers.insert(0, limit)
    return _rate_list(request)


@csrf_protect
def _rate_list(request: HtmxHttpRequest) -> HttpResponse:
    upload = RatesUpload()
    error: TallyError | None = None
    if request.method == "POST":
        upload = RatesUpload(request.POST, request.FILES)
        if upload.is_valid():
            try:
                result = _import(upload.cleaned_data["file"])
            except TallyError as exc:
                error = exc
            else:
                messages.success(request, _("Imported the rates: %(created)d new, %(updated)d changed, "
                                            "%(unchanged)d unchanged.") % {
                    "created": result.created, "updated": result.updated, "unchanged": result.unchanged})
                return redirect("fx-rates")
    filters = RateFilters(request.GET)
    rates: Any = FxRate.objects.none()
    if filters.is_valid():
        data = filters.cleaned_data
        rates = fxrates.rates(data["day"], data["base"], data["quote"])
    page = Paginator(rates, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filters": filters, "page": page, "upload": upload, "error": error,
               "may_import": request.user.has_perm(IMPORT_FX_RATES), "limit_mb": fxrates.MAX_BYTES // 1024**2,
               "columns": ",".join(fxrates.COLUMNS),
               "filtered": any(request.GET.get(k) for k in ("day", "base", "quote"))}
    status = 400 if request.method == "POST" else 200
    return render(request, "tally/reports/fx_rates.html", context, status=status)


def _import(file: Any) -> fxrates.RatesImported:
    name = str(getattr(file, "name", "") or "rates.csv")
    if isinstance(file, TooLarge):
        raise InputRejected("FILE_TOO_LARGE", _("The file is larger than the upload limit of %(mb)s MB.")
                            % {"mb": fxrates.MAX_BYTES // 1024**2}, file=name)
    return fxrates.import_rates_bytes(file.read(), name)
