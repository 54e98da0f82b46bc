"""The data browser on a real lake: filters, search, sort, keyset pages, counts, exports (jobs), access."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from tally.ingest.models import Source

from .factories import export, jobs_inline
from .office_factories import DAY, lake_bill, role_user

pytestmark = pytest.mark.django_db


def viewer_client() -> Client:
    client = Client()
    client.force_login(role_user("viewer"))
    return client


def rows_of(response) -> list[dict]:
    return response.context["rows"]


def test_first_page_of_a_day_in_bill_order() -> None:
    bill = lake_bill(n=120)
    response = viewer_client().get(reverse("browser"), {"source": bill.source.name, "first": DAY.isoformat()})
    assert response.status_code == 200
    rows = rows_of(response)
    assert [r["line_no"] for r in rows] == list(range(2, 52))
    assert b"ORD-0501-00000" in response.content
    assert response.context["next_query"]


def test_following_the_next_links_visits_every_record_once() -> None:
    bill = lake_bill(n=120)
    client = viewer_client()
    url = f"{reverse('browser')}?source={bill.source.name}&first={DAY}"
    seen = []
    while url:
        response = client.get(url)
        seen += [r["line_no"] for r in rows_of(response)]
        url = f"{reverse('browser')}?{response.context['next_query']}" if response.context["next_query"] else None
    assert seen == list(range(2, 122))


def test_a_range_spans_days_and_bills_and_pages_through_all_of_them() -> None:
    source = Source.objects.create(name="shop", kind="table")
    for offset in range(3):
        lake_bill(source, DAY + dt.timedelta(days=offset), n=30)
    client = viewer_client()
    url = f"{reverse('browser')}?source=shop&first={DAY}&last={DAY + dt.timedelta(days=2)}&sort=amount_minor&order=desc"
    amounts = []
    while url:
        response = client.get(url)
        amounts += [r["amount_minor"] for r in rows_of(response)]
        url = f"{reverse('browser')}?{response.context['next_query']}" if response.context["next_query"] else None
    assert len(amounts) == 90
    assert amounts == sorted(amounts, reverse=True)


def test_search_finds_an_order_or_refund_number() -> None:
    bill = lake_bill(n=200)
    client = viewer_client()
    by_order = client.get(reverse("browser"), {"source": bill.source.name, "first": DAY, "q": "ORD-0501-00137"})
    assert [r["line_no"] for r in rows_of(by_order)] == [139]
    by_refund = client.get(reverse("browser"), {"source": bill.source.name, "first": DAY, "q": "RF-00004"})
    assert [r["order_no"] for r in rows_of(by_refund)] == ["ORD-0501-00004"]
    nothing = client.get(reverse("browser"), {"source": bill.source.name, "first": DAY, "q": "ORD-NOPE"})
    assert rows_of(nothing) == []
    assert b"No record matches" in nothing.content


def test_filter_by_kind_and_count() -> None:
    bill = lake_bill(n=100)
    client = viewer_client()
    params = {"source": bill.source.name, "first": DAY, "record_kind": "refund"}
    response = client.get(reverse("browser"), params)
    assert {r["record_kind"] for r in rows_of(response)} == {"refund"}
    assert len(rows_of(response)) == 20
    count = client.get(reverse("browser-count"), params)
    assert count.status_code == 200
    assert b"20 records" in count.content


def test_amounts_are_formatted_per_currency() -> None:
    bill = lake_bill(n=3, currency="JPY", amount_minor=1234)
    response = viewer_client().get(reverse("browser"), {"source": bill.source.name, "first": DAY})
    assert b">1234<" in response.content.replace(b" ", b"")
    cny = lake_bill(n=3, amount_minor=1234)
    response = viewer_client().get(reverse("browser"), {"source": cny.source.name, "first": DAY})
    assert b">12.34<" in response.content.replace(b" ", b"")


def test_csv_export_is_the_filtered_set_and_spreadsheet_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    bill = lake_bill(n=60, status="=HYPERLINK(\"http://evil\")")
    response, data = export(viewer_client(), reverse("browser-export", args=["csv"]),
                            {"source": bill.source.name, "first": DAY, "record_kind": "refund"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{bill.source.name}_20240501_20240501.csv"'
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 12
    assert {r["record_kind"] for r in rows} == {"refund"}
    assert all(r["status"].startswith("'=") for r in rows)
    assert rows[0]["amount"].startswith("-")


def test_xlsx_export(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    bill = lake_bill(n=30)
    response, data = export(viewer_client(), reverse("browser-export", args=["xlsx"]),
                            {"source": bill.source.name, "first": DAY})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.max_row == 31
    assert sheet.cell(1, 4).value == "order_no"


def test_bad_range_and_stale_cursor_are_explained_not_500() -> None:
    bill = lake_bill(n=10)
    client = viewer_client()
    backwards = client.get(reverse("browser"),
                           {"source": bill.source.name, "first": DAY, "last": DAY - dt.timedelta(1)})
    assert backwards.status_code == 200
    assert b"ends before it starts" in backwards.content
    stale = client.get(reverse("browser"), {"source": bill.source.name, "first": DAY, "after": ["x", "y", "z"]})
    assert stale.status_code == 200
    assert b"BAD_CURSOR" in stale.content


def test_a_day_without_bills_says_so() -> None:
    bill = lake_bill(n=10)
    response = viewer_client().get(reverse("browser"), {"source": bill.source.name, "first": "2020-01-01"})
    assert b"no imported bill for these days" in response.content


def test_browser_needs_login_and_view_bill() -> None:
    lake_bill(n=5)
    assert Client().get(reverse("browser")).status_code == 302
    client = Client()
    client.force_login(role_user(None))
    assert client.get(reverse("browser")).status_code == 403
    assert client.post(reverse("browser-export", args=["csv"])).status_code == 403
