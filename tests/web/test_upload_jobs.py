"""Uploads imported as a job: files staged under TALLY_HOME, imported by the worker when one beats
(else a thread), each file's outcome on the job's page, staged files deleted, permissions."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tally.ingest.models import Bill, Source
from tally.web import imports, jobs
from tally.web.models import ImportFile, ImportJob
from tally.worker import build_huey, register
from tests.services.factories import csv_bill, table_source

from .factories import jobs_inline, make_user, wait_for

VIEWER = ("ingest.view_bill", "ingest.view_source")
OPERATOR = (*VIEWER, "ingest.add_bill")
DAY = date(2024, 5, 1)
GOOD = csv_bill(DAY, ("A1", "12.34"), ("A2", "5.00"))
ALSO_GOOD = csv_bill(DAY + timedelta(days=1), ("B1", "1.00"))
BAD = csv_bill(DAY, ("A3", "1.2.3"))


@pytest.fixture
def staging(tally_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TALLY_HOME (where files are staged) is this test's own folder."""
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    return tally_home / "incoming" / "uploads"


def client_for(*perms: str) -> Client:
    client = Client()
    client.force_login(make_user(*perms))
    return client


def post(client: Client, *files: tuple[str, bytes], source: str = "bank") -> Any:
    return client.post(reverse("bill-upload"), {"source": source, "day": "",
                                                "files": [SimpleUploadedFile(n, data) for n, data in files]})


def outcomes(job: ImportJob) -> dict[str, tuple[str, str]]:
    return {f.name: (f.outcome, f.code) for f in ImportFile.objects.filter(job=job)}



@pytest.mark.django_db(transaction=True)
def test_without_a_worker_a_thread_imports_each_file_and_one_bad_file_stops_none(staging: Path) -> None:
    table_source("bank")
    client = client_for(*OPERATOR)
    response = post(client, ("good.csv", GOOD), ("bad.csv", BAD), ("also.csv", ALSO_GOOD))
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("bill-upload-job", args=[job.pk])
    job = wait_for(ImportJob, job.pk)
    assert (job.via, job.status, job.files_done, job.files_total) == ("thread", "done", 3, 3)
    assert outcomes(job) == {"good.csv": ("imported", ""), "bad.csv": ("rejected", "BAD_AMOUNT"),
                             "also.csv": ("imported", "")}
    # Nothing of the bad file is kept; every staged file, and the job's folder, is gone.
    kept = {f.bill_id for f in ImportFile.objects.filter(job=job, name__in=["good.csv", "also.csv"])}
    assert set(Bill.objects.filter(status="imported").values_list("pk", flat=True)) == kept
    assert ImportFile.objects.get(job=job, name="bad.csv").bill is None
    assert not ImportFile.objects.exclude(staged="").exists()
    assert not (staging / str(job.pk)).exists()
    assert not any(staging.rglob("*.csv"))
    page = client.get(response["Location"]).content.decode()
    assert 'data-file="bad.csv" data-outcome="rejected"' in page
    assert "BAD_AMOUNT" in page
    good = ImportFile.objects.get(job=job, name="good.csv").bill
    assert good is not None
    assert reverse("bill-detail", args=[good.pk]) in page
    assert "hx-trigger" not in page  # finished: it stops asking


@pytest.mark.django_db(transaction=True)
def test_with_a_live_worker_the_upload_is_queued_and_the_worker_imports_it(staging: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_QUEUE_NAME", f"test-{uuid.uuid4().hex[:8]}")
    started = jobs_inline(monkeypatch)
    table_source("bank")
    jobs.beat("worker:test")
    assert post(client_for(*OPERATOR), ("good.csv", GOOD), ("bad.csv", BAD)).status_code == 302
    job = ImportJob.objects.get()
    assert (job.via, job.status, started) == ("worker", "queued", [])  # no thread: the worker's job
    assert len(list((staging / str(job.pk)).iterdir())) == 2
    page = client_for(*VIEWER).get(reverse("bill-upload-job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert 'data-outcome="waiting"' in page
    assert reverse("bill-upload-job", args=[job.pk]) in page  # a link for a browser without htmx
    huey = build_huey(redis_url="")
    register(huey)
    message = huey.dequeue()
    assert message is not None
    assert message.name == "tally.start_import"
    assert huey.execute(message) == "done"
    assert outcomes(ImportJob.objects.get()) == {"good.csv": ("imported", ""), "bad.csv": ("rejected", "BAD_AMOUNT")}
    assert not (staging / str(job.pk)).exists()


@pytest.mark.django_db
def test_a_second_copy_of_the_job_does_nothing(staging: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    table_source("bank")
    post(client_for(*OPERATOR), ("good.csv", GOOD))
    job = ImportJob.objects.get()
    assert job.status == "done"
    assert imports.execute(job.pk) == "gone"
    assert Bill.objects.filter(status="imported").count() == 1


@pytest.mark.django_db
def test_a_name_is_data_never_a_path(staging: Path, tally_home: Path) -> None:
    table_source("bank")

    class Sent:  # as a client could name it; Django's parser strips this, Tally does not rely on it
        name, size = "../../../outside.csv", len(GOOD)

        def chunks(self) -> list[bytes]:
            return [GOOD]

    job = imports.stage([Sent()], Source.objects.get(name="bank"), None, None)
    file = ImportFile.objects.get(job=job)
    assert file.name == "../../../outside.csv"
    assert (tally_home / file.staged).parent == staging / str(job.pk)
    assert file.staged.endswith("/0001.csv")
    assert not (tally_home.parent / "outside.csv").exists()
    assert imports.execute(job.pk) == "done"
    assert ImportFile.objects.get(job=job).outcome == "imported"


@pytest.mark.django_db
def test_viewers_may_not_upload_and_jobs_are_for_those_who_may_see_bills(staging: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    table_source("bank")
    assert post(client_for(*VIEWER), ("good.csv", GOOD)).status_code == 403
    assert not ImportJob.objects.exists()
    assert post(client_for(*OPERATOR), ("good.csv", GOOD)).status_code == 302
    job = ImportJob.objects.get()
    for name in ("bill-upload-job", "bill-upload-job-progress"):
        url = reverse(name, args=[job.pk])
        assert client_for(*VIEWER).get(url).status_code == 200, "another user who may see bills"
        assert client_for("ingest.view_source", "ingest.add_source").get(url).status_code == 403
        assert client_for(*VIEWER).get(reverse(name, args=[job.pk + 1])).status_code == 404


@pytest.mark.django_db
def test_the_upload_checks_csrf(staging: Path) -> None:
    table_source("bank")
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(*OPERATOR))
    assert post(client, ("good.csv", GOOD)).status_code == 403
    assert not ImportJob.objects.exists()
    assert not staging.exists() or not any(staging.iterdir())


@pytest.mark.django_db
def test_the_job_page_in_chinese(staging: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    jobs_inline(monkeypatch)
    table_source("bank")
    client = client_for(*OPERATOR)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(post(client, ("good.csv", GOOD), ("bad.csv", BAD))["Location"]).content.decode()
    for words in ("为 bank 上传的对账单", "已完成 2 / 2 个文件", "已导入", "已拒收"):
        assert words in html, words
