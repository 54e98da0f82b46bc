"""Plans, runs, per-day results and breaks.

Matched pairs stay in the lake; only breaks, per-day counts and run manifests live here.
A break's ``identity`` is stable across re-runs of a day, so work done on it is never lost
or duplicated.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Plan(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    spec = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="runs")
    first_day = models.DateField()
    last_day = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    engine = models.CharField(max_length=16)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]


class DayResult(models.Model):
    """What processing one business day of a plan found; replaced whole when the day re-runs."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, related_name="days")
    matched = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    short = models.PositiveIntegerField(default=0)
    long = models.PositiveIntegerField(default=0)
    mismatch = models.PositiveIntegerField(default=0)
    # Of ``matched``: pairs whose two records have different business days (paired on carry-over).
    cross_day = models.PositiveIntegerField(default=0)
    plan_version = models.PositiveIntegerField(default=1)
    # Manifest: the bills (sha256) read, the engine, so the day can be reproduced.
    manifest = models.JSONField(default=dict)
    published_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "day"]
        constraints = [models.UniqueConstraint(fields=["plan", "day"], name="one_result_per_plan_day")]

    @property
    def breaks(self) -> int:
        return self.short + self.long + self.mismatch


class Break(models.Model):
    class Kind(models.TextChoices):
        SHORT = "short", "short"
        LONG = "long", "long"
        MISMATCH = "mismatch", "mismatch"

    class Status(models.TextChoices):
        OPEN = "open", "open"
        PENDING_APPROVAL = "pending_approval", "pending approval"
        RESOLVED = "resolved", "resolved"
        SUSPENDED = "suspended", "suspended"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="breaks")
    identity = models.CharField(max_length=64)
    day = models.DateField(db_index=True)
    detected_on = models.DateField(db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OPEN, db_index=True)
    record_kind = models.CharField(max_length=16)
    order_no = models.CharField(max_length=128, blank=True, db_index=True)
    refund_no = models.CharField(max_length=128, blank=True)
    currency = models.CharField(max_length=3)
    ours_amount_minor = models.BigIntegerField(null=True)
    theirs_amount_minor = models.BigIntegerField(null=True)
    reason = models.CharField(max_length=32)
    # The two records as normalized (or null for the missing side), provenance included.
    ours = models.JSONField(null=True)
    theirs = models.JSONField(null=True)
    # Candidate counterparts found by amount, date window and text (plans with `candidates`):
    # a person confirms one by a manual match, or none.
    suggestions = models.JSONField(default=list, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    # Workflow (tally.services.workflow): a suspended break is reopened on its review date; a
    # resolved one names what resolved it (an action kind, or ``rule:NAME``) and when.
    suspended_until = models.DateField(null=True, blank=True, db_index=True)
    resolution = models.CharField(max_length=64, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "kind", "order_no"]
        constraints = [models.UniqueConstraint(fields=["plan", "identity"], name="one_break_per_identity")]
        # The break queue's order, alone and after a status or a plan filter: a page of a million breaks
        # is read from the index in order instead of sorting them all, and counted (up to its cap) from
        # the index alone (docs/benchmarks.md, "Back office").
        indexes = [models.Index(fields=["-day", "kind", "order_no"], name="break_queue_order"),
                   models.Index(fields=["status", "-day", "kind", "order_no"], name="break_queue_status_order"),
                   models.Index(fields=["plan", "-day", "kind", "order_no"], name="break_queue_plan_order")]
        permissions = [("act_on_break", "Can propose actions on breaks"),
                       ("approve_break", "Can approve actions on breaks")]

    def __str__(self) -> str:
        return f"{self.plan.name} {self.day} {self.kind} {self.order_no or self.pk}"


# The workflow's models live in their own modules; importing them here registers them.
from tally.breaks.access import PlanAccess  # noqa: E402
from tally.breaks.actions import Action, Adjustment, ApprovalPolicy, Attachment, Comment  # noqa: E402
from tally.breaks.audit import AuditEvent  # noqa: E402
from tally.breaks.rates import FxRate  # noqa: E402

__all__ = ["Action", "Adjustment", "ApprovalPolicy", "Attachment", "AuditEvent", "Break", "Comment",
           "DayResult", "FxRate", "Plan", "PlanAccess", "Run"]
