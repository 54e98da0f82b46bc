"""Breaks, their actions and approvals over the API: the same service calls as the back office.

Every endpoint goes through ``tally.services`` (access, workflow, approvals), so a token gets the
same answers as a browser: a break in a plan the user may not see is 404 like a missing one, a
missing role is 403, the maker approving their own action is 403 SELF_APPROVAL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from tally.breaks.models import Action, Break
from tally.services import access, approvals, audit, evidence, workflow
from tally.web.api.paging import Paged, page
from tally.web.api.workflow_schemas import (
    ActionIn,
    ActionOut,
    ActionsIn,
    AssignIn,
    AttachmentOut,
    BreakDetail,
    BreakOut,
    BreakPage,
    BulkIn,
    BulkOut,
    CommentIn,
    CommentOut,
    EventOut,
    ReasonIn,
    action_out,
    attachment_out,
    break_out,
    comment_out,
    event_out,
)

breaks_router = Router(tags=["breaks"])
actions_router = Router(tags=["actions"])
approvals_router = Router(tags=["approvals"])


class BreakFilters(Paged):
    plan: str | None = None
    day: date | None = None
    kind: str | None = None
    status: str | None = None
    order_no: str | None = None
    assignee: str | None = None
    age: str | None = None  # 0-1, 2-7, 8-30, >30 (days from the break's business day)


def _filtered(request: HttpRequest, plan: str | None = None, day: Any = None, kind: str | None = None,
              status: str | None = None, order_no: str | None = None, assignee: str | None = None) -> Any:
    query = access.breaks(request.user, Break.objects.select_related("plan", "assignee"))
    for name, value in (("plan__name", plan), ("day", day), ("kind", kind), ("status", status),
                        ("order_no", order_no), ("assignee__username", assignee)):
        if value:
            query = query.filter(**{name: value})
    return query


def _detail(request: HttpRequest, brk: Break) -> dict[str, Any]:
    actions = brk.actions.select_related("plan", "maker", "checker").order_by("created_at", "id")
    return {**break_out(brk), "ours": brk.ours, "theirs": brk.theirs,
            "actions": [action_out(a) for a in actions],
            "comments": [comment_out(c) for c in brk.comments.select_related("author")],
            "attachments": [attachment_out(a) for a in brk.attachments.select_related("uploaded_by")],
            "history": [event_out(e) for e in audit.history(brk)]}


def _break(request: HttpRequest, break_id: int) -> Break:
    return access.get_break(request.user, break_id, Break.objects.select_related("plan", "assignee"))


def _action(request: HttpRequest, action_id: int) -> Action:
    return access.get_action(request.user, action_id, Action.objects.select_related("plan", "maker", "checker"))


@breaks_router.get("/", response=BreakPage, summary="Breaks you may see, filtered, newest day first")
def break_list(request: HttpRequest, filters: Query[BreakFilters]) -> dict[str, Any]:
    query = _filtered(request, filters.plan, filters.day, filters.kind, filters.status, filters.order_no,
                      filters.assignee)
    if filters.age:
        query = workflow.aged(query, filters.age)
    query = query.order_by("-day", "kind", "order_no", "id")
    return page(query, filters, break_out)


@breaks_router.get("/{int:break_id}", response=BreakDetail,
                   summary="One break: both records, actions, comments, history")
def break_detail(request: HttpRequest, break_id: int) -> dict[str, Any]:
    return _detail(request, _break(request, break_id))


@breaks_router.post("/{int:break_id}/actions", response={201: ActionOut},
                    summary="Propose an action on one break (applied at once when no approval is needed)")
def propose_one(request: HttpRequest, break_id: int, body: ActionIn) -> Status[dict[str, Any]]:
    action = workflow.propose([_break(request, break_id).pk], body.kind, request.user, **body.dict(exclude={"kind"}))
    return Status(201, action_out(action))


@breaks_router.post("/{int:break_id}/assign", response=BreakOut, summary="Assign the break (assignee null: nobody)")
def assign(request: HttpRequest, break_id: int, body: AssignIn) -> dict[str, Any]:
    return break_out(workflow.assign(_break(request, break_id), request.user, body.assignee))


@breaks_router.post("/{int:break_id}/comments", response={201: CommentOut}, summary="Comment on the break")
def comment(request: HttpRequest, break_id: int, body: CommentIn) -> Status[dict[str, Any]]:
    return Status(201, comment_out(workflow.comment(_break(request, break_id), request.user, body.body)))


@breaks_router.post("/{int:break_id}/attachments", response={201: AttachmentOut},
                    summary="Attach an evidence file (PDF, image, xlsx, CSV, text; size-limited)")
def attach(request: HttpRequest, break_id: int, file: File[UploadedFile]) -> Status[dict[str, Any]]:
    row = evidence.attach(_break(request, break_id), request.user, file.name or "evidence", file,
                          file.content_type or "")
    return Status(201, attachment_out(row))


@breaks_router.get("/{int:break_id}/history", response=list[EventOut], summary="The break's audit events")
def history(request: HttpRequest, break_id: int) -> list[dict[str, Any]]:
    return [event_out(e) for e in audit.history(_break(request, break_id))]


@breaks_router.post("/bulk", response=BulkOut, summary="One operation on many breaks (ids, or all matching filters)")
def bulk(request: HttpRequest, body: BulkIn) -> dict[str, Any]:
    if body.break_ids is not None:
        targets: Any = body.break_ids
    else:
        targets = _filtered(request, body.plan, body.day, body.kind, body.status, body.order_no)
    if body.operation == "assign":
        details: dict[str, Any] = {"assignee": body.assignee}
    elif body.operation == "comment":
        details = {"body": body.body}
    else:
        details = {k: v for k, v in body.dict(include={"reason", "reason_code", "amount_minor", "until"}).items()
                   if v not in (None, "")}
    result = workflow.bulk(targets, body.operation, request.user, **details)
    return {"done": result.done, "failed": [{"break_id": b, "code": c, "message": m} for b, c, m in result.failed]}


@breaks_router.get("/attachments/{int:attachment_id}", summary="Download an evidence file")
def download(request: HttpRequest, attachment_id: int) -> FileResponse:
    row, path = evidence.open_attachment(request.user, attachment_id)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=row.name,
                        content_type=row.content_type)


@actions_router.post("/", response={201: ActionOut}, summary="Propose an action on several breaks (manual match)")
def propose_many(request: HttpRequest, body: ActionsIn) -> Status[dict[str, Any]]:
    action = workflow.propose(body.break_ids, body.kind, request.user,
                              **body.dict(exclude={"kind", "break_ids"}))
    return Status(201, action_out(action))


@actions_router.get("/{int:action_id}", response=ActionOut, summary="One action")
def action_detail(request: HttpRequest, action_id: int) -> dict[str, Any]:
    return action_out(_action(request, action_id))


@actions_router.post("/{int:action_id}/undo", response={201: ActionOut}, summary="Undo an applied action")
def undo(request: HttpRequest, action_id: int, body: ReasonIn) -> Status[dict[str, Any]]:
    return Status(201, action_out(workflow.undo(action_id, request.user, body.reason)))


@actions_router.post("/{int:action_id}/unmatch", response={201: ActionOut}, summary="Undo a manual match")
def unmatch(request: HttpRequest, action_id: int, body: ReasonIn) -> Status[dict[str, Any]]:
    return Status(201, action_out(workflow.unmatch(action_id, request.user, body.reason)))


@approvals_router.get("/", response=list[ActionOut], summary="Actions waiting for approval that you may see")
def waiting(request: HttpRequest) -> list[dict[str, Any]]:
    return [action_out(a) for a in approvals.waiting(request.user).select_related("checker")]


@approvals_router.post("/{int:action_id}/approve", response=ActionOut,
                       summary="Approve someone else's proposal (never your own: 403 SELF_APPROVAL)")
def approve(request: HttpRequest, action_id: int) -> dict[str, Any]:
    return action_out(approvals.approve(action_id, request.user))


@approvals_router.post("/{int:action_id}/reject", response=ActionOut, summary="Reject a proposal, with a reason")
def reject(request: HttpRequest, action_id: int, body: ReasonIn) -> dict[str, Any]:
    return action_out(approvals.reject(action_id, request.user, body.reason))
