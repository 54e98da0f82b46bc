"""Template tags of the workflow pages: labels of action kinds, states and audit events; a short
summary of what an audit event changed; the count of approvals waiting for the navigation."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from tally.breaks.audit import AuditEvent
from tally.services import approvals
from tally.web import labels
from tally.web.workflow_forms import WRITE_OFF_LABELS
from tally.web.workflow_labels import ACTION_KINDS, ACTION_STATES, EVENTS

register = template.Library()


def _label(table: dict[str, Any], code: object) -> str:
    return "—" if code in (None, "") else str(table.get(str(code), code))


@register.filter
def action_kind_label(code: str | None) -> str:
    return _label(ACTION_KINDS, code)


@register.filter
def action_state_label(code: str | None) -> str:
    return _label(ACTION_STATES, code)


@register.filter
def event_label(code: str | None) -> str:
    return _label(EVENTS, code)


@register.filter
def write_off_label(code: str | None) -> str:
    return _label(WRITE_OFF_LABELS, code)


@register.filter
def resolution_label(code: str | None) -> str:
    if code and code.startswith("rule:"):
        return _("rule %(name)s") % {"name": code[5:]}
    return _label(ACTION_KINDS, code)


@register.filter
def event_summary(event: AuditEvent) -> str:
    """What changed, in a few words: a status, an assignee, a comment, a file, an action's state."""
    before, after = event.before or {}, event.after or {}
    parts = []
    for name, table in (("status", labels.BREAK_STATUSES), ("state", ACTION_STATES)):
        if name in after and before.get(name) != after.get(name):
            old = _label(table, before.get(name)) if before else "—"
            parts.append(f"{old} → {_label(table, after[name])}")
    if event.action == "assign":
        parts.append(f"{before.get('assignee') or '—'} → {after.get('assignee') or '—'}")
    if "body" in after:
        parts.append(str(after["body"])[:140])
    if "name" in after and event.action == "attach":
        parts.append(str(after["name"]))
    if after.get("suspended_until") and after.get("status") == "suspended":
        parts.append(_("until %(day)s") % {"day": after["suspended_until"]})
    if event.object_type == "action" and event.action == "propose":
        parts.append(_label(ACTION_KINDS, after.get("kind")))
        if after.get("reason"):
            parts.append(str(after["reason"])[:140])
    if event.action == "reject" and after.get("rejection_reason"):
        parts.append(str(after["rejection_reason"])[:140])
    return " · ".join(parts)


@register.simple_tag(takes_context=True)
def approvals_waiting(context: dict[str, Any]) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return approvals.waiting(user).count()
