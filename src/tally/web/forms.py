"""GET filter forms: every field optional; an invalid value is shown with its error, never a 500."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tally.breaks.models import Break, Plan
from tally.ingest.models import Bill, Source
from tally.services.workflow import aged
from tally.web import labels
from tally.web.fields import BusinessDayField, ListedModelChoiceField


def _choices(table: dict[str, Any]) -> list[tuple[str, Any]]:
    return [("", _("all")), *table.items()]


def _valid_data(form: forms.Form) -> dict[str, Any] | None:
    """The filters, or None when one is invalid: then the page shows the error and no rows,
    never rows that look filtered but are not (an old link to a deleted plan, a typo in a day)."""
    return form.cleaned_data if form.is_valid() else None


class BreakFilter(forms.Form):
    plan = ListedModelChoiceField(
        queryset=Plan.objects.all(), to_field_name="name", required=False, empty_label=_("all"),
        label=_("Plan"),
    )
    day = BusinessDayField(required=False, label=_("Day"),
                          widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(choices=_choices(labels.BREAK_KINDS), required=False, label=_("Kind"))
    status = forms.ChoiceField(choices=_choices(labels.BREAK_STATUSES), required=False, label=_("Status"))
    record_kind = forms.ChoiceField(choices=_choices(labels.RECORD_KINDS), required=False,
                                    label=_("Record kind"))
    order_no = forms.CharField(required=False, max_length=128, label=_("Order no."),
                               widget=forms.TextInput(attrs={"type": "search"}))
    age = forms.ChoiceField(required=False, label=pgettext_lazy("break filter", "Age"), choices=[
        ("", _("all")), ("0-1", pgettext_lazy("break filter", "0–1 days")),
        ("2-7", pgettext_lazy("break filter", "2–7 days")), ("8-30", pgettext_lazy("break filter", "8–30 days")),
        (">30", pgettext_lazy("break filter", "over 30 days"))])

    def apply(self, breaks: QuerySet[Break]) -> QuerySet[Break]:
        """Narrow ``breaks`` by the valid fields (an invalid one filters nothing)."""
        data = _valid_data(self)
        if data is None:
            return breaks.none()
        if plan := data.get("plan"):
            breaks = breaks.filter(plan=plan)
        if day := data.get("day"):
            breaks = breaks.filter(day=day)
        for name in ("kind", "status", "record_kind"):
            if value := data.get(name):
                breaks = breaks.filter(**{name: value})
        if order_no := (data.get("order_no") or "").strip():
            breaks = breaks.filter(order_no=order_no)
        if age := data.get("age"):
            breaks = aged(breaks, age)
        return breaks


class BillFilter(forms.Form):
    source = ListedModelChoiceField(
        queryset=Source.objects.all(), to_field_name="name", required=False, empty_label=_("all"),
        label=_("Source"),
    )
    status = forms.ChoiceField(choices=_choices(labels.BILL_STATUSES), required=False, label=_("Status"))

    def apply(self, bills: QuerySet[Bill]) -> QuerySet[Bill]:
        data = _valid_data(self)
        if data is None:
            return bills.none()
        if source := data.get("source"):
            bills = bills.filter(source=source)
        if status := data.get("status"):
            bills = bills.filter(status=status)
        return bills
