"""The data browser's filters (GET): a source, a day or a range, and what to narrow and sort by."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tally.ingest.models import Source
from tally.services.browsing import MAX_DAYS, Filters
from tally.web import labels
from tally.web.fields import BusinessDayField, ListedModelChoiceField

SORTS = {
    "line_no": pgettext_lazy("sort", "line in the bill"),
    "occurred_at": pgettext_lazy("sort", "time"),
    "amount_minor": pgettext_lazy("sort", "amount"),
    "order_no": pgettext_lazy("sort", "order no."),
}


def _choices(table: dict[str, Any]) -> list[tuple[str, Any]]:
    return [("", _("all")), *table.items()]


class BrowseForm(forms.Form):
    source = ListedModelChoiceField(queryset=Source.objects.order_by("name"), to_field_name="name",
                                    label=_("Source"), empty_label=None)
    first = BusinessDayField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = BusinessDayField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                           help_text=_("empty: the same day"))
    q = forms.CharField(required=False, max_length=128, label=_("Order, refund or transaction no."),
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    record_kind = forms.ChoiceField(choices=_choices(labels.RECORD_KINDS), required=False, label=_("Record kind"))
    currency = forms.RegexField(regex=r"^[A-Za-z]{3}$", required=False, max_length=3, label=_("Currency"),
                                widget=forms.TextInput(attrs={"size": 4, "autocomplete": "off"}))
    status = forms.CharField(required=False, max_length=64, label=_("Source status"))
    sort = forms.ChoiceField(choices=list(SORTS.items()), required=False, label=_("Sort by"))
    order = forms.ChoiceField(choices=[("asc", _("ascending")), ("desc", _("descending"))], required=False,
                              label=_("Order"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first: date | None = data.get("first")
        last: date | None = data.get("last") or first
        if first and last:
            if last < first:
                self.add_error("last", _("The range ends before it starts."))
            elif (last - first).days + 1 > MAX_DAYS:
                self.add_error("last", _("Browse at most %(days)s days at once.") % {"days": MAX_DAYS})
        data["last"] = last
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(record_kind=data.get("record_kind") or None,
                       currency=(data.get("currency") or "").upper() or None,
                       status=data.get("status") or None, search=data.get("q") or None,
                       sort=data.get("sort") or "line_no", descending=data.get("order") == "desc")
