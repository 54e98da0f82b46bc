"""Plans: the list, one plan with its declaration, its day results, and validating a new text."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from tally.breaks.models import DayResult, Plan
from tally.errors import NotFound, TallyError
from tally.services import access, plans
from tally.web.api.answers import ErrorDetail
from tally.web.api.auth import needs, require

router = Router(tags=["plans"])
VIEW_PLANS = "breaks.view_plan"
CHANGE_PLAN = "breaks.change_plan"
MAX_DAYS = 400


class PlanOut(Schema):
    name: str
    version: int
    ours: list[str]
    theirs: list[str]
    description: str
    updated_at: datetime


class PlanDetail(PlanOut):
    spec: dict[str, Any]
    toml: str


class DayOut(Schema):
    day: date
    matched: int
    pending: int
    short: int
    long: int
    mismatch: int
    plan_version: int
    run_id: int | None
    manifest: dict[str, Any]


class DayFilters(Schema):
    first: date | None = None
    last: date | None = None


class Text(Schema):
    toml: str


class Validation(Schema):
    valid: bool
    error: ErrorDetail | None = None


def _sides(value: Any) -> list[str]:
    return list(value) if isinstance(value, list | tuple) else ([str(value)] if value else [])


def _out(plan: Plan) -> dict[str, Any]:
    return {"name": plan.name, "version": plan.version, "ours": _sides(plan.spec.get("ours")),
            "theirs": _sides(plan.spec.get("theirs")), "description": str(plan.spec.get("description", "")),
            "updated_at": plan.updated_at}


def visible(request: HttpRequest, name: str) -> Plan:
    """The plan, if the caller may see it; the same 404 for a hidden plan as for a missing one."""
    plan = access.plans(request.user).filter(name=name).first()
    if plan is None:
        raise NotFound("UNKNOWN_PLAN", f"there is no plan {name!r} you may see")
    return plan


@router.get("/", response=list[PlanOut], summary="The plans you may see")
def plan_list(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, VIEW_PLANS)
    return [_out(p) for p in access.plans(request.user).order_by("name")]


@router.get("/{name}", response=PlanDetail, summary="One plan and its declaration")
def plan_detail(request: HttpRequest, name: str) -> dict[str, Any]:
    require(request, VIEW_PLANS)
    plan = visible(request, name)
    return {**_out(plan), "spec": plan.spec, "toml": plans.plan_toml(plan)}


@router.get("/{name}/days", response=list[DayOut], summary="The plan's results per business day")
def plan_days(request: HttpRequest, name: str, filters: Query[DayFilters]) -> list[dict[str, Any]]:
    require(request, "breaks.view_dayresult")
    plan = visible(request, name)
    days = DayResult.objects.filter(plan=plan).order_by("-day")
    if filters.first:
        days = days.filter(day__gte=filters.first)
    if filters.last:
        days = days.filter(day__lte=filters.last)
    return [{"day": d.day, "matched": d.matched, "pending": d.pending, "short": d.short, "long": d.long,
             "mismatch": d.mismatch, "plan_version": d.plan_version, "run_id": d.run_id, "manifest": d.manifest}
            for d in days[:MAX_DAYS]]


@router.post("/{name}/validate", response=Validation, auth=needs(CHANGE_PLAN),
             summary="Check a new declaration of the plan (saves nothing)")
def plan_validate(request: HttpRequest, name: str, body: Text) -> dict[str, Any]:
    require(request, CHANGE_PLAN)
    plan = visible(request, name)
    try:
        plans.check(plan.name, body.toml)
    except TallyError as exc:
        return {"valid": False, "error": exc.as_dict()}
    return {"valid": True, "error": None}
