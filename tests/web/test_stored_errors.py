"""A failed run's and a failed job's stored error (``str(exc)``) reads as the other errors do: the
reader's sentence, then the English detail with its hint, then the code; Tally's own
"interrupted" in the reader's language; a bug's text as it is. The stored text and the JSON API
stay English."""

from __future__ import annotations

import socket
import subprocess
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tally.breaks.models import Plan, Run
from tally.ingest.models import Source
from tally.services import browsing
from tally.web import jobs
from tally.web.error_labels import ERRORS
from tally.web.models import ExportJob, ImportJob, Job, RunJob
from tests.services.factories import plan, table_source

from .api_client import Api
from .factories import jobs_inline
from .office_factories import lake_bill, role_user
from .test_error_labels import text_of

DAY = date(2024, 5, 1)
OTHER = {"en": "zh-hans", "zh-hans": "en"}
INTERRUPTED_ZH = "运行此任务的进程在任务结束前已停止（被终止或重启）；请重新开始。"


def client_in(language: str, user: Any = None) -> Client:
    client = Client()
    client.force_login(user or role_user("operator"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def sentence(code: str, language: str) -> str:
    with translation.override(language):
        return str(ERRORS[code])


def alert_of(page: str) -> str:
    """The text of the page's alert (the failed run's or job's error)."""
    at = page.index('<div class="alert" role="alert">')
    return text_of(page[at:page.index("</div>", at)])


def failed_run() -> RunJob:
    """A run of a plan whose sources have no bill for the day: it fails for real (BILL_MISSING)."""
    table_source("shop")
    table_source("bank")
    plan("p", "shop", "bank")
    job = RunJob.objects.create(plan=Plan.objects.get(), first_day=DAY, last_day=DAY, via="thread", days_total=1)
    assert jobs.execute(job.pk) == "BILL_MISSING"
    job.refresh_from_db()
    return job


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_failed_run_reads_in_the_readers_language_on_its_page_and_its_jobs(language: str) -> None:
    job = failed_run()
    run = Run.objects.get()
    assert (run.status, job.status) == (Run.Status.FAILED, "failed")
    assert run.error == job.error
    assert run.error.startswith("error[BILL_MISSING]: source ")  # stored as raised, in English
    client = client_in(language)
    for url in (reverse("run-detail", args=[run.pk]), reverse("run-job", args=[job.pk]),
                reverse("run-job-progress", args=[job.pk])):
        shown = alert_of(client.get(url).content.decode())
        said = sentence("BILL_MISSING", language)
        assert said in shown, url
        assert sentence("BILL_MISSING", OTHER[language]) not in shown
        detail = "has no bill for 2024-05-01; nothing was reconciled for that day"
        hint = "`tally import FILE --source"
        assert shown.index(said) < shown.index(detail) < shown.index(hint) < shown.index("BILL_MISSING"), url
        assert "error[" not in shown


@pytest.mark.django_db
def test_the_api_keeps_the_stored_english() -> None:
    job = failed_run()
    api = Api(role_user("viewer"))
    api.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert api.get(f"/runs/{job.run_id}").json()["error"] == job.error
    assert api.get(f"/runs/jobs/{job.pk}").json()["error"] == job.error


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_failed_export_job_reads_in_the_readers_language(monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    jobs_inline(monkeypatch)
    monkeypatch.setattr(browsing, "XLSX_MAX_ROWS", 10)  # one sheet's limit, made small
    bill = lake_bill(n=30)
    client = client_in(language, role_user("viewer"))
    started = client.post(f"{reverse('browser-export', args=['xlsx'])}?source={bill.source.name}&first={DAY}")
    job = ExportJob.objects.get()
    assert job.error.startswith("error[TOO_MANY_ROWS]: ")
    shown = alert_of(client.get(started["Location"]).content.decode())
    said = sentence("TOO_MANY_ROWS", language)
    assert sentence("TOO_MANY_ROWS", OTHER[language]) not in shown
    # The message's own "(at most 10)" stays in the detail.
    detail = "30 records do not fit in one Excel sheet (at most 10)"
    assert shown.index(said) < shown.index(detail) < shown.index("narrow the filters") < shown.index("TOO_MANY_ROWS")


def dead_pid() -> int:
    """The pid of a process of this host that has ended."""
    child = subprocess.Popen(["sleep", "60"])
    child.kill()
    child.wait()
    return child.pid


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_jobs_whose_process_died_say_so_in_the_readers_language(language: str) -> None:
    user = role_user("operator")
    gone = f"{socket.gethostname()}:{dead_pid()}"
    running = {"status": Job.Status.RUNNING, "taken_by": gone, "requested_by": user}
    run = RunJob.objects.create(plan=Plan.objects.create(name="p", spec={}), first_day=DAY, last_day=DAY,
                                days_total=1, **running)
    upload = ImportJob.objects.create(source=Source.objects.create(name="bank", kind="table", spec={}),
                                      files_total=1, **running)
    export = ExportJob.objects.create(what="records", format="csv", file_name="x.csv", **running)
    assert jobs.fail_interrupted() == 3
    said = {"zh-hans": INTERRUPTED_ZH, "en": jobs.INTERRUPTED}[language]
    client = client_in(language, user)
    for url in (reverse("run-job", args=[run.pk]), reverse("bill-upload-job", args=[upload.pk]),
                reverse("export-job", args=[export.pk])):
        shown = alert_of(client.get(url).content.decode())
        assert said in shown, url
        assert {"zh-hans": jobs.INTERRUPTED, "en": INTERRUPTED_ZH}[language] not in shown, url
    assert RunJob.objects.get(pk=run.pk).error == jobs.INTERRUPTED  # stored in English, translated when shown


@pytest.mark.django_db
def test_a_bugs_text_is_shown_as_it_is() -> None:
    job = RunJob.objects.create(plan=Plan.objects.create(name="p", spec={}), first_day=DAY, last_day=DAY,
                                days_total=1, status=Job.Status.FAILED,
                                error="TypeError: unsupported operand <int> + 'str'\nsecond line")
    page = client_in("zh-hans").get(reverse("run-job", args=[job.pk])).content.decode()
    assert "TypeError: unsupported operand &lt;int&gt; + &#x27;str&#x27;<br>second line" in page
