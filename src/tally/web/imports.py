"""Bills uploaded in the back office, imported as a job (tally.web.jobs runs it on the worker or a thread).

``stage`` runs in the request: it writes each uploaded file to a private folder of the job,
``TALLY_HOME/incoming/uploads/<job id>/``, under a name of Tally's own (its position, and the
original suffix when that is plain letters and digits) — the name the browser sent is kept as
data only, so no name can place a file anywhere else. A file over the upload limit is never
stored: it is rejected there and then (web.uploads).

``execute`` runs in the worker: each waiting file goes through the importer like ``tally
import`` (whole or not at all), its outcome is recorded, and the staged file is deleted. One
bad file never stops the others.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tally.errors import TallyError
from tally.ingest.models import Source
from tally.services.importing import import_path
from tally.web.models import ImportFile, ImportJob
from tally.web.uploads import TooLarge

log = logging.getLogger("tally.web.imports")
TOO_LARGE = "FILE_TOO_LARGE"
_PLAIN_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


def folder(job_id: int) -> Path:
    return Path(settings.TALLY_HOME) / "incoming" / "uploads" / str(int(job_id))


def stage(files: Iterable[Any], source: Source, day: date | None, user: Any) -> ImportJob:
    """Keep the uploaded files for the job and record them; the job is then ready to start."""
    files = list(files)
    with transaction.atomic():
        job = ImportJob.objects.create(source=source, business_day=day, requested_by=user, files_total=len(files))
        where = folder(job.pk)
        try:
            where.mkdir(mode=0o700, parents=True, exist_ok=True)
            rows = [_keep(job, position, file, where) for position, file in enumerate(files, start=1)]
            ImportFile.objects.bulk_create(rows)
            job.files_done = sum(row.outcome != ImportFile.Outcome.WAITING for row in rows)
            job.save(update_fields=["files_done"])
        except BaseException:
            shutil.rmtree(where, ignore_errors=True)
            raise
    return job


def _keep(job: ImportJob, position: int, file: Any, where: Path) -> ImportFile:
    name = str(getattr(file, "name", "") or "")[:255]
    size = int(getattr(file, "size", 0) or 0)
    if isinstance(file, TooLarge):
        # The message is the page's to word (in the reader's language): the limit may change.
        return ImportFile(job=job, position=position, name=name, size_bytes=size,
                          outcome=ImportFile.Outcome.REJECTED, code=TOO_LARGE)
    suffix = PurePosixPath(name.replace("\\", "/")).suffix
    path = where / f"{position:04d}{suffix if _PLAIN_SUFFIX.fullmatch(suffix) else ''}"
    with path.open("xb") as out:
        for chunk in file.chunks():
            out.write(chunk)
    path.chmod(0o600)
    return ImportFile(job=job, position=position, name=name, size_bytes=size,
                      staged=str(path.relative_to(settings.TALLY_HOME)))


def execute(job_id: int) -> str:
    """Import the job's waiting files in order, recording each; returns how the job ended."""
    if not ImportJob.take(job_id):
        return "gone"
    job = ImportJob.objects.select_related("source").get(pk=job_id)
    try:
        for file in job.files.filter(outcome=ImportFile.Outcome.WAITING).order_by("position"):
            _import(job, file)
            ImportJob.objects.filter(pk=job.pk).update(files_done=F("files_done") + 1)
    except Exception as exc:  # the database itself failing: nothing more can be recorded per file
        log.exception("import job %s failed", job.pk)
        _finish(job, ImportJob.Status.FAILED, f"{type(exc).__name__}: {exc}")
        return "failed"
    _finish(job, ImportJob.Status.DONE, "")
    return "done"


def _import(job: ImportJob, file: ImportFile) -> None:
    path = Path(settings.TALLY_HOME) / file.staged
    try:
        imported = import_path(path, job.source.name, file_name=file.name, day=job.business_day)
    except TallyError as exc:
        where = str(exc.where)
        file.outcome, file.code = ImportFile.Outcome.REJECTED, exc.code
        file.message = exc.message + (f" ({where})" if where else "")
    except Exception as exc:  # a bug or an unreadable file: this file fails, the others go on
        log.exception("importing %r of import job %s failed", file.name, job.pk)
        file.outcome, file.code, file.message = ImportFile.Outcome.REJECTED, "IMPORT_FAILED", \
            f"{type(exc).__name__}: {exc}"
    else:
        file.bill = imported.bill
        file.outcome = ImportFile.Outcome.ALREADY if imported.already else ImportFile.Outcome.IMPORTED
    path.unlink(missing_ok=True)
    file.staged = ""
    file.save(update_fields=["outcome", "code", "message", "bill", "staged"])


def interrupted(job_id: int) -> None:
    """The job's process died mid-way (its row is failed already): a file it was importing was
    imported whole or not at all, so the files still waiting are rejected and their copies deleted."""
    waiting = ImportFile.objects.filter(job_id=job_id, outcome=ImportFile.Outcome.WAITING)
    for staged in waiting.exclude(staged="").values_list("staged", flat=True):
        (Path(settings.TALLY_HOME) / staged).unlink(missing_ok=True)
    waiting.update(
        outcome=ImportFile.Outcome.REJECTED, code="JOB_INTERRUPTED", staged="",
        message="the import stopped before this file was imported; upload it again")
    _tidy(job_id)


def _finish(job: ImportJob, status: str, error: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(status=status, error=error, finished_at=timezone.now())
    _tidy(job.pk)


def _tidy(job_id: int) -> None:
    where = folder(job_id)
    if where.is_dir() and not any(where.iterdir()):
        where.rmdir()
