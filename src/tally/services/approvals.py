"""The checker's side of maker-checker: approve or reject a proposed action; what is waiting.

Nobody decides on their own proposal: ``approve`` and ``reject`` refuse the maker with
SELF_APPROVAL whatever their roles (an admin holds every permission and is still refused), so
the web, the API, the CLI and any future caller get the same answer.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tally.breaks.models import Action, Break
from tally.errors import BadState, InputRejected, NotAllowed
from tally.services import access, audit
from tally.services.access import User
from tally.services.workflow import action_state, apply_action, change_break


def _decidable(action_id: Any, by: User) -> Action:
    action = access.get_action(by, action_id,
                               Action.objects.select_for_update(of=("self",)).select_related("plan", "maker"))
    if action.maker_id is not None and by.pk == action.maker_id:
        raise NotAllowed("SELF_APPROVAL", f"action {action.pk} was proposed by you; another person must decide on it")
    access.require(by, access.APPROVE)
    if action.state != Action.State.PROPOSED:
        raise BadState("NOT_PROPOSED", f"action {action.pk} is {action.state}; only a proposed action is decided")
    return action


@transaction.atomic
def approve(action_id: Any, by: User) -> Action:
    """Approve someone else's proposal; it is applied at once (its breaks resolved, suspended …)."""
    action = _decidable(action_id, by)
    before = action_state(action)
    action.state = Action.State.APPROVED
    action.checker = by
    action.decided_at = timezone.now()
    action.save(update_fields=["state", "checker", "decided_at"])
    audit.record(by, action, "approve", before, action_state(action))
    breaks = list(action.breaks.select_for_update().select_related("plan"))
    return apply_action(action, breaks, by)


@transaction.atomic
def reject(action_id: Any, by: User, reason: str) -> Action:
    """Reject with a reason; the breaks go back to the status they had before the proposal."""
    reason = (reason or "").strip()
    action = _decidable(action_id, by)
    if not reason:
        raise InputRejected("REASON_REQUIRED", "a rejection needs a reason", field="reason")
    before = action_state(action)
    action.state = Action.State.REJECTED
    action.checker = by
    action.decided_at = timezone.now()
    action.rejection_reason = reason
    action.save(update_fields=["state", "checker", "decided_at", "rejection_reason"])
    audit.record(by, action, "reject", before, action_state(action))
    for brk in action.breaks.select_for_update():
        if brk.status == Break.Status.PENDING_APPROVAL:
            change_break(brk, by, action, "rejected", status=action.prior.get(str(brk.pk), Break.Status.OPEN))
    return action


def waiting(user: User) -> QuerySet[Action]:
    """Proposed actions ``user`` may see, oldest first (the approvals inbox)."""
    query = Action.objects.filter(state=Action.State.PROPOSED).select_related("plan", "maker")
    return access.actions(user, query).order_by("created_at", "id").prefetch_related("breaks")


def decidable_by(action: Action, user: User) -> bool:
    """Whether ``user`` may see approve/reject buttons for ``action`` (the service checks again)."""
    return (action.state == Action.State.PROPOSED and user.has_perm(access.APPROVE)
            and action.maker_id != user.pk)


def waiting_rows() -> list[dict[str, Any]]:
    """Every proposed action as plain rows (the CLI; it runs with the database's own rights)."""
    query = Action.objects.filter(state=Action.State.PROPOSED).select_related("plan", "maker").order_by("created_at")
    return [{"id": a.pk, "plan": a.plan.name, "kind": a.kind, "amount_minor": a.amount_minor, "currency": a.currency,
             "maker": a.maker.get_username() if a.maker else None, "reason": a.reason,
             "breaks": sorted(int(pk) for pk in a.prior), "created_at": a.created_at.isoformat()}
            for a in query]
