"""Sources and the bills they delivered.

A bill is identified by the SHA-256 of its bytes as received; the same bytes twice are one
bill. A rejected bill keeps only its name, hash and error: no bytes, no records.
"""

from __future__ import annotations

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
