"""Reports: the plans' index, one plan's day statement with 30-day trends and aging. Figures come from
``tally.services.reports``; the exports (the statement and the day's breaks, CSV or Excel) are jobs
(web.views.exports)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from tally.breaks.models import DayResult, Plan
from tally.errors import TallyError
from tally.money import format_minor
from tally.services import access, reports
from tally.web import labels
from tally.web.charts import Series, stacked_bars
from tally.web.fields import BusinessDayField
from tally.web.permissions import VIEW_BREAKS, requires

AGING_LABELS = {"0-1": gettext_lazy("0–1 days"), "2-7": gettext_lazy("2–7 days"), "8-30": gettext_lazy("8–30 days"),
                ">30": gettext_lazy("over 30 days")}


class DayForm(forms.Form):
    day = BusinessDayField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def visible_plan(request: HttpRequest, name: str) -> Plan:
    """The plan if the user may see it: 404 alike for a hidden plan and a missing one."""
    plan = access.plans(request.user).filter(name=name).first()
    if plan is None:
        raise Http404
    return plan


def chosen_day(request: HttpRequest, plan: Plan) -> tuple[DayForm, dt.date]:
    """The ``day`` asked for, else the plan's latest reconciled day, else today."""
    form = DayForm(request.GET)
    day = form.cleaned_data.get("day") if form.is_valid() else None
    if day is None:
        day = DayResult.objects.filter(plan=plan).aggregate(last=Max("day"))["last"] or timezone.localdate()
    return form, day


@require_safe
@requires(VIEW_BREAKS)
def report_index(request: HttpRequest) -> HttpResponse:
    plans = access.plans(request.user).annotate(last_day=Max("days__day")).order_by("name")
    return render(request, "tally/reports/index.html", {"plans": plans})


def _charts(plan: Plan, day: dt.date) -> tuple[str, list[reports.TrendDay], list[Any]]:
    currency, days = reports.trend(plan, day)
    labels = [d.day.strftime("%m-%d") for d in days]

    def amount(value: int) -> str:
        return format_minor(value, currency)

    charts = [
        stacked_bars("matched", _("Matched pairs per day"),
                     _("Matched pairs per business day over the last 30 days"), labels,
                     [Series(_("matched"), "c-matched", [d.matched or 0 for d in days])]),
        stacked_bars("breaks", _("Breaks per day"), _("Breaks found per business day over the last 30 days"),
                     labels, [Series(_("breaks"), "c-breaks", [d.breaks for d in days])]),
        stacked_bars("amounts", _("Break amounts per day (%(currency)s)") % {"currency": currency},
                     _("Amounts of long, short and mismatch breaks per business day, stacked"), labels,
                     [Series(_("long"), "c-long", [d.long_minor for d in days]),
                      Series(_("short"), "c-short", [d.short_minor for d in days]),
                      Series(_("mismatch"), "c-mismatch", [d.mismatch_minor for d in days])], fmt=amount),
    ]
    return currency, days, charts


def _matrix(table: dict[str, dict[str, reports.Figure]], labels: dict[str, Any],
            currencies: list[str]) -> list[tuple[str, str, list[tuple[str, reports.Figure]]]]:
    """Rows of ``table`` in ``labels`` order, (currency, figure) per currency (zero where there is none)."""
    return [(key, str(label), [(c, table[key].get(c, reports.Figure())) for c in currencies])
            for key, label in labels.items()]


@require_safe
@requires(VIEW_BREAKS)
def plan_report(request: HttpRequest, name: str) -> HttpResponse:
    plan = visible_plan(request, name)
    form, day = chosen_day(request, plan)
    context: dict[str, Any] = {"plan": plan, "form": form, "day": day, "error": None,
                               "previous": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1)}
    try:
        statement = reports.statement(plan, day)
    except TallyError as exc:  # a plan whose declaration no longer validates, a lake file gone
        context["error"] = exc
        return render(request, "tally/reports/report.html", context, status=200)
    currency, trend, charts = _charts(plan, day)
    context.update({
        "st": statement, "trend_currency": currency, "trend": trend, "charts": charts,
        "aging": _matrix(statement.aging, AGING_LABELS, statement.currencies),
        "statuses": _matrix(statement.statuses, {s: labels.BREAK_STATUSES.get(s, s) for s in reports.STATUSES},
                            statement.currencies),
    })
    return render(request, "tally/reports/report.html", context)
