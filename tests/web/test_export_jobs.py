"""Exports as jobs: started by a CSRF-checked POST, written by the worker when one beats (else a
thread) to a private file under TALLY_HOME with its progress on the job's page, downloaded by the
user who asked and nobody else, refused whole (TOO_MANY_ROWS) with no file left, deleted when old."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tally.breaks.models import Plan, PlanAccess
from tally.ingest.models import Source
from tally.services import browsing
from tally.web import exports, jobs
from tally.web.browse_forms import BrowseForm
from tally.web.models import ExportJob
from tally.worker import build_huey, register

from .factories import export, jobs_inline, wait_for
from .office_factories import DAY, lake_bill, role_user


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def start_records(client: Client, fmt: str, source: Source, **filters: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"source": source.name, "first": DAY.isoformat(), **filters}.items())
    return client.post(f"{reverse('browser-export', args=[fmt])}?{query}")



@pytest.mark.django_db(transaction=True)
def test_without_a_worker_a_thread_writes_the_file_and_the_page_offers_it() -> None:
    bill = lake_bill(n=45)
    viewer = role_user("viewer")
    client = client_of(viewer)
    response = start_records(client, "csv", bill.source, record_kind="payment")
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("export-job", args=[job.pk]) == f"/exports/{job.pk}/"
    job = wait_for(ExportJob, job.pk)
    assert (job.via, job.status, job.what, job.format) == ("thread", "done", "records", "csv")
    assert (job.rows_total, job.rows_done, job.requested_by) == (36, 36, viewer)
    assert job.parameters == {"source": bill.source.name, "first": DAY.isoformat(), "record_kind": "payment"}
    stored = Path(settings.TALLY_HOME) / job.stored
    assert stored == exports.folder(job.pk) / "records.csv"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert exports.folder(job.pk).stat().st_mode & 0o777 == 0o700
    assert job.size_bytes == stored.stat().st_size
    assert [p.name for p in exports.folder(job.pk).iterdir()] == ["records.csv"]  # no temporary file left

    page = client.get(response["Location"]).content.decode()
    assert f"Records of {bill.source.name}" in page
    assert "36 of 36 rows written" in page
    assert "hx-trigger" not in page  # finished: it stops asking
    assert f'href="/exports/{job.pk}/download"' in page
    assert "the web server (no worker running)" in page
    download = client.get(reverse("export-download", args=[job.pk]))
    assert download["Cache-Control"] == "private, no-store"
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 36
    assert {r["record_kind"] for r in rows} == {"payment"}
    listed = client.get(reverse("export-list")).content.decode()
    assert reverse("export-job", args=[job.pk]) in listed
    assert f"{bill.source.name}_20240501_20240501.csv" in listed


@pytest.mark.django_db
def test_the_row_says_how_far_the_export_got_as_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    monkeypatch.setattr(browsing, "PROGRESS_ROWS", 20)
    seen: list[tuple[int, str, int, int]] = []
    write_xlsx = browsing.write_xlsx

    def watched(q: Any, path: Path, *, total: int | None = None, progress: Any = None) -> int:
        def told(done: int) -> None:
            progress(done)
            row = ExportJob.objects.get()
            seen.append((done, row.status, row.rows_done, row.rows_total))
        return write_xlsx(q, path, total=total, progress=told)

    monkeypatch.setattr(browsing, "write_xlsx", watched)
    bill = lake_bill(n=70)
    _response, data = export(client_of(role_user("viewer")), reverse("browser-export", args=["xlsx"]),
                            {"source": bill.source.name, "first": DAY})
    # Every 20 records (and the rest), not every record: the total was counted before the first.
    assert seen == [(20, "running", 20, 70), (40, "running", 40, 70), (60, "running", 60, 70),
                    (70, "running", 70, 70)]
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.max_row == 71
    assert sheet.cell(2, 4).value == "ORD-0501-00000"


@pytest.mark.django_db(transaction=True)
def test_with_a_live_worker_the_export_is_queued_and_the_worker_writes_it(tally_home: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))  # the queue's SQLite file
    monkeypatch.setenv("TALLY_QUEUE_NAME", f"test-{uuid.uuid4().hex[:8]}")
    started = jobs_inline(monkeypatch)
    plan = Plan.objects.create(name="wechat_vs_shop", spec={"ours": "shop", "theirs": "wechat"})
    jobs.beat("worker:test")
    client = client_of(role_user("viewer"))
    response = client.post(f"{reverse('plan-report-export', args=[plan.name, 'report', 'csv'])}?day=2024-05-10")
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.via, job.status, job.plan, job.file_name, started) == (
        "worker", "queued", plan, "report_wechat_vs_shop_20240510.csv", [])  # no thread: the worker's job
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "Waiting to start" in page
    assert reverse("export-job", args=[job.pk]) in page  # a link for a browser without htmx
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404  # nothing yet

    huey = build_huey(redis_url="")
    register(huey)
    message = huey.dequeue()
    assert message is not None
    assert message.name == "tally.start_export"
    assert huey.execute(message) == "done"
    assert exports.execute(job.pk) == "gone"  # a second copy of the job does nothing
    download = client.get(reverse("export-download", args=[job.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="report_wechat_vs_shop_20240510.csv"'
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert text.startswith("section,item,currency,count,amount,amount_minor")


@pytest.mark.django_db
def test_an_export_is_its_requesters_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    bill = lake_bill(n=5)
    owner = client_of(role_user("viewer"))
    job_url = start_records(owner, "csv", bill.source)["Location"]
    job = ExportJob.objects.get()
    urls = [reverse(name, args=[job.pk]) for name in ("export-job", "export-job-progress", "export-download")]
    assert [owner.get(url).status_code for url in urls] == [200, 200, 200]
    for other in (role_user("viewer"), role_user("admin", is_staff=True, is_superuser=True)):
        client = client_of(other)
        assert [client.get(url).status_code for url in urls] == [404, 404, 404], other
        assert job_url not in client.get(reverse("export-list")).content.decode()
    assert Client().get(urls[2]).status_code == 302  # anonymous: log in first
    assert owner.get(reverse("export-job", args=[job.pk + 1])).status_code == 404


@pytest.mark.django_db
def test_the_exports_own_permission_holds_when_starting_and_downloading(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    bill = lake_bill(n=5)
    nobody = client_of(role_user(None))
    assert start_records(nobody, "csv", bill.source).status_code == 403
    hidden, mine = (Plan.objects.create(name=name, spec={"ours": "shop", "theirs": "wechat"})
                    for name in ("hidden_plan", "mine"))
    limited = role_user("viewer")
    PlanAccess.objects.create(plan=mine, user=limited)
    client = client_of(limited)
    assert client.post(reverse("plan-report-export", args=[hidden.name, "breaks", "csv"])).status_code == 404
    assert not ExportJob.objects.exists()
    started = client.post(reverse("plan-report-export", args=[mine.name, "breaks", "csv"]) + "?day=2024-05-10")
    job = ExportJob.objects.get()
    assert started["Location"] == reverse("export-job", args=[job.pk])
    assert job.status == "done"
    download = reverse("export-download", args=[job.pk])
    assert client.get(download).status_code == 200
    PlanAccess.objects.filter(user=limited).update(plan=hidden)  # no longer sees the plan
    assert client.get(download).status_code == 404
    assert client.get(reverse("export-job", args=[job.pk])).status_code == 404
    PlanAccess.objects.filter(user=limited).update(plan=mine)
    limited.groups.clear()  # nor breaks at all
    assert client_of(limited).get(download).status_code == 403


@pytest.mark.django_db
def test_starting_is_a_post_with_csrf(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    bill = lake_bill(n=5)
    plan = Plan.objects.create(name="p", spec={"ours": "shop", "theirs": "wechat"})
    viewer = role_user("viewer")
    starts = [f"{reverse('browser-export', args=['csv'])}?source={bill.source.name}&first={DAY}",
              reverse("plan-report-export", args=[plan.name, "report", "xlsx"])]
    client = client_of(viewer)
    for url in starts:
        assert client.get(url).status_code == 405
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(viewer)
    for url in starts:
        assert checked.post(url).status_code == 403
    assert not ExportJob.objects.exists()
    # The page's own forms carry the token.
    html = checked.get(reverse("browser"), {"source": bill.source.name, "first": DAY}).content.decode()
    form = html.split('<div class="exports">', 1)[1].split("</form>", 1)[0]
    assert 'method="post"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    token = checked.cookies[settings.CSRF_COOKIE_NAME].value
    assert checked.post(starts[0], {"csrfmiddlewaretoken": token}).status_code == 302
    assert ExportJob.objects.get().status == "done"


@pytest.mark.django_db
def test_too_many_rows_for_excel_fails_the_job_with_its_message_and_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    monkeypatch.setattr(browsing, "XLSX_MAX_ROWS", 10)  # one sheet's limit, made small
    bill = lake_bill(n=30)
    client = client_of(role_user("viewer"))
    page = client.get(start_records(client, "xlsx", bill.source)["Location"]).content.decode()
    job = ExportJob.objects.get()
    assert (job.status, job.rows_total, job.rows_done, job.stored) == ("failed", 30, 0, "")
    assert job.error.startswith("error[TOO_MANY_ROWS]: 30 records do not fit in one Excel sheet (at most 10)")
    assert "TOO_MANY_ROWS" in page
    assert "narrow the filters, or export CSV" in page
    assert "No file was kept." in page
    assert not exports.folder(job.pk).exists()
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404
    # The same records as CSV fit.
    client.post(f"{reverse('browser-export', args=['csv'])}?source={bill.source.name}&first={DAY}")
    assert ExportJob.objects.get(format="csv").status == "done"


@pytest.mark.django_db
def test_filters_no_longer_valid_fail_the_job() -> None:
    bill = lake_bill(n=5)
    form = BrowseForm({"source": bill.source.name, "first": DAY.isoformat()})
    assert form.is_valid()
    job = exports.records(form, "csv", role_user("viewer"))  # asked for, not yet run ...
    bill.delete()
    Source.objects.filter(pk=bill.source.pk).delete()  # ... when its source goes
    assert exports.execute(job.pk) == "EXPORT_NO_LONGER_VALID"
    job.refresh_from_db()
    assert (job.status, job.source) == ("failed", None)
    assert "source: Select a valid choice." in job.error
    assert not exports.folder(job.pk).exists()


@pytest.mark.django_db
def test_the_worker_deletes_old_exports_files_and_rows(tally_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                      settings: Any) -> None:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    jobs_inline(monkeypatch)
    bill = lake_bill(n=5)
    client = client_of(role_user("viewer"))
    for _ in range(3):
        start_records(client, "csv", bill.source)
    old, recent, fresh = ExportJob.objects.order_by("pk")
    now = timezone.now()
    ExportJob.objects.filter(pk=old.pk).update(requested_at=now - timedelta(days=7, minutes=1))
    ExportJob.objects.filter(pk=recent.pk).update(requested_at=now - timedelta(days=6, hours=23))
    assert all(exports.folder(job.pk).is_dir() for job in (old, recent, fresh))

    huey = build_huey(redis_url="", name=f"test-{uuid.uuid4().hex[:8]}")
    huey.immediate = True
    register(huey)
    [task] = [t for t in huey._registry._periodic_tasks if t.__name__ == "tally.delete_old_exports"]
    assert task().execute() == 1
    assert list(ExportJob.objects.order_by("pk").values_list("pk", flat=True)) == [recent.pk, fresh.pk]
    assert not exports.folder(old.pk).exists()
    assert exports.folder(recent.pk).is_dir()
    settings.TALLY_EXPORT_KEEP_DAYS = 1
    assert exports.delete_old() == 1
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not exports.folder(recent.pk).exists()
    assert exports.folder(fresh.pk).is_dir()


@pytest.mark.django_db
def test_the_job_page_and_list_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    plan = Plan.objects.create(name="wechat_vs_shop", spec={"ours": "shop", "theirs": "wechat"})
    client = client_of(role_user("viewer"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    started = client.post(f"{reverse('plan-report-export', args=[plan.name, 'breaks', 'xlsx'])}?day=2024-05-10")
    html = client.get(started["Location"]).content.decode()
    for words in ("wechat_vs_shop 在 2024-05-10 的差错", "我的导出", "下载", "已完成", "文件"):
        assert words in html, words
    listed = client.get(reverse("export-list")).content.decode()
    for words in ("我的导出", "breaks_wechat_vs_shop_20240510.xlsx", "7 天后删除"):
        assert words in listed, words
