"""Shapes of the break workflow API (breaks, actions, approvals) and their conversion from rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema

from tally.breaks.audit import AuditEvent
from tally.breaks.models import Action, Attachment, Break, Comment


class BreakOut(Schema):
    id: int
    plan: str
    day: date
    detected_on: date
    kind: str
    status: str
    record_kind: str
    order_no: str
    refund_no: str | None
    ours_amount_minor: int | None
    theirs_amount_minor: int | None
    currency: str
    reason: str
    assignee: str | None
    suspended_until: date | None
    resolution: str


class BreakPage(Schema):
    count: int
    items: list[BreakOut]


class ActionOut(Schema):
    id: int
    kind: str
    state: str
    plan: str
    breaks: list[int]
    amount_minor: int | None
    currency: str
    reason: str
    reason_code: str
    payload: dict[str, Any]
    result: dict[str, Any]
    rule: str
    rule_version: str
    target: int | None
    maker: str | None
    checker: str | None
    rejection_reason: str
    created_at: datetime
    decided_at: datetime | None
    applied_at: datetime | None


class CommentOut(Schema):
    id: int
    author: str
    body: str
    created_at: datetime


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class EventOut(Schema):
    seq: int
    at: datetime
    actor: str
    object_type: str
    object_id: str
    action: str
    before: Any
    after: Any
    hash: str


class BreakDetail(BreakOut):
    ours: dict[str, Any] | None
    theirs: dict[str, Any] | None
    actions: list[ActionOut]
    comments: list[CommentOut]
    attachments: list[AttachmentOut]
    history: list[EventOut]


class ActionIn(Schema):
    """A proposal on one break (``kind``: supplement, sync_status, adjust, write_off, resolve, suspend, reopen)."""

    kind: str
    reason: str = ""
    reason_code: str = ""
    amount_minor: int | None = None
    until: date | None = None
    status: str = ""
    notify: bool = False


class ActionsIn(ActionIn):
    """A proposal on several breaks at once (a manual match: short and long breaks, N:1 or 1:N)."""

    break_ids: list[int]


class ReasonIn(Schema):
    reason: str


class AssignIn(Schema):
    assignee: str | None = None


class CommentIn(Schema):
    body: str


class BulkIn(Schema):
    """One operation per break: an action kind, ``assign`` or ``comment``; on ``break_ids`` or,
    when absent, on every break matching the filters (plan, day, kind, status, order_no)."""

    operation: str
    break_ids: list[int] | None = None
    plan: str | None = None
    day: date | None = None
    kind: str | None = None
    status: str | None = None
    order_no: str | None = None
    reason: str = ""
    reason_code: str = ""
    amount_minor: int | None = None
    until: date | None = None
    assignee: str | None = None
    body: str = ""


class BulkFailure(Schema):
    break_id: int
    code: str
    message: str


class BulkOut(Schema):
    done: list[int]
    failed: list[BulkFailure]


def break_out(b: Break) -> dict[str, Any]:
    return {"id": b.pk, "plan": b.plan.name, "day": b.day, "detected_on": b.detected_on, "kind": b.kind,
            "status": b.status, "record_kind": b.record_kind, "order_no": b.order_no, "refund_no": b.refund_no or None,
            "ours_amount_minor": b.ours_amount_minor, "theirs_amount_minor": b.theirs_amount_minor,
            "currency": b.currency, "reason": b.reason,
            "assignee": b.assignee.get_username() if b.assignee else None,
            "suspended_until": b.suspended_until, "resolution": b.resolution}


def action_out(a: Action) -> dict[str, Any]:
    return {"id": a.pk, "kind": a.kind, "state": a.state, "plan": a.plan.name,
            "breaks": sorted(int(pk) for pk in a.prior), "amount_minor": a.amount_minor, "currency": a.currency,
            "reason": a.reason, "reason_code": a.reason_code, "payload": a.payload, "result": a.result,
            "rule": a.rule, "rule_version": a.rule_version, "target": a.target_id,
            "maker": a.maker.get_username() if a.maker else None,
            "checker": a.checker.get_username() if a.checker else None, "rejection_reason": a.rejection_reason,
            "created_at": a.created_at, "decided_at": a.decided_at, "applied_at": a.applied_at}


def comment_out(c: Comment) -> dict[str, Any]:
    return {"id": c.pk, "author": c.author.get_username(), "body": c.body, "created_at": c.created_at}


def attachment_out(a: Attachment) -> dict[str, Any]:
    return {"id": a.pk, "name": a.name, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
            "uploaded_by": a.uploaded_by.get_username(), "uploaded_at": a.uploaded_at}


def event_out(e: AuditEvent) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "object_type": e.object_type, "object_id": e.object_id,
            "action": e.action, "before": e.before, "after": e.after, "hash": e.hash}
