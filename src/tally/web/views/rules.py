"""A plan's automatic rules: what they are, a dry-run preview of what they would resolve now, and
the button that applies them (operators). The service does the work (``tally.services.rules``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from tally.engine.plan import Plan as PlanSpec
from tally.errors import TallyError
from tally.services import access
from tally.services.rules import Outcome, apply_rules
from tally.web import rule_labels
from tally.web.error_labels import error_html, explain_error
from tally.web.permissions import VIEW_BREAKS, requires
from tally.web.views.reports import DayForm, visible_plan

CROSS_DAY_SHOWN = 14


def _row(outcome: Outcome) -> dict[str, Any]:
    return {"brk": outcome.brk,
            "rule": rule_labels.rule_name(outcome.finding.rule) if outcome.finding else "",
            "version": outcome.finding.version if outcome.finding else None,
            "text": rule_labels.finding(outcome.finding) if outcome.finding else "",
            "notes": [rule_labels.finding(n) for n in outcome.notes]}


@require_http_methods(["GET", "HEAD", "POST"])
@requires(VIEW_BREAKS)
def plan_rules(request: HttpRequest, name: str) -> HttpResponse:
    plan = visible_plan(request, name)
    form = DayForm(request.POST if request.method == "POST" else request.GET)
    day = form.cleaned_data.get("day") if form.is_valid() else None
    may_apply = request.user.has_perm(access.ACT)
    if request.method == "POST":
        if not may_apply:
            raise PermissionDenied
        try:
            applied = apply_rules(plan, day=day)
        except TallyError as exc:
            messages.error(request, error_html(explain_error(exc)))
        else:
            done = sum(o.applied for o in applied.resolved)
            messages.success(request, ngettext("The rules resolved %(n)d break.", "The rules resolved %(n)d breaks.",
                                               done) % {"n": done})
            skipped = len(applied.resolved) - done
            if skipped:
                messages.warning(request, ngettext(
                    "%(n)d break changed meanwhile and was left as it is.",
                    "%(n)d breaks changed meanwhile and were left as they are.", skipped) % {"n": skipped})
        query = f"?{urlencode({'day': day.isoformat()})}" if day else ""
        return redirect(reverse("plan-rules", args=[plan.name]) + query)
    context: dict[str, Any] = {"plan": plan, "form": form, "day": day, "may_apply": may_apply, "error": None}
    try:
        spec = PlanSpec.from_spec(plan.name, plan.spec)
        preview = apply_rules(plan, day=day, dry_run=True)
    except TallyError as exc:
        context["error"] = exc
        return render(request, "tally/reports/rules.html", context)
    context.update({
        "rules": [{"name": rule_labels.rule_name(r.name), "code": r.name, "version": r.version,
                   "help": rule_labels.RULE_HELP.get(r.name, ""), "params": rule_labels.params(r)}
                  for r in spec.rules],
        "preview": preview, "resolved": [_row(o) for o in preview.resolved], "noted": [_row(o) for o in preview.noted],
        "cross_day_recent": preview.cross_day[-CROSS_DAY_SHOWN:][::-1],
        "cross_day_total": sum(n for _day, n in preview.cross_day),
        "apply_label": _("Apply the rules to these breaks") if day else _("Apply the rules to all open breaks"),
    })
    return render(request, "tally/reports/rules.html", context)
