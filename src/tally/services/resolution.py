"""The break workflow's public API, in one place for its callers (web, API, CLI, worker, rules).

- ``propose(break_ids, kind, by, **details)`` → Action (applied at once, or pending approval)
- ``approve(action_id, by)`` / ``reject(action_id, by, reason)`` (never by the maker: SELF_APPROVAL)
- ``resolve(break, by, *, rule=None, rule_version=None, reason)``: rules pass ``by=None``
- ``suspend(break, by, reason, until)``, ``reopen(break, by, reason="")``, ``reopen_due(today)``
- ``assign(break, by, assignee)``, ``comment(break, by, body)``, ``attach(break, by, name, data)``
- ``undo(action_id, by, reason)``, ``unmatch(action_id, by, reason)``
- ``bulk(breaks, operation, by, **details)``: per-break, failures reported, not raised
- ``waiting(user)``: the approvals inbox; ``history(break)``: its audit events

The modules behind it: ``workflow`` (states and actions), ``kinds`` (what each action does),
``approvals`` (maker-checker), ``policy`` (thresholds), ``access`` (roles and plans), ``audit``
(hash chain), ``evidence`` (files), ``merchant`` (webhook).
"""

from __future__ import annotations

from tally.services.approvals import approve, decidable_by, reject, waiting
from tally.services.audit import history
from tally.services.evidence import attach
from tally.services.kinds import WRITE_OFF_CODES
from tally.services.workflow import (
    BulkResult,
    assign,
    bulk,
    comment,
    propose,
    reopen,
    reopen_due,
    resolve,
    suspend,
    undo,
    unmatch,
)

__all__ = ["WRITE_OFF_CODES", "BulkResult", "approve", "assign", "attach", "bulk", "comment", "decidable_by",
           "history", "propose", "reject", "reopen", "reopen_due", "resolve", "suspend", "undo", "unmatch",
           "waiting"]
