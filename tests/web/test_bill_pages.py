"""One bill in the back office: its facts, its raw bytes downloaded exactly, its lines numbered as
the parser numbered them, and the records a line became; every page checks ingest.view_bill."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import reverse

from tally.errors import InputRejected
from tally.ingest.models import Bill, Source
from tally.services.importing import import_bill
from tally.services.workspace import archive
from tally.synthetic import Txn, wechat_bill
from tally.web.views.bill_detail import attachment, record_rows

from .factories import make_break, make_plan, make_user, make_viewer

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 1, 10, 0)  # Beijing time, as WeChat writes it


# Factories of this module: real bills, imported through the service layer.

def wechat_source(name: str = "wechat") -> Source:
    return Source.objects.create(name=name, kind="wechatpay", spec={"timezone": "Asia/Shanghai"})


def gzip_bill(count: int = 250, *, source: str = "wechat", order_prefix: str = "A") -> tuple[Bill, bytes]:
    """A gzip WeChat bill: header (line 1), ``count`` payments (lines 2…count+1), totals."""
    txns = [Txn(f"{order_prefix}{n:04d}", 100 + n, AT + timedelta(seconds=n)) for n in range(1, count + 1)]
    data = gzip.compress(wechat_bill(txns), mtime=0)
    return import_bill(data, source, file_name=f"wechat-{count}.csv.gz").bill, data


def rejected_bill() -> Bill:
    source = Source.objects.get_or_create(name="wechat", defaults={"kind": "wechatpay"})[0]
    data = wechat_bill([Txn("A1", 100, AT)]).replace(b"`1,`1.00", b"`2,`1.00")
    with pytest.raises(InputRejected):
        import_bill(data, source.name, file_name="2026-11-01.csv")
    return Bill.objects.get(status="rejected")


def viewer() -> Client:
    client = Client()
    client.force_login(make_viewer())
    return client


def html_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# Who may see a bill

def test_every_bill_page_needs_a_login_and_view_bill() -> None:
    wechat_source()
    bill, _ = gzip_bill(3)
    urls = [reverse("bill-detail", args=[bill.pk]), reverse("bill-raw", args=[bill.pk]),
            reverse("bill-lines", args=[bill.pk])]
    for url in urls:
        anonymous = Client().get(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith(reverse("login"))
    stranger = Client()
    stranger.force_login(make_user("breaks.view_break", "ingest.view_source"))
    for url in urls:
        assert stranger.get(url).status_code == 403
    allowed = Client()
    allowed.force_login(make_user("ingest.view_bill"))
    for url in urls:
        assert allowed.get(url).status_code == 200


def test_unknown_bills_are_404_and_writes_are_refused() -> None:
    client = viewer()
    for name in ("bill-detail", "bill-raw", "bill-lines"):
        assert client.get(reverse(name, args=[999_999])).status_code == 404
    wechat_source()
    bill, _ = gzip_bill(3)
    assert client.post(reverse("bill-raw", args=[bill.pk])).status_code == 405


# The detail page

def test_detail_shows_the_bill_facts_and_links_to_its_bytes_and_lines() -> None:
    wechat_source()
    bill, data = gzip_bill(3)
    html = html_of(viewer(), reverse("bill-detail", args=[bill.pk]))
    assert bill.name == "pay_wechat_20261101_01.csv.gz"
    for text in (bill.name, "wechat-3.csv.gz", bill.sha256, "2026-11-01", "wechatpay", "v1",
                 f"{len(data)} bytes", "imported"):
        assert text in html, text
    assert f'href="{reverse("bill-raw", args=[bill.pk])}"' in html
    assert f'href="{reverse("bill-lines", args=[bill.pk])}"' in html
    assert re.search(r"<dt>Rows</dt><dd class=\"num\">3</dd>", html)
    assert '<span class="mono day-chip">2026-11-01</span>' in html


def test_a_rejected_bill_shows_its_error_in_parts_and_has_no_bytes() -> None:
    bill = rejected_bill()
    client = viewer()
    html = html_of(client, reverse("bill-detail", args=[bill.pk]))
    assert "Why it was rejected" in html
    assert "<code>TOTALS_MISMATCH</code>" in html
    assert '<dd class="mono">2026-11-01.csv:4</dd>' in html  # the totals line
    assert reverse("bill-raw", args=[bill.pk]) not in html
    assert reverse("bill-lines", args=[bill.pk]) not in html
    # Its bytes were never kept: nothing to download, no lines to show.
    assert client.get(reverse("bill-raw", args=[bill.pk])).status_code == 404
    assert client.get(reverse("bill-lines", args=[bill.pk])).status_code == 404


def test_the_bill_list_links_each_bill_to_its_page() -> None:
    wechat_source()
    bill, _ = gzip_bill(3)
    rejected = rejected_bill()
    html = html_of(viewer(), reverse("bill-list"))
    assert f'href="{reverse("bill-detail", args=[bill.pk])}">{bill.name}</a>' in html
    assert f'href="{reverse("bill-detail", args=[rejected.pk])}"' in html


# Download raw

def test_download_gives_the_exact_gzip_bytes_with_safe_headers(samples: Path) -> None:
    wechat_source()
    data = (samples / "wechatpay" / "tradebill_ALL_20210128.csv.gz").read_bytes()
    bill = import_bill(data, "wechat", file_name="tradebill_ALL_20210128.csv.gz").bill
    response = viewer().get(reverse("bill-raw", args=[bill.pk]))
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content)
    assert body == data
    assert hashlib.sha256(body).hexdigest() == bill.sha256
    assert body[:2] == b"\x1f\x8b"  # still gzip: the bytes as received, not unpacked
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="pay_wechat_20210128_01.csv.gz"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(data))
    assert not response.has_header("Content-Encoding")


def test_download_of_a_non_ascii_standard_name_uses_filename_star() -> None:
    wechat_source("微信支付")
    bill, data = gzip_bill(2, source="微信支付")
    assert bill.name == "pay_微信支付_20261101_01.csv.gz"
    response = viewer().get(reverse("bill-raw", args=[bill.pk]))
    assert b"".join(response.streaming_content) == data
    disposition = response["Content-Disposition"]
    assert disposition.isascii()
    matched = re.fullmatch(r"attachment; filename=\"([ -~]+)\"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)", disposition)
    assert matched is not None, disposition
    assert matched.group(1) == "pay______20261101_01.csv.gz"  # 微信支付: four characters, four _
    assert unquote(matched.group(2), encoding="utf-8") == bill.name


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("pay_wechat_20240501_01.csv", 'attachment; filename="pay_wechat_20240501_01.csv"'),
        ('a"b\\c.csv', "attachment; filename=\"a_b_c.csv\"; filename*=UTF-8''a%22b%5Cc.csv"),
        ("a\r\nb.csv", "attachment; filename=\"a__b.csv\"; filename*=UTF-8''a%0D%0Ab.csv"),
        ("对账单 1.csv", "attachment; filename=\"___ 1.csv\"; filename*=UTF-8''%E5%AF%B9%E8%B4%A6%E5%8D%95%201.csv"),
    ],
)
def test_content_disposition_never_lets_a_name_break_the_header(name: str, header: str) -> None:
    assert attachment(name) == header


def test_an_altered_archive_is_not_served() -> None:
    wechat_source()
    bill, data = gzip_bill(2)
    blob = archive().blob_path(bill.sha256)
    blob.chmod(0o644)
    blob.write_bytes(data + b"tampered")
    client = viewer()
    response = client.get(reverse("bill-raw", args=[bill.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("bill-detail", args=[bill.pk])
    html = html_of(client, response["Location"])
    assert "ARCHIVE_ALTERED" in html


# The raw line viewer

def line_numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="L(\d+)"', html)]


def test_lines_come_one_hundred_a_page_numbered_like_the_parser() -> None:
    wechat_source()
    bill, _ = gzip_bill(250)
    client = viewer()
    url = reverse("bill-lines", args=[bill.pk])
    first = html_of(client, url)
    assert line_numbers(first) == list(range(1, 101))
    assert "Lines 1–100 of 253" in first
    assert 'href="?from=101" rel="next"' in first
    assert 'rel="prev"' not in first
    assert re.search(r'<tr id="L2">.*?<pre>`2026-11-01 10:00:01,.*?,`A0001,', first, flags=re.S)

    second = html_of(client, url + "?from=101")
    assert line_numbers(second) == list(range(101, 201))
    assert 'href="?from=1" rel="prev"' in second
    assert 'href="?from=201" rel="next"' in second
    last = html_of(client, url + "?from=201")
    assert line_numbers(last) == list(range(201, 254))
    assert "Lines 201–253 of 253" in last
    assert 'rel="next"' not in last
    assert re.search(r'<tr id="L253">.*?<pre>`250,', last, flags=re.S)  # the totals line
    # Nonsense is read as no number, and a page past the end shows the last line.
    assert line_numbers(html_of(client, url + "?from=abc&line=-3")) == list(range(1, 101))
    assert line_numbers(html_of(client, url + "?from=9999")) == [253]


def test_a_chosen_line_is_highlighted_on_its_page_with_its_record() -> None:
    wechat_source()
    bill, _ = gzip_bill(250)
    html = html_of(viewer(), reverse("bill-lines", args=[bill.pk]) + "?line=151")
    assert line_numbers(html) == list(range(101, 201))  # the page that holds line 151
    assert '<tr id="L151" class="is-line" aria-current="location">' in html
    assert html.count('class="is-line"') == 1
    assert 'href="?from=101&amp;line=152#L152"' in html  # every number links to itself
    records = html.split('aria-labelledby="records-heading"', 1)[1].split("</section>", 1)[0]
    assert "Records of line 151" in records
    assert "A0150" in records
    assert ">2.50</td>" in records  # 250 fen, exact
    assert "2026-11-01 10:02:30+08:00" in records  # the time as the line writes it
    assert "Record 2" not in records
    assert "<th scope=\"row\">Quantity</th>" not in records  # a money bill has no SKU fields
    assert "<th scope=\"row\">Record kind</th>" in records


def test_record_rows_show_sku_fields_when_a_record_has_them() -> None:
    base = {"source": "stock", "business_day": dt.date(2026, 11, 1), "record_kind": "other", "order_no": None,
            "amount_minor": 0, "fee_minor": 0, "discount_minor": 0, "currency": "CNY", "item": None,
            "quantity": None, "bill_sha256": "a" * 64, "line_no": 2, "warehouse": "SH"}
    rows = record_rows([base, {**base, "item": "SKU-1", "quantity": 3}])
    shown = {row.label: [value for value, _ in row.cells] for row in rows}
    assert shown["item"] == [None, "SKU-1"]
    assert shown["quantity"] == [None, 3]
    assert shown["business day"] == ["2026-11-01", "2026-11-01"]
    assert shown["record kind"] == ["other", "other"]
    assert shown["warehouse"] == ["SH", "SH"]  # a column beyond the contract's is still shown
    assert "bill_sha256" not in shown
    assert "line_no" not in shown
    assert list(shown).count("item") == 1
    assert [row.is_money for row in rows if row.label in ("amount", "fee", "discount")] == [True] * 3
    assert record_rows([base])[-1].label == "warehouse"
    assert "item" not in {r.label for r in record_rows([base])}


@pytest.mark.parametrize(("line", "says"), [
    ("1", "This line became no record"),
    ("253", "This line became no record"),
    ("254", "Line 254 is past the end: the bill has 253 lines."),
])
def test_lines_without_records_say_why(line: str, says: str) -> None:
    wechat_source()
    bill, _ = gzip_bill(250)
    html = html_of(viewer(), reverse("bill-lines", args=[bill.pk]) + f"?line={line}")
    assert says in html


def test_raw_text_is_escaped() -> None:
    wechat_source()
    txns = [Txn("<script>alert(1)</script>", 100, AT)]
    bill = import_bill(wechat_bill(txns), "wechat", file_name="x.csv").bill
    html = html_of(viewer(), reverse("bill-lines", args=[bill.pk]) + "?line=2")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_missing_lake_file_is_said_on_the_page() -> None:
    wechat_source()
    bill, _ = gzip_bill(3)
    for path in (archive().root.parent / "lake").rglob("*.parquet"):
        path.unlink()
    html = html_of(viewer(), reverse("bill-lines", args=[bill.pk]) + "?line=2")
    assert "LAKE_MISSING" in html
    assert line_numbers(html) == [1, 2, 3, 4, 5, 6]  # the raw lines still show


# The break detail links its raw lines to the bill

def test_break_raw_lines_link_to_the_bill_line_viewer() -> None:
    wechat_source()
    bill, _ = gzip_bill(3)
    theirs = {"source": "wechat", "business_day": "2026-11-01", "record_kind": "payment", "order_no": "A0002",
              "amount_minor": 102, "currency": "CNY", "bill_sha256": bill.sha256, "line_no": 3}
    brk = make_break(make_plan(), order_no="A0002", theirs=theirs, theirs_amount_minor=102)
    html = html_of(viewer(), reverse("break-detail", args=[brk.pk]))
    link = f'{reverse("bill-lines", args=[bill.pk])}?line=3#L3'
    assert f'href="{link}"' in html
    assert f'href="{reverse("bill-detail", args=[bill.pk])}">{bill.name}</a>' in html
    assert re.search(r'<pre class="rawline"[^>]*>`2026-11-01 10:00:02,.*?`A0002,', html)
