"""Sources and the bills they delivered.

A bill is identified by the SHA-256 of its bytes as received; the same bytes twice are one
bill. A rejected bill keeps only its name, hash and error: no bytes, no records.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Source(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=32)
    # The declaration as written in TOML (or the back office), validated by tally.config.
    spec = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SourceVersion(models.Model):
    """A source's declaration as it was from one change to the next; written once, never edited.

    Every change of a source (``tally apply``, the back office, or an edit found elsewhere)
    adds a version; each bill keeps the version it was imported under, so an archived bill can
    always be read again exactly as it was (docs/adr/0007-mapping-versions.md).
    """

    class Via(models.TextChoices):
        APPLY = "apply", "tally apply"
        WEB = "web", "back office"
        RECORDED = "recorded", "recorded at first use"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=32)
    spec = models.JSONField(default=dict)
    via = models.CharField(max_length=16, choices=Via.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "-number"]
        constraints = [models.UniqueConstraint(fields=["source", "number"], name="one_number_per_source_version")]

    def __str__(self) -> str:
        return f"{self.source.name} v{self.number}"


class Bill(models.Model):
    class Status(models.TextChoices):
        IMPORTED = "imported", "imported"
        REJECTED = "rejected", "rejected"

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="bills")
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    business_day = models.DateField(null=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    rows = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    original_name = models.CharField(max_length=255, blank=True)
    # Business days this bill wrote lake partitions for (ISO dates).
    days = models.JSONField(default=list)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # The declaration the records were parsed under (null only for a rejected bill).
    source_version = models.ForeignKey(SourceVersion, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="bills")

    class Meta:
        ordering = ["-business_day", "name"]
        constraints = [
            models.UniqueConstraint(
                # The same bytes are one bill; an empty bill may legitimately repeat on another day.
                fields=["source", "sha256", "business_day"],
                condition=models.Q(status="imported"),
                name="one_imported_bill_per_content",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FetchAttempt(models.Model):
    """One try to acquire a source's bill for a business day, whatever came of it."""

    class Outcome(models.TextChoices):
        IMPORTED = "imported", "imported"
        ALREADY = "already", "already imported"
        NO_BILL = "no_bill", "no bill that day"
        NOT_READY = "not_ready", "not ready yet"
        REJECTED = "rejected", "rejected"
        REFUSED = "refused", "refused"
        FAILED = "failed", "failed"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="fetch_attempts")
    business_day = models.DateField(db_index=True)
    transport = models.CharField(max_length=32)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    transient = models.BooleanField(default=False)
    bill = models.ForeignKey(Bill, on_delete=models.SET_NULL, null=True, blank=True, related_name="fetches")
    details = models.JSONField(default=dict)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["source", "business_day"])]


class Alert(models.Model):
    """A source's bill was not in by its deadline: raised once per source and business day."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="alerts")
    business_day = models.DateField()
    reason = models.TextField(blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    # Where it went: the email recipients, and the webhook's HTTP status (or why it failed).
    emailed_to = models.JSONField(default=list)
    webhook_status = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [models.UniqueConstraint(fields=["source", "business_day"], name="one_alert_per_source_day")]

    def __str__(self) -> str:
        return f"{self.source.name} {self.business_day}"


class Lease(models.Model):
    """A lock a worker holds while it fetches a source's day or runs a plan's day.

    The unique name makes taking it atomic on SQLite and PostgreSQL alike; ``expires_at`` frees
    the lease of a worker that died holding it, and a restarted worker frees its own host's
    leases of processes that are gone (tally.services.leases).
    """

    name = models.CharField(max_length=200, unique=True)
    holder = models.CharField(max_length=200)  # host:pid
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
