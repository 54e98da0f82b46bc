"""Exports asked for in the back office, written as a job (tally.web.jobs runs it on the worker or a thread).

The request only records what to export and who asked: the data browser's filters (``records``),
or a plan and business day (``report``, ``breaks``). ``execute`` builds the export again from
that, checked again as the page checked it (a source may be gone since), and writes the file to a
private folder of the job, ``TALLY_HOME/exports/<job id>/``, under a name of Tally's own — the
download's name is data only. Its progress (rows written of rows to write) moves every
``browsing.PROGRESS_ROWS`` records, not every row. The file is whole or absent: it is written
under a temporary name and renamed once complete, and a job that fails leaves nothing behind.

Only the user who asked may download it (web.views.exports). The worker deletes exports older than
TALLY_EXPORT_KEEP_DAYS, file and row (``delete_old``).
"""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from tally.breaks.models import Plan
from tally.errors import ConfigError, OperationFailed, TallyError
from tally.services import browsing, listing, report_export, reports
from tally.web.browse_forms import BrowseForm
from tally.web.models import ExportJob

log = logging.getLogger("tally.web.exports")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def folder(job_id: int) -> Path:
    return Path(settings.TALLY_HOME) / "exports" / str(int(job_id))


def records(form: BrowseForm, fmt: str, user: Any) -> ExportJob:
    """An export of the records ``form`` (valid) finds, ready to start."""
    data = form.cleaned_data
    # The filters as sent, not as cleaned: the worker gives them to the same form again.
    asked = {name: form.data[name] for name in BrowseForm.base_fields if form.data.get(name)}
    return ExportJob.objects.create(
        what=ExportJob.What.RECORDS, format=fmt, parameters=asked, source=data["source"], requested_by=user,
        file_name=f"{data['source'].name}_{data['first']:%Y%m%d}_{data['last']:%Y%m%d}.{fmt}")


def report(plan: Plan, what: str, fmt: str, day: date, user: Any) -> ExportJob:
    """An export of ``plan``'s statement (``report``) or breaks (``breaks``) for ``day``, ready to start."""
    name = (report_export.file_name(plan.name, day, fmt) if what == ExportJob.What.REPORT
            else f"breaks_{plan.name}_{day:%Y%m%d}.{fmt}")
    return ExportJob.objects.create(what=what, format=fmt, parameters={"day": day.isoformat()}, plan=plan,
                                    file_name=name, requested_by=user)


def execute(job_id: int) -> str:
    """Write the job's file, moving its progress as it goes; returns how the job ended."""
    if not ExportJob.take(job_id):
        return "gone"
    job = ExportJob.objects.select_related("plan").get(pk=job_id)
    where = folder(job.pk)
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = where / f"{job.what}.part"
        partial.touch(mode=0o600, exist_ok=False)  # private before a byte is in it; writers keep the mode
        written = _write(job, partial)
        done = partial.rename(where / f"{job.what}.{job.format}")
    except TallyError as exc:
        _fail(job, str(exc))
        return exc.code
    except Exception as exc:
        log.exception("export job %s failed", job.pk)
        _fail(job, f"{type(exc).__name__}: {exc}")
        return "failed"
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.DONE, finished_at=timezone.now(), stored=str(done.relative_to(settings.TALLY_HOME)),
        rows_done=written, rows_total=written, size_bytes=done.stat().st_size)
    return "done"


def _write(job: ExportJob, path: Path) -> int:
    """Write the export to ``path``; returns how many rows it holds."""
    def progress(done: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(rows_done=done)

    def expect(total: int) -> int:
        ExportJob.objects.filter(pk=job.pk).update(rows_total=total)
        return total

    if job.what == ExportJob.What.RECORDS:
        form = BrowseForm(job.parameters)
        if not form.is_valid():  # the source was deleted since, say
            problems = "; ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items())
            raise ConfigError("EXPORT_NO_LONGER_VALID", f"the export's filters are no longer valid ({problems})",
                              hint="export again from the data browser")
        data = form.cleaned_data
        q = browsing.query(data["source"], data["first"], data["last"], form.filters())
        total = expect(browsing.count(q))
        if job.format == ExportJob.Format.CSV:
            return browsing.write_csv(q, path, progress)
        return browsing.write_xlsx(q, path, total=total, progress=progress)

    if job.plan is None:
        raise OperationFailed("PLAN_GONE", "the plan of this export was deleted")
    day = date.fromisoformat(job.parameters["day"])
    if job.what == ExportJob.What.BREAKS:
        rows = listing.breaks(plan=job.plan.name, day=day)
        expect(len(rows))
        (listing.write_csv if job.format == ExportJob.Format.CSV else listing.write_xlsx)(rows, path)
        return len(rows)
    statement = reports.statement(job.plan, day)
    if job.format == ExportJob.Format.CSV:
        total = expect(len(report_export.rows(statement)))
        report_export.write_csv(statement, path)
        return total
    listed = report_export.breaks_of(job.plan.name, day)  # the workbook's second sheet
    total = expect(len(report_export.rows(statement)) + len(listed))
    report_export.write_xlsx(statement, path, listed)
    return total


def _fail(job: ExportJob, error: str) -> None:
    discard(job.pk)  # no partial file is ever served, or kept
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, error=error,
                                               finished_at=timezone.now())


def discard(job_id: int) -> None:
    """Delete the job's files: it failed, its process died mid-way, or it is too old to keep."""
    shutil.rmtree(folder(job_id), ignore_errors=True)


def delete_old(now: datetime | None = None) -> int:
    """Delete the exports asked for more than TALLY_EXPORT_KEEP_DAYS ago, files then rows; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TALLY_EXPORT_KEEP_DAYS)
    old = list(ExportJob.objects.filter(requested_at__lt=cutoff).values_list("pk", flat=True))
    for pk in old:
        discard(pk)
    ExportJob.objects.filter(pk__in=old).delete()
    return len(old)
