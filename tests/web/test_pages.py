"""What the dashboard, the break list, the break detail and the bill list show."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from tally.services import bills as bill_service

from .factories import DAY, make_bill, make_break, make_day_result, make_plan, make_source, make_viewer

pytestmark = pytest.mark.django_db


def viewer_client() -> Client:
    client = Client()
    client.force_login(make_viewer())
    return client


def fake_raw_lines(monkeypatch: pytest.MonkeyPatch, raw_line: Callable[[str, int], str | None]) -> None:
    """Stand in for ``tally.services.bills.raw_line`` (the archive is not under test here)."""
    monkeypatch.setattr(bill_service, "raw_line", raw_line)


def rows_of(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", body, flags=re.S)


# Dashboard

def test_dashboard_cells_link_to_the_breaks_of_their_plan_and_day() -> None:
    plan = make_plan("wechat_vs_shop")
    make_day_result(plan, DAY, matched=120, pending=3, short=1, long=2, mismatch=4)
    make_day_result(plan, DAY + dt.timedelta(days=1), matched=98)
    html = viewer_client().get(reverse("dashboard")).content.decode()
    cell = re.search(r'<td class="heat-(\d)">\s*<a href="([^"]+)"[^>]*>\s*'
                     r'<span class="cell-breaks">7</span>', html)
    assert cell is not None
    assert cell.group(1) == "2"  # 7 breaks: the 3–9 step
    url = urlsplit(cell.group(2).replace("&amp;", "&"))
    assert url.path == reverse("break-list")
    assert parse_qs(url.query) == {"plan": ["wechat_vs_shop"], "day": ["2024-05-01"]}
    assert '<td class="heat-0">' in html  # the clean day
    assert "120 · 3" in html  # matched · pending


def test_dashboard_counts_open_breaks_by_kind() -> None:
    plan = make_plan()
    make_break(plan, kind="short", theirs_amount_minor=None)
    make_break(plan, kind="short", theirs_amount_minor=None)
    make_break(plan, kind="long", ours_amount_minor=None)
    make_break(plan, kind="mismatch", status="resolved")
    html = viewer_client().get(reverse("dashboard")).content.decode()
    tile = r'<span class="tile-n">(\d+)</span><span class="tile-label">([^<]+)</span>'
    tiles = dict(re.findall(tile, html))
    assert tiles == {"3": "All open", "2": "Short", "1": "Long", "0": "Mismatch"}


def test_dashboard_lists_latest_bills_and_says_when_nothing_ran() -> None:
    make_bill(make_source("wechat"), name="pay_wechat_20240501_01.csv", rows=42)
    make_bill(make_source("alipay"), name="pay_alipay_20240501_01.csv", status="rejected", rows=0,
              error_code="TOTALS_MISMATCH", error="total 3 rows, parsed 2")
    make_plan()
    html = viewer_client().get(reverse("dashboard")).content.decode()
    assert "pay_wechat_20240501_01.csv" in html
    assert "TOTALS_MISMATCH" in html
    assert "No day has been reconciled yet" in html


# Break list

def test_break_list_shows_the_columns_with_exact_money() -> None:
    plan = make_plan("p1")
    make_break(plan, order_no="ORD-CNY", currency="CNY", ours_amount_minor=1, theirs_amount_minor=2)
    make_break(plan, order_no="ORD-JPY", currency="JPY", ours_amount_minor=5, theirs_amount_minor=None,
               kind="short", reason="only_ours", refund_no="RF-9", record_kind="refund")
    html = viewer_client().get(reverse("break-list")).content.decode()
    rows = {re.search(r"ORD-\w+", row).group(0): row for row in rows_of(html)}  # type: ignore[union-attr]
    cny = re.findall(r'<td class="num">([^<]*)</td>', rows["ORD-CNY"])
    jpy = re.findall(r'<td class="num">([^<]*)</td>', rows["ORD-JPY"])
    assert cny == ["0.01", "0.02"]
    assert jpy == ["5", "—"]
    assert 'class="badge kind-short"' in rows["ORD-JPY"]
    assert "RF-9" in rows["ORD-JPY"]
    assert "refund" in rows["ORD-JPY"]
    assert "only in our records" in rows["ORD-JPY"]
    assert "2 breaks" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"plan": "p1"}, {"A", "B", "C"}),
        ({"plan": "p1", "day": "2024-05-02"}, {"B"}),
        ({"kind": "short"}, {"C"}),
        ({"status": "suspended"}, {"B"}),
        ({"record_kind": "refund"}, {"D"}),
        ({"order_no": "A"}, {"A"}),
        ({"day": "not-a-date"}, set()),  # an invalid filter shows its error and no rows
        ({"plan": "no-such-plan", "kind": "long"}, set()),
    ],
)
def test_break_list_filters(query: dict[str, str], expected: set[str]) -> None:
    p1, p2 = make_plan("p1"), make_plan("p2")
    make_break(p1, order_no="A")
    make_break(p1, order_no="B", day=DAY + dt.timedelta(days=1), status="suspended")
    make_break(p1, order_no="C", kind="short", theirs_amount_minor=None)
    make_break(p2, order_no="D", record_kind="refund", kind="long", ours_amount_minor=None)
    response = viewer_client().get(reverse("break-list"), query)
    assert response.status_code == 200
    html = response.content.decode()
    shown = set(re.findall(r'<td class="mono"><a href="/breaks/\d+/">(\w+)</a>', html))
    if query.get("plan") == "no-such-plan":
        assert "Select a valid choice" in html
    if query.get("day") == "not-a-date":
        assert "Enter a valid date" in html
    assert shown == expected


def test_break_list_pages_by_fifty_and_keeps_the_filters() -> None:
    plan = make_plan("big")
    for n in range(51):
        make_break(plan, order_no=f"N{n:03d}")
    make_break(make_plan("other"), order_no="X")
    client = viewer_client()
    first = client.get(reverse("break-list"), {"plan": "big"}).content.decode()
    assert len(rows_of(first)) == 50
    assert "51 breaks" in first
    assert 'href="?plan=big&amp;page=2"' in first
    second = client.get(reverse("break-list"), {"plan": "big", "page": "2"}).content.decode()
    assert len(rows_of(second)) == 1
    assert client.get(reverse("break-list"), {"page": "999"}).status_code == 200


def test_break_list_answers_htmx_with_the_results_only() -> None:
    make_break(order_no="HX1")
    response = viewer_client().get(reverse("break-list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = response.content.decode()
    assert html.startswith('<div id="results"')
    assert "HX1" in html
    assert "<html" not in html
    boosted = viewer_client().get(reverse("break-list"), HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true",
                                  HTTP_HX_TARGET="results")
    assert "<html" in boosted.content.decode()


# Break detail

def test_break_detail_shows_both_sides_highlights_differences_and_raw_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = {("ab" * 32, 3): "ORD-1001,12.34,CNY", ("cd" * 32, 9): "`2024-05-01 10:03:04,`ORD-1001,`12.00"}
    fake_raw_lines(monkeypatch, lambda sha, line: lines.get((sha, line)))
    brk = make_break(order_no="ORD-1001", ours_amount_minor=1234, theirs_amount_minor=1200)
    html = viewer_client().get(reverse("break-detail", args=[brk.pk])).content.decode()
    differs = re.findall(r'<tr class="differs">\s*<th scope="row">([^<]+)</th>', html)
    assert set(differs) == {"Source", "Amount"}
    assert "12.34" in html
    assert "12.00" in html
    assert "0.34" in html  # ours − theirs
    assert "<pre" in html
    assert "ORD-1001,12.34,CNY</pre>" in html
    assert "`ORD-1001,`12.00</pre>" in html
    assert "pay_shop_20240501_01.csv" in html
    assert "pay_wechat_20240501_01.csv" in html


def test_break_detail_of_a_one_sided_break(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_raw_lines(monkeypatch, lambda sha, line: None)
    brk = make_break(kind="short", theirs_amount_minor=None, reason="only_ours")
    html = viewer_client().get(reverse("break-detail", args=[brk.pk])).content.decode()
    assert "no record on their side" in html
    assert 'class="differs"' not in html
    assert "No record on this side." in html
    assert "The raw line is not available." in html


def test_break_detail_escapes_raw_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_raw_lines(monkeypatch, lambda sha, line: "<script>alert(1)</script>")
    brk = make_break()
    html = viewer_client().get(reverse("break-detail", args=[brk.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_break_is_404() -> None:
    assert viewer_client().get(reverse("break-detail", args=[999999])).status_code == 404


# Bills

def test_bill_list_shows_bills_and_filters_by_source_and_status() -> None:
    wechat, alipay = make_source("wechat"), make_source("alipay")
    make_bill(wechat, name="pay_wechat_20240501_01.csv", rows=42)
    make_bill(alipay, name="pay_alipay_20240501_01.csv", status="rejected", rows=0,
              error_code="TOTALS_MISMATCH", error="total 3 rows, parsed 2")
    client = viewer_client()
    html = client.get(reverse("bill-list")).content.decode()
    assert "pay_wechat_20240501_01.csv" in html
    assert '<td class="num">42</td>' in html
    assert "total 3 rows, parsed 2" in html
    only = client.get(reverse("bill-list"), {"status": "rejected"}).content.decode()
    assert "pay_alipay_20240501_01.csv" in only
    assert "pay_wechat_20240501_01.csv" not in only
    by_source = client.get(reverse("bill-list"), {"source": "wechat"}).content.decode()
    assert "pay_alipay_20240501_01.csv" not in by_source


def test_a_rejected_bill_names_its_code_once() -> None:
    make_bill(make_source("alipay"), name="pay_alipay_20240502_01.csv", status="rejected", rows=0,
              error_code="BAD_AMOUNT", error="error[BAD_AMOUNT]: 'abc' is not an amount (line 3)")
    html = viewer_client().get(reverse("bill-list")).content.decode()
    assert html.count("BAD_AMOUNT") == 1
