"""Plans: the list, one plan (declaration, days, runs, start a run), and the editor with
server-side validation and a dry run of one day that saves nothing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from tally.breaks.models import Break, DayResult, Plan
from tally.errors import TallyError
from tally.services import access, plans
from tally.web.office_forms import PlanEditForm, RunForm
from tally.web.permissions import requires
from tally.web.views.requests import HtmxHttpRequest

VIEW_PLANS = "breaks.view_plan"
CHANGE_PLAN = "breaks.change_plan"
START_RUN = "breaks.add_run"
DAYS_SHOWN = 60


def visible_plan(user: Any, name: str) -> Plan:
    """The plan named ``name`` if the user may see it; 404 alike for hidden and missing plans."""
    plan = access.plans(user).filter(name=name).first()
    if plan is None:
        raise Http404
    return plan


@require_safe
@requires(VIEW_PLANS)
def plan_list(request: HtmxHttpRequest) -> HttpResponse:
    rows = access.plans(request.user).annotate(last_day=Max("days__day")).order_by("name")
    counts = dict(Break.objects.filter(plan__in=rows, status=Break.Status.OPEN).order_by()
                  .values("plan").annotate(n=Count("pk")).values_list("plan", "n"))
    plan_rows = [{"plan": p, "last_day": p.last_day, "open": counts.get(p.pk, 0),
                  "ours": _sides(p.spec.get("ours")), "theirs": _sides(p.spec.get("theirs"))} for p in rows]
    return render(request, "tally/office/plan_list.html", {"rows": plan_rows})


def _sides(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list | tuple) else str(value or "")


@require_safe
@requires(VIEW_PLANS)
def plan_detail(request: HtmxHttpRequest, name: str) -> HttpResponse:
    plan = visible_plan(request.user, name)
    days = list(DayResult.objects.filter(plan=plan).select_related("run").order_by("-day")[:DAYS_SHOWN])
    latest = days[0].day if days else None
    return render(request, "tally/office/plan_detail.html", {
        "plan": plan, "toml": plans.plan_toml(plan), "days": days, "runs": plan.runs.order_by("-started_at")[:10],
        "run_form": RunForm(initial={"first": latest, "last": latest}),
        "ours": _sides(plan.spec.get("ours")), "theirs": _sides(plan.spec.get("theirs")),
    })


@require_http_methods(["GET", "HEAD", "POST"])
@requires(CHANGE_PLAN)
def plan_edit(request: HtmxHttpRequest, name: str) -> HttpResponse:
    plan = visible_plan(request.user, name)
    latest = DayResult.objects.filter(plan=plan).order_by("-day").values_list("day", flat=True).first()
    form = PlanEditForm(request.POST or None, initial={"text": plans.plan_toml(plan), "day": latest})
    context: dict[str, Any] = {"plan": plan, "form": form, "error": None, "checked": None, "outcome": None}
    if request.method == "POST" and form.is_valid():
        text, action = form.cleaned_data["text"], request.POST.get("action", "validate")
        try:
            if action == "save":
                saved = plans.save(plan, text)
                messages.success(request, _("Plan %(name)s saved (version %(version)s).")
                                 % {"name": saved.name, "version": saved.version})
                return redirect("plan-detail", name=plan.name)
            context["checked"] = plans.check(plan.name, text)
            if action == "dry_run":
                day = form.cleaned_data.get("day")
                if day is None:
                    form.add_error("day", _("Choose the day to try."))
                else:
                    outcome = plans.dry_run(plan, text, day)
                    context["outcome"] = {"day": day, "matched": outcome.matched, "pending": outcome.pending,
                                          **outcome.counts(), "breaks": outcome.breaks[:20],
                                          "more": max(0, len(outcome.breaks) - 20)}
        except TallyError as exc:
            context["error"] = exc
            context["checked"] = None
    status = 400 if context["error"] or form.errors else 200
    return render(request, "tally/office/plan_edit.html", context, status=status)
