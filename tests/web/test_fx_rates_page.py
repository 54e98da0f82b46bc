"""The FX rates page: the table with filters for every role, the CSV upload for admins (CSRF, size
limit, refused files named by code and line with nothing kept), links from the reports, Chinese."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tally.breaks.models import FxRate
from tally.services import fxrates
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db
URL = "/rates/"
GOOD = b"day,base,quote,rate\n2024-05-01,USD,CNY,7.2100\n2024-05-02,USD,CNY,7.22\n"


def client_for(role: str | None, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(f.user(role))
    return client


def upload(client: Client, data: bytes, name: str = "rates.csv") -> Any:
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def rate(day: str, base: str, quote: str, value: str) -> FxRate:
    return FxRate.objects.create(day=dt.date.fromisoformat(day), base=base, quote=quote, rate=value, source="seed.csv")


def test_the_url_and_who_may_see_the_page() -> None:
    assert reverse("fx-rates") == URL
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    assert client_for(None).get(URL).status_code == 403
    viewer = client_for("viewer").get(URL)
    assert viewer.status_code == 200
    html = viewer.content.decode()
    assert "<h1>FX rates</h1>" in html
    assert 'enctype="multipart/form-data"' not in html  # no upload form without the permission
    assert 'enctype="multipart/form-data"' in client_for("admin").get(URL).content.decode()


def test_the_table_filters_by_day_and_pair() -> None:
    rate("2024-05-01", "USD", "CNY", "7.2")
    rate("2024-05-02", "USD", "CNY", "7.21")
    rate("2024-05-02", "EUR", "CNY", "7.8")
    client = client_for("viewer")
    every = client.get(URL).content.decode()
    assert "3 rates" in every
    assert every.index("EUR/CNY") < every.index("7.21") < every.index("7.2<")  # newest day first
    usd = client.get(URL, {"base": "usd", "quote": "CNY"}).content.decode()
    assert ("2 rates" in usd, "EUR/CNY" in usd) == (True, False)
    one_day = client.get(URL, {"day": "2024-05-01"}).content.decode()
    assert "1 rate" in one_day
    assert "7.2<" in one_day
    assert "No rates match these filters." in client.get(URL, {"day": "2023-01-01"}).content.decode()
    bad = client.get(URL, {"base": "U$D"})
    assert bad.status_code == 200
    assert "Enter a three-letter currency code such as USD." in bad.content.decode()


def test_an_admin_uploads_a_good_file() -> None:
    client = client_for("admin")
    answer = upload(client, GOOD)
    assert answer.status_code == 302
    assert answer["Location"] == URL
    assert sorted(FxRate.objects.values_list("day", "rate", "source")) == [
        (dt.date(2024, 5, 1), "7.2100", "rates.csv"), (dt.date(2024, 5, 2), "7.22", "rates.csv")]
    page = client.get(URL).content.decode()
    assert "Imported the rates: 2 new, 0 changed, 0 unchanged." in page
    assert "7.2100" in page


def test_a_bad_file_names_code_and_line_and_keeps_nothing() -> None:
    rate("2024-04-30", "USD", "CNY", "7.1")
    client = client_for("admin")
    answer = upload(client, b"day,base,quote,rate\n2024-05-01,USD,CNY,7.2\n2024-05-02,USD,USD,1\n")
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'data-code="BAD_RATE"' in html
    assert "<code>BAD_RATE</code>" in html
    assert "A rate must be a positive number between two different currencies." in html
    assert "(rates.csv:3, field rate)" in html
    assert "The file was refused; no rate from it was kept." in html
    assert list(FxRate.objects.values_list("day", "rate")) == [(dt.date(2024, 4, 30), "7.1")]
    missing = upload(client, b"day,pair,rate\n2024-05-01,USD/CNY,7.2\n").content.decode()
    assert "<code>MISSING_COLUMN</code>" in missing
    empty = upload(client, b"")
    assert empty.status_code == 400
    assert "The submitted file is empty." in empty.content.decode()
    assert FxRate.objects.count() == 1


def test_a_file_over_the_limit_is_dropped_while_it_streams_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fxrates, "MAX_BYTES", 30)
    answer = upload(client_for("admin"), GOOD)
    assert answer.status_code == 400
    assert "<code>FILE_TOO_LARGE</code>" in answer.content.decode()
    assert not FxRate.objects.exists()


def test_only_admins_upload_and_csrf_is_checked() -> None:
    for role in ("viewer", "operator", "approver"):
        assert upload(client_for(role), GOOD).status_code == 403, role
    strict = client_for("admin", enforce_csrf_checks=True)
    assert upload(strict, GOOD).status_code == 403
    assert not FxRate.objects.exists()


def test_reachable_from_the_reports_and_the_fx_rule() -> None:
    client = client_for("viewer")
    assert f'href="{URL}"' in client.get(reverse("report-index")).content.decode()
    plan = f.plan(rules=[{"rule": "fx", "tolerance_bp": 50}])
    assert f'href="{URL}"' in client.get(reverse("plan-rules", args=[plan.name])).content.decode()


def test_the_page_in_chinese() -> None:
    rate("2024-05-01", "USD", "CNY", "7.2")
    client = client_for("admin")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(URL).content.decode()
    for words in ("汇率", "导入汇率", "基准货币", "报价货币", "共 1 条汇率"):
        assert words in html, words
    refused = upload(client, b"day,base,quote,rate\n2024-05-01,USD,CNY,x\n").content.decode()
    assert "文件被拒收，其中的汇率一条也未保存。" in refused
    assert "金额缺失或格式不对" in refused  # the sentence of BAD_AMOUNT; the detail stays English
    assert "(rates.csv:2, field rate)" in refused
