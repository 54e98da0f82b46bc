"""The bill calendar, Retry, the upload page and the fetch history, through Django's test client."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tally.ingest.models import Bill, FetchAttempt, Source
from tally.web.models import ImportJob
from tests.services.factories import csv_bill, import_csv, table_source

from .factories import jobs_inline, make_user

pytestmark = pytest.mark.django_db

VIEWER = ("ingest.view_bill", "ingest.view_fetchattempt", "ingest.view_source")
OPERATOR = (*VIEWER, "ingest.add_bill")


def client_for(*perms: str) -> Client:
    client = Client()
    client.force_login(make_user(*perms))
    return client


@pytest.fixture
def yesterday() -> Any:
    return timezone.localdate() - timedelta(days=1)


def test_the_calendar_shows_each_state_with_its_reason(yesterday: Any) -> None:
    table_source("shop")
    table_source("bank", {"transport": "sftp", "host": "127.0.0.1", "username": "u", "password_env": "X",
                          "host_key": "SHA256:x", "remote_dir": "/", "pattern": "{yyyymmdd}.csv"})
    import_csv("shop", yesterday)
    FetchAttempt.objects.create(source=Source.objects.get(name="bank"), business_day=yesterday, transport="sftp",
                                outcome="refused", reason="host key mismatch: SHA256:abc presented")
    html = client_for(*VIEWER).get(reverse("calendar")).content.decode()
    assert f'id="shop-{yesterday:%Y-%m-%d}"' in html
    assert "cal-arrived" in html
    assert "cal-rejected" in html
    assert "host key mismatch: SHA256:abc presented" in html
    assert "Retry" not in html, "a viewer sees no Retry button"
    assert "Upload" not in html
    operator = client_for(*OPERATOR).get(reverse("calendar")).content.decode()
    assert "Retry" in operator
    assert reverse("bill-upload") in operator


def test_a_viewer_cannot_retry_nor_upload() -> None:
    client = client_for(*VIEWER)
    assert client.post(reverse("fetch-retry"), {"source": "bank", "day": "2024-08-20"}).status_code == 403
    assert client.get(reverse("bill-upload")).status_code == 403
    assert client.post(reverse("bill-upload"), {"source": "bank"}).status_code == 403


def test_pages_need_a_login() -> None:
    for url in (reverse("calendar"), reverse("bill-upload"), reverse("source-fetches", args=["bank"])):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_retry_needs_csrf() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(*OPERATOR))
    assert client.post(reverse("fetch-retry"), {"source": "bank", "day": "2024-08-20"}).status_code == 403


def test_retry_runs_the_fetch_now_and_says_what_came_of_it(tmp_path: Path, tally_home: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    folder = tmp_path / "inbox"
    folder.mkdir()
    table_source("drop", {"transport": "inbox", "path": str(folder), "pattern": "drop_{yyyymmdd}.csv",
                          "min_age_s": 0})
    table_source("bank", {"transport": "ftp", "host": "127.0.0.1", "port": 9, "username": "u",
                          "password_env": "TEST_NO_SUCH_VARIABLE", "remote_dir": "/", "pattern": "{yyyymmdd}.csv",
                          "retries": 0})
    client = client_for(*OPERATOR)
    response = client.post(reverse("fetch-retry"), {"source": "bank", "day": "2024-08-20"}, follow=True)
    assert response.redirect_chain[-1][0].endswith("#bank-2024-08-20")
    html = response.content.decode()
    assert "failed" in html
    assert "TEST_NO_SUCH_VARIABLE" in html  # the missing secret is named, never a value
    assert FetchAttempt.objects.get(source__name="bank").outcome == "failed"

    (folder / "drop_20240820.csv").write_bytes(csv_bill(yesterday_of("2024-08-21"), ("A1", "1.00")))
    response = client.post(reverse("fetch-retry"), {"source": "drop", "day": "2024-08-20"}, follow=True)
    assert "1 file(s) taken from the inbox" in response.content.decode()
    assert Bill.objects.filter(source__name="drop", status="imported").exists()


def yesterday_of(day: str) -> Any:
    from datetime import date

    return date.fromisoformat(day) - timedelta(days=1)


def test_retry_of_an_unknown_day_is_a_bad_request() -> None:
    table_source("bank")
    assert client_for(*OPERATOR).post(reverse("fetch-retry"), {"source": "bank", "day": "yesterday"}).status_code == 400


def upload(client: Client, source: str, *files: tuple[str, bytes], day: str = "") -> str:
    """Post the files, then follow the redirect to the import job's page (jobs run inline)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    data: dict[str, Any] = {"source": source, "day": day,
                            "files": [SimpleUploadedFile(name, content) for name, content in files]}
    response = client.post(reverse("bill-upload"), data, follow=True)
    assert response.status_code == 200
    [(location, status)] = response.redirect_chain
    assert status == 302
    assert location.startswith("/bills/upload/")
    return response.content.decode()


@pytest.fixture
def inline(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    return jobs_inline(monkeypatch)


def test_upload_imports_each_file_and_shows_its_result(yesterday: Any, inline: Any) -> None:
    table_source("bank")
    client = client_for(*OPERATOR)
    good = csv_bill(yesterday, ("A1", "12.34"))
    bad = csv_bill(yesterday, ("A2", "1.2.3"))
    html = upload(client, "bank", ("good.csv", good), ("bad.csv", bad))
    assert 'data-file="good.csv" data-outcome="imported"' in html
    assert 'data-file="bad.csv" data-outcome="rejected"' in html
    assert "BAD_AMOUNT" in html
    assert Bill.objects.filter(status="imported").count() == 1
    again = upload(client, "bank", ("good-again.csv", good))
    assert 'data-outcome="already"' in again


def test_upload_refuses_a_file_over_the_limit_and_keeps_the_others(settings: Any, yesterday: Any, inline: Any) -> None:
    settings.TALLY_UPLOAD_MAX_BYTES = 100
    table_source("bank")
    html = upload(client_for(*OPERATOR), "bank", ("big.csv", csv_bill(yesterday, *[("A", "1.00")] * 20)),
                  ("small.csv", csv_bill(yesterday, ("A1", "1.00"))))
    assert 'data-file="big.csv" data-outcome="rejected"' in html
    assert "FILE_TOO_LARGE" in html
    assert "larger than the upload limit of 1 MB" in html
    assert 'data-file="small.csv" data-outcome="imported"' in html


def test_upload_without_files_says_so() -> None:
    table_source("bank")
    html = client_for(*OPERATOR).post(reverse("bill-upload"), {"source": "bank"}).content.decode()
    assert "Choose or drop at least one file." in html
    assert not ImportJob.objects.exists()


def test_upload_page_preselects_the_cell_it_came_from() -> None:
    table_source("bank")
    html = client_for(*OPERATOR).get(reverse("bill-upload") + "?source=bank&day=2024-08-20").content.decode()
    assert '<option value="bank" selected>' in html
    assert 'value="2024-08-20"' in html
    assert 'type="file"' in html
    assert "multiple" in html


def test_fetch_history_lists_attempts_and_shows_secrets_only_by_name() -> None:
    source = table_source("paypal", {"transport": "sftp", "host": "reports.paypal.com", "username": "merchant",
                                     "password_env": "TALLY_PAYPAL_SFTP_PASSWORD", "host_key": "SHA256:x",
                                     "remote_dir": "/ppreports/outgoing", "pattern": "STL-{yyyymmdd}.*.CSV",
                                     "password": "must-never-show"})
    FetchAttempt.objects.create(source=source, business_day=timezone.localdate(), transport="sftp",
                                outcome="imported", finished_at=timezone.now(),
                                details={"remote_files": [{"path": "/ppreports/outgoing/STL-1.CSV", "size": 9,
                                                           "mtime": 1}], "code": ""})
    html = client_for(*VIEWER).get(reverse("source-fetches", args=["paypal"])).content.decode()
    assert "password_env = TALLY_PAYPAL_SFTP_PASSWORD" in html
    assert "must-never-show" not in html
    assert "/ppreports/outgoing/STL-1.CSV (9 B)" in html
    assert "1 attempt" in html


def test_fetch_history_needs_its_permission() -> None:
    table_source("bank")
    assert client_for("ingest.view_bill").get(reverse("source-fetches", args=["bank"])).status_code == 403
