"""Maker-checker policy: which actions need a second person, above which amount.

Admins edit ``ApprovalPolicy`` rows (the admin pages); a kind without a row uses ``DEFAULTS``
(the same values the migration writes). Approval is needed when the kind's policy requires it
and the action's absolute amount is above the threshold (both in minor units): with the default
threshold 0 a money action of 0.01 needs approval and one of 0.00 does not. An action without an
amount (a status sync without one, an undo) needs approval whenever its policy requires it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tally.breaks.models import Action, ApprovalPolicy

K = Action.Kind


@dataclass(frozen=True)
class Policy:
    kind: str
    requires_approval: bool
    threshold_minor: int = 0

    def needs_approval(self, amount_minor: int | None) -> bool:
        if not self.requires_approval:
            return False
        return amount_minor is None or abs(amount_minor) > self.threshold_minor


DEFAULTS: dict[str, Policy] = {
    **{k: Policy(k, True) for k in (K.SUPPLEMENT, K.ADJUST, K.WRITE_OFF, K.SYNC_STATUS, K.MANUAL_MATCH, K.RESOLVE)},
    **{k: Policy(k, False) for k in (K.UNMATCH, K.SUSPEND, K.REOPEN, K.UNDO)},
}


def policy_for(kind: str) -> Policy:
    row = ApprovalPolicy.objects.filter(kind=kind).first()
    if row is None:
        return DEFAULTS[kind]
    return Policy(kind, row.requires_approval, row.threshold_minor)


def needs_approval(kind: str, amount_minor: int | None) -> bool:
    return policy_for(kind).needs_approval(amount_minor)


def set_policy(kind: str, *, requires_approval: bool, threshold_minor: int = 0) -> ApprovalPolicy:
    """Used by tests and the admin; the admin pages are the usual way (permission: change_approvalpolicy)."""
    if kind not in DEFAULTS:
        raise KeyError(kind)
    row, _ = ApprovalPolicy.objects.update_or_create(
        kind=kind, defaults={"requires_approval": requires_approval, "threshold_minor": threshold_minor})
    return row
