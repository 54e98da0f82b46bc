"""Who may see and do what on which plan: roles (permissions) and plan access, in one place.

Every view, API endpoint and CLI command that touches breaks or actions goes through these
functions. An object in a plan the user may not see is reported as not found (``NotFound``),
exactly like an id that does not exist, so ids cannot be probed. A missing permission on a
visible object is ``NotAllowed`` (FORBIDDEN).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tally.breaks.models import Action, Break, Plan, PlanAccess
from tally.errors import NotAllowed, NotFound

VIEW = "breaks.view_break"
ACT = "breaks.act_on_break"  # operators (makers): propose actions, suspend, reopen, assign, comment, attach
APPROVE = "breaks.approve_break"  # approvers (checkers): approve or reject others' proposals

# A Django user (or AnonymousUser, who may do nothing): request.user, a looked-up user, a test's user.
User = Any


def plan_ids(user: User) -> set[int] | None:
    """The ids of the plans ``user`` is limited to, or None when not limited."""
    if not user.is_authenticated:
        return set()
    if getattr(user, "is_superuser", False):
        return None
    rows = PlanAccess.objects.filter(Q(user_id=user.pk) | Q(group__user__pk=user.pk))
    ids = set(rows.values_list("plan_id", flat=True))
    return ids if ids else None


def can_see_plan(user: User, plan: Plan | int) -> bool:
    allowed = plan_ids(user)
    return allowed is None or (plan if isinstance(plan, int) else plan.pk) in allowed


def plans(user: User) -> QuerySet[Plan]:
    allowed = plan_ids(user)
    query = Plan.objects.all()
    return query if allowed is None else query.filter(pk__in=allowed)


def breaks(user: User, query: QuerySet[Break] | None = None) -> QuerySet[Break]:
    """``query`` (default: every break) narrowed to what ``user`` may see."""
    query = Break.objects.all() if query is None else query
    if not user.has_perm(VIEW):
        return query.none()
    allowed = plan_ids(user)
    return query if allowed is None else query.filter(plan_id__in=allowed)


def actions(user: User, query: QuerySet[Action] | None = None) -> QuerySet[Action]:
    query = Action.objects.all() if query is None else query
    if not user.has_perm(VIEW):
        return query.none()
    allowed = plan_ids(user)
    return query if allowed is None else query.filter(plan_id__in=allowed)


def get_break(user: User, pk: Any, query: QuerySet[Break] | None = None) -> Break:
    try:
        return breaks(user, query).get(pk=int(pk))
    except (Break.DoesNotExist, ValueError, TypeError):
        raise NotFound("UNKNOWN_BREAK", f"there is no break {pk} you may see") from None


def get_action(user: User, pk: Any, query: QuerySet[Action] | None = None) -> Action:
    try:
        return actions(user, query).get(pk=int(pk))
    except (Action.DoesNotExist, ValueError, TypeError):
        raise NotFound("UNKNOWN_ACTION", f"there is no action {pk} you may see") from None


def require(user: User, *perms: str) -> None:
    """NotAllowed unless ``user`` holds one of ``perms``."""
    if not any(user.has_perm(p) for p in perms):
        raise NotAllowed("FORBIDDEN", "you do not have permission to do this",
                         hint="ask an admin for the operator (propose) or approver (approve) role")


def user_named(username: str) -> Any:
    """An active user by username (the CLI's ``--as``), or NotFound."""
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(username=username, is_active=True).first()
    if found is None:
        raise NotFound("UNKNOWN_USER", f"there is no active user named {username!r}")
    return found


def people(plan: Plan | int, limit: int = 500) -> list[Any]:
    """Active users who may see breaks of ``plan`` (whom a break may be assigned to), in a few queries."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    plan_id = plan if isinstance(plan, int) else plan.pk
    app_label, codename = VIEW.split(".")
    perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    viewers = get_user_model().objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(user_permissions=perm) | Q(groups__permissions=perm)).distinct()
    rows = list(PlanAccess.objects.values_list("plan_id", "user_id", "group_id"))
    members: dict[int, set[int]] = {}
    for user_id, group_id in get_user_model().groups.through.objects.values_list("user_id", "group_id"):
        members.setdefault(group_id, set()).add(user_id)
    limited: set[int] = set()
    allowed: set[int] = set()
    for row_plan, user_id, group_id in rows:
        ids = {user_id} if user_id is not None else members.get(group_id, set())
        limited |= ids
        if row_plan == plan_id:
            allowed |= ids
    return [u for u in viewers.order_by("username")[:limit]
            if u.is_superuser or u.pk not in limited or u.pk in allowed]
