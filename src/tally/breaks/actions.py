"""What people and rules do to breaks: actions (with maker-checker), comments, evidence files,
adjustment entries, and the approval policy.

An ``Action`` is one decision about one or more breaks of one plan. It is ``proposed`` when it
needs a second person (``ApprovalPolicy``), then ``approved`` and ``applied``, or ``rejected``
with a reason; an action that needs no approval is ``applied`` at once. An applied action can be
``undone`` by an ``undo`` action (itself audited). The rules of who may do what live in
``tally.services.workflow`` and ``tally.services.approvals``; these are only the rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Action(models.Model):
    class Kind(models.TextChoices):
        SUPPLEMENT = "supplement", "supplement"  # 补单: create the missing internal record (long break)
        SYNC_STATUS = "sync_status", "sync status"  # set our record's status from the channel's
        ADJUST = "adjust", "adjust"  # 调账: an adjustment entry with reason and amount
        WRITE_OFF = "write_off", "write off"  # 核销, with a reason code
        MANUAL_MATCH = "manual_match", "manual match"  # N:1 pairing of one-sided breaks
        UNMATCH = "unmatch", "unmatch"  # undo a manual match
        SUSPEND = "suspend", "suspend"  # 挂起 until a review date
        REOPEN = "reopen", "reopen"  # suspended → open
        RESOLVE = "resolve", "resolve"  # generic: automatic rules (rule + version) or an explained break
        UNDO = "undo", "undo"  # reverse an applied action (target)

    class State(models.TextChoices):
        PROPOSED = "proposed", "proposed"
        APPROVED = "approved", "approved"
        REJECTED = "rejected", "rejected"
        APPLIED = "applied", "applied"
        UNDONE = "undone", "undone"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROPOSED, db_index=True)
    plan = models.ForeignKey("breaks.Plan", on_delete=models.PROTECT, related_name="actions")
    breaks = models.ManyToManyField("breaks.Break", related_name="actions")
    # Signed minor units in ``currency`` where the kind moves money (adjust, supplement, write-off,
    # an explained manual-match difference); null otherwise.
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=32, blank=True)
    # Kind-specific details (a suspension's review date, the status to sync, notify the merchant…)
    # and, once applied, what happened (the webhook's answer, the entries created).
    payload = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # Each break's status before the action took it (restored on rejection and on undo).
    prior = models.JSONField(default=dict, blank=True)
    rule = models.CharField(max_length=64, blank=True)
    rule_version = models.CharField(max_length=32, blank=True)
    target = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals")
    # Null maker: an automatic rule. The checker is never the maker (enforced in the service).
    maker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="actions_made")
    checker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="actions_checked")
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    # When approvers were last reminded that this proposal still waits (approval.reminder), so the
    # worker reminds at most once per TALLY_APPROVAL_REMIND_HOURS.
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=("state", "plan")),)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def automatic(self) -> bool:
        return self.maker_id is None and bool(self.rule)


class ApprovalPolicy(models.Model):
    """Whether an action kind needs a second person, and above which amount.

    Approval is needed when ``requires_approval`` and the action's absolute amount (in minor
    units of its currency) is greater than ``threshold_minor``; an action without an amount needs
    approval whenever ``requires_approval``. Admins edit these rows; a kind without a row uses
    ``tally.services.approvals.DEFAULTS``.
    """

    kind = models.CharField(max_length=16, choices=Action.Kind.choices, unique=True)
    requires_approval = models.BooleanField(default=True)
    threshold_minor = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("kind",)
        verbose_name_plural = "approval policies"
        constraints = (models.CheckConstraint(condition=models.Q(threshold_minor__gte=0),
                                              name="approval_threshold_not_negative"),)

    def __str__(self) -> str:
        if not self.requires_approval:
            return f"{self.kind}: no approval"
        return f"{self.kind}: approval above {self.threshold_minor}"


class Adjustment(models.Model):
    """An entry on our side created by an action: the missing record of a 补单, or a 调账.

    The record is a normalized record (CONTRACT.md columns) so reports and exports read it like
    any other; ``reversed_by`` is set when the action that created it is undone.
    """

    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="adjustments")
    brk = models.ForeignKey("breaks.Break", on_delete=models.CASCADE, related_name="adjustments")
    business_day = models.DateField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    record = models.JSONField(default=dict)
    reversed_by = models.ForeignKey(Action, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("business_day", "id")


class Comment(models.Model):
    brk = models.ForeignKey("breaks.Break", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")


class Attachment(models.Model):
    """An evidence file; the bytes live under ``TALLY_HOME/evidence/`` named by their SHA-256."""

    brk = models.ForeignKey("breaks.Break", on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("uploaded_at", "id")
