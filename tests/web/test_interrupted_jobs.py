"""A job whose process dies mid-way (kill -9 of the worker, a restarted web server) does not stay
"running" for ever: the worker's tick fails it, with what it left behind cleaned up, and leaves
alone the jobs of processes that still run or that run on another host."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest

from tally.ingest.models import Source
from tally.web import exports, imports, jobs
from tally.web.models import ExportJob, ImportFile, ImportJob, Job, RunJob
from tally.worker import build_huey, register

from .factories import make_plan, make_user

DAY = date(2024, 5, 1)


def dead_pid() -> int:
    """The pid of a process of this host that has ended."""
    child = subprocess.Popen(["sleep", "60"])
    child.kill()
    child.wait()
    return child.pid


def running(model: type[Job], who: str, **fields: object) -> Job:
    return model.objects.create(status=Job.Status.RUNNING, taken_by=who, **fields)


@pytest.fixture
def staging(tally_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))  # where imports stage their files
    return tally_home


@pytest.mark.django_db
def test_jobs_of_a_dead_process_fail_and_leave_nothing_behind(staging: Path) -> None:
    user = make_user()
    gone = f"{socket.gethostname()}:{dead_pid()}"
    source = Source.objects.create(name="bank", kind="table", spec={})
    upload = running(ImportJob, gone, source=source, requested_by=user, files_total=2, files_done=1)
    imports.folder(upload.pk).mkdir(parents=True)
    staged = imports.folder(upload.pk) / "0002.csv"
    staged.write_bytes(b"order_no,amount\nA1,1.00\n")
    ImportFile.objects.create(job=upload, position=1, name="done.csv", outcome=ImportFile.Outcome.IMPORTED)
    ImportFile.objects.create(job=upload, position=2, name="waiting.csv", staged=str(staged.relative_to(staging)))
    export = running(ExportJob, gone, what="records", format="csv", file_name="x.csv", requested_by=user)
    exports.folder(export.pk).mkdir(parents=True)
    (exports.folder(export.pk) / "records.part").write_bytes(b"half a file")
    run = running(RunJob, gone, plan=make_plan(), first_day=DAY, last_day=DAY, days_total=1)

    huey = build_huey(redis_url="", name=f"test-{uuid.uuid4().hex[:8]}")
    huey.immediate = True
    register(huey)
    [minute] = [t for t in huey._registry._periodic_tasks if t.__name__ == "tally.tick"]
    minute().execute()  # the worker's tick, every minute

    for job in (upload, export, run):
        job.refresh_from_db()
        assert (job.status, job.error) == ("failed", jobs.INTERRUPTED)
        assert job.finished_at is not None
    files = {f.name: (f.outcome, f.code, f.staged) for f in upload.files.all()}
    assert files == {"done.csv": ("imported", "", ""), "waiting.csv": ("rejected", "JOB_INTERRUPTED", "")}
    assert not staged.exists()
    assert not imports.folder(upload.pk).exists()
    assert not exports.folder(export.pk).exists()
    assert jobs.fail_interrupted() == 0  # once


@pytest.mark.django_db
def test_jobs_of_live_processes_and_other_hosts_are_left_alone() -> None:
    user = make_user()
    with subprocess.Popen(["sleep", "60"]) as alive:
        try:
            mine = running(ExportJob, f"{socket.gethostname()}:{os.getpid()}", what="report", format="csv",
                           file_name="a.csv", requested_by=user)
            other = running(ExportJob, f"{socket.gethostname()}:{alive.pid}", what="report", format="csv",
                            file_name="b.csv", requested_by=user)
            elsewhere = running(ExportJob, f"another-host.example:{dead_pid()}", what="report", format="csv",
                                file_name="c.csv", requested_by=user)
            assert jobs.fail_interrupted() == 0
        finally:
            alive.kill()
    assert set(ExportJob.objects.values_list("pk", "status")) == {
        (mine.pk, "running"), (other.pk, "running"), (elsewhere.pk, "running")}


@pytest.mark.django_db
def test_taking_a_job_records_the_process_that_runs_it() -> None:
    job = ExportJob.objects.create(what="report", format="csv", file_name="a.csv")
    assert ExportJob.take(job.pk)
    job.refresh_from_db()
    assert (job.status, job.taken_by) == ("running", f"{socket.gethostname()}:{os.getpid()}")
    assert not ExportJob.take(job.pk)  # a second copy of the job finds it taken
