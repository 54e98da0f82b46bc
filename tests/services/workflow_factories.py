"""Users in each role, plans and breaks for the workflow tests; each call builds fresh rows."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.contrib.auth.models import Group, User

from tally.breaks.models import Break, Plan, PlanAccess
from tally.web.roles import ensure_roles

_seq = itertools.count(1)
DAY = dt.date(2024, 5, 1)
PASSWORD = "correct horse battery"


def user(role: str | None = "operator", *, username: str | None = None, plans: tuple[Plan, ...] = ()) -> User:
    """A user in ``role`` (viewer, operator, approver, admin; None: no role), limited to ``plans`` if given."""
    person = User.objects.create_user(username or f"{role or 'nobody'}{next(_seq)}", password=PASSWORD)
    if role:
        groups = ensure_roles()
        person.groups.add(groups[role])
    for plan in plans:
        PlanAccess.objects.create(plan=plan, user=person)
    return User.objects.get(pk=person.pk)  # fresh: no cached permissions


def group_limited(group: Group, *plans: Plan) -> None:
    for plan in plans:
        PlanAccess.objects.create(plan=plan, group=group)


def plan(name: str | None = None, **spec: Any) -> Plan:
    return Plan.objects.create(name=name or f"plan-{next(_seq)}", spec={"ours": "shop", "theirs": "wechat", **spec})


def record(source: str, order_no: str, amount_minor: int, **fields: Any) -> dict[str, Any]:
    return {"source": source, "business_day": DAY.isoformat(), "record_kind": "payment", "order_no": order_no,
            "refund_no": None, "channel_txn_id": f"42{next(_seq):06d}", "amount_minor": amount_minor,
            "fee_minor": 0, "discount_minor": 0, "currency": "CNY", "occurred_at": f"{DAY}T02:03:04+00:00",
            "status": "SUCCESS", "bill_sha256": "ab" * 32, "line_no": next(_seq), **fields}


def brk(plan_: Plan | None = None, kind: str = "mismatch", *, ours: int | None = 1234, theirs: int | None = 1200,
        order_no: str | None = None, **fields: Any) -> Break:
    """A break of ``kind``: long has only their side, short only ours, mismatch both."""
    plan_ = plan_ or plan()
    order_no = order_no or f"ORD-{next(_seq)}"
    if kind == "long":
        ours = None
    if kind == "short":
        theirs = None
    reason = {"long": "only_theirs", "short": "only_ours"}.get(kind, "amount_mismatch")
    values: dict[str, Any] = {
        "identity": f"id-{next(_seq)}", "day": DAY, "detected_on": DAY, "kind": kind, "status": "open",
        "record_kind": "payment", "order_no": order_no, "refund_no": "", "currency": "CNY",
        "ours_amount_minor": ours, "theirs_amount_minor": theirs, "reason": reason,
        "ours": record("shop", order_no, ours) if ours is not None else None,
        "theirs": record("wechat", order_no, theirs, status="REFUND") if theirs is not None else None,
    }
    values.update(fields)
    return Break.objects.create(plan=plan_, **values)
