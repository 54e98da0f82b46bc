"""What the back office keeps: API tokens, preferences, failed logins, and its jobs (runs, imports, exports).

An API token is shown once, when it is created; only its SHA-256 is stored (a token is 256
random bits, so a fast hash is enough: there is nothing to brute-force).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    # The first characters of the token, to tell tokens apart in lists; not secret, not enough to use.
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Profile(models.Model):
    """A user's language and time zone; empty means the site's default."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tally_profile")
    language = models.CharField(max_length=16, blank=True, choices=settings.LANGUAGES)
    time_zone = models.CharField(max_length=64, blank=True)

    class Meta:
        # Given to the admin role (tally.web.roles gives it every permission of Tally's apps).
        permissions = [("manage_users", "Can manage users and their roles"),
                       ("read_settings", "Can read the effective settings")]

    def __str__(self) -> str:
        return f"{self.user}: {self.language or '-'} {self.time_zone or '-'}"


class LoginFailure(models.Model):
    """One failed login for a username; enough of them in a window lock the account for a while."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]


class Job(models.Model):
    """Long work asked for in the back office and done by the worker, or by a thread of the web
    when no worker beats (tally.web.jobs): who asked, where it runs, how it went."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    via = models.CharField(max_length=16, blank=True)  # "worker" (the queue) or "thread" (no worker running)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The process running it (host:pid, as leases name theirs): if that process dies mid-job, the
    # worker's tick finds the job still "running" under a dead pid and fails it (tally.web.jobs).
    taken_by = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True
        ordering = ["-requested_at"]

    @classmethod
    def take(cls, pk: int) -> bool:
        """Mark the queued job running; False when it was not queued. Taking it is one conditional
        update, so a second copy of the job (queued twice, or a worker's retry) finds it taken."""
        from tally.services.leases import holder

        return bool(cls._default_manager.filter(pk=pk, status=cls.Status.QUEUED).update(
            status=cls.Status.RUNNING, started_at=timezone.now(), taken_by=holder()))


class RunJob(Job):
    """A run asked for in the back office: queued for the worker (or a thread), with its progress.

    The run itself is a ``breaks.Run`` row once it starts; this row says who asked, how far it
    got (days done of days total) and how it ended, for the page that polls it.
    """

    plan = models.ForeignKey("breaks.Plan", on_delete=models.CASCADE, related_name="jobs")
    first_day = models.DateField()
    last_day = models.DateField()
    days_total = models.PositiveIntegerField(default=0)
    days_done = models.PositiveIntegerField(default=0)
    current_day = models.DateField(null=True, blank=True)
    run = models.ForeignKey("breaks.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(100 * self.days_done / max(1, self.days_total))


class Heartbeat(models.Model):
    """A worker's sign of life, renewed every minute: the back office queues jobs only when one beats."""

    name = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()


class ImportJob(Job):
    """Bills uploaded in the back office, imported by the worker (or a thread): who, which source,
    which business day, and how far it got (files done of files total); each file is an ImportFile."""

    source = models.ForeignKey("ingest.Source", on_delete=models.CASCADE, related_name="+")
    business_day = models.DateField(null=True, blank=True)  # only when the files cannot tell
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(100 * self.files_done / max(1, self.files_total))


class ImportFile(models.Model):
    """One uploaded file of an import job: its name as sent (data only, never a path), where it
    waits under TALLY_HOME until imported, then what became of it."""

    class Outcome(models.TextChoices):
        WAITING = "waiting", "waiting"
        IMPORTED = "imported", "imported"
        ALREADY = "already", "already"  # the same bytes were imported before
        REJECTED = "rejected", "rejected"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveIntegerField()  # 1-based, in the order the files were sent
    name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(default=0)
    # Relative to TALLY_HOME; emptied once the file is imported or rejected (and deleted).
    staged = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.WAITING)
    code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    bill = models.ForeignKey("ingest.Bill", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["job", "position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="import_file_position")]


class ExportJob(Job):
    """An export asked for in the back office — the data browser's records, or a plan's day report
    or breaks — written by the worker (or a thread) to a private file under TALLY_HOME, which only
    the user who asked may download (tally.web.exports); the worker deletes old ones."""

    class What(models.TextChoices):
        RECORDS = "records", "records"
        REPORT = "report", "report"
        BREAKS = "breaks", "breaks"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel"

    what = models.CharField(max_length=16, choices=What.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    # Enough to build the export again in the worker, checked again there: the data browser's
    # filters as its form reads them (records), or the business day (report, breaks).
    parameters = models.JSONField(default=dict)
    # Whose data it is, for the access checks on the way out (a report's plan may be hidden from a user).
    plan = models.ForeignKey("breaks.Plan", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.ForeignKey("ingest.Source", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    file_name = models.CharField(max_length=255)  # the download's name
    # Relative to TALLY_HOME (under exports/<job id>/), once the file is complete; empty until then.
    stored = models.CharField(max_length=255, blank=True)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(100 * self.rows_done / max(1, self.rows_total))
