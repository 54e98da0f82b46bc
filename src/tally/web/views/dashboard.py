"""The dashboard: plan × day heat map of the latest days, open breaks by kind, latest bills."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from tally.breaks.models import Break, DayResult, Plan
from tally.ingest.models import Bill
from tally.services import access
from tally.web.permissions import VIEW_BILLS, VIEW_BREAKS, requires

HEAT_DAYS = 14
LATEST_BILLS = 10
# Break counts at or above each bound get the next colour step (0 breaks is its own step).
HEAT_BOUNDS = (1, 3, 10, 50)


def heat(breaks: int) -> int:
    """Colour step 0–4 of a cell: 0 none, 1 for 1–2, 2 for 3–9, 3 for 10–49, 4 for 50 and more."""
    return sum(breaks >= bound for bound in HEAT_BOUNDS)


def breaks_url(**params: object) -> str:
    query = {name: str(value) for name, value in params.items() if value not in (None, "")}
    return f"{reverse('break-list')}?{urlencode(query)}" if query else reverse("break-list")


@dataclass(frozen=True)
class Cell:
    day: dt.date
    result: DayResult | None
    url: str

    @property
    def heat(self) -> int:
        return heat(self.result.breaks) if self.result else 0


@dataclass(frozen=True)
class Row:
    plan: Plan
    cells: list[Cell]
    latest: DayResult | None


def grid(days: list[dt.date], plans: QuerySet[Plan] | None = None) -> list[Row]:
    """One row per plan (of ``plans``, default all), one cell per day (``None`` where the day was not run)."""
    plans = Plan.objects.all() if plans is None else plans
    results: dict[tuple[int, dt.date], DayResult] = {
        (r.plan_id, r.day): r for r in DayResult.objects.filter(day__in=days, plan__in=plans)
    }
    last_days = DayResult.objects.filter(plan__in=plans).order_by().values("plan_id").annotate(last=Max("day"))
    wanted = Q(pk__in=[])
    for row in last_days:
        wanted |= Q(plan_id=row["plan_id"], day=row["last"])
    latest = {r.plan_id: r for r in DayResult.objects.filter(wanted)}
    rows = []
    for plan in plans:
        cells = [
            Cell(day, results.get((plan.pk, day)), breaks_url(plan=plan.name, day=day.isoformat()))
            for day in days
        ]
        rows.append(Row(plan, cells, latest.get(plan.pk)))
    return rows


@require_safe
@requires(VIEW_BREAKS)
def dashboard(request: HttpRequest) -> HttpResponse:
    plans = access.plans(request.user)  # a user limited to some plans sees only theirs
    days = sorted(
        DayResult.objects.filter(plan__in=plans).order_by("-day").values_list("day", flat=True).distinct()[:HEAT_DAYS]
    )
    open_by_kind = dict(
        access.breaks(request.user, Break.objects.filter(status=Break.Status.OPEN))
        .order_by().values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    open_kinds = [
        (kind, open_by_kind.get(kind, 0), breaks_url(status="open", kind=kind))
        for kind in Break.Kind.values
    ]
    bills = None
    if request.user.has_perm(VIEW_BILLS):
        bills = Bill.objects.select_related("source").order_by("-received_at", "-pk")[:LATEST_BILLS]
    return render(request, "tally/dashboard.html", {
        "days": days,
        "rows": grid(days, plans),
        "open_kinds": open_kinds,
        "open_total": sum(open_by_kind.values()),
        "open_url": breaks_url(status="open"),
        "bills": bills,
    })
