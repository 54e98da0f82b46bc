"""The source pages: list, detail with versions and their differences, and the new table source
steps (upload → map → preview → save), with permissions, CSRF and the upload limit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tally.ingest.models import Source
from tally.services.importing import import_bill
from tally.services.sources import declare

from .factories import make_user, make_viewer

pytestmark = pytest.mark.django_db

SAMPLE = (
    "某某商城交易明细\n"
    "导出时间：2026-11-02 08:00\n"
    "商户订单号,退款单号,订单金额(元),支付时间,交易类型,备注\n"
    "A1,,12.34,2026-11-01 10:00:00,支付,一\n"
    "A1,RA1,2.00,2026-11-01 11:00:00,退款,二\n"
    "A2,,12.x4,2026-11-01 12:00:00,支付,三\n"
).encode("gb18030")
OPERATOR_PERMS = ("ingest.view_source", "ingest.add_source", "ingest.change_source", "ingest.view_bill")


def operator() -> Client:
    client = Client()
    client.force_login(make_user(*OPERATOR_PERMS))
    return client


def upload(client: Client, data: bytes = SAMPLE, name: str = "shop_orders.csv") -> str:
    response = client.post(reverse("source-new"), {"sample": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(response["Location"])


def selected(html: str, name: str) -> str | None:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, flags=re.S)
    assert select is not None, name
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else None


def form_data(html: str) -> dict[str, Any]:
    """What a browser would post: every input and the selected option of every select."""
    data: dict[str, Any] = {}
    for name, value in re.findall(r'<input type="(?:text|hidden)" name="([^"]+)" value="([^"]*)"', html):
        data[name] = value.replace("&amp;", "&")
    for name in re.findall(r'<select name="([^"]+)"', html):
        data[name] = selected(html, name) or ""
    data.pop("csrfmiddlewaretoken", None)
    return data


def test_upload_detects_gb18030_title_lines_and_proposes_a_mapping() -> None:
    client = operator()
    url = upload(client)
    html = client.get(url).content.decode()
    assert "Header found on line 3: 6 columns." in html
    assert "gb18030" in html
    assert selected(html, "col_order_no") == "商户订单号"
    assert selected(html, "col_refund_no") == "退款单号"
    assert selected(html, "col_amount_minor") == "订单金额(元)"
    assert selected(html, "col_occurred_at") == "支付时间"
    assert selected(html, "col_record_kind") == "交易类型"
    assert selected(html, "kind_0") == "payment"
    assert selected(html, "kind_1") == "refund"
    assert selected(html, "encoding") == "gb18030"
    assert 'name="name" value="shop_orders"' in html


def test_preview_shows_records_and_every_row_error_then_save_makes_a_usable_source() -> None:
    client = operator()
    url = upload(client)
    data = {**form_data(client.get(url).content.decode()), "currency": "CNY", "action": "preview"}
    html = client.post(url, data).content.decode()
    assert "3 rows read" in html
    assert "1 row error" in html
    errors = re.search(r'<table class="data errors">.*?</table>', html, flags=re.S)
    assert errors is not None
    assert re.search(r"<td class=\"num\">6</td><td><code>BAD_AMOUNT</code></td><td class=\"mono\">订单金额\(元\)</td>",
                     errors.group(0))
    records = re.search(r'<table class="data records">.*?</table>', html, flags=re.S)
    assert records is not None
    assert "12.34" in records.group(0)
    assert "-2.00" in records.group(0)
    assert not Source.objects.exists()  # a preview saves nothing

    response = client.post(url, {**data, "action": "save"})
    assert response.status_code == 302
    assert response["Location"] == reverse("source-detail", args=["shop_orders"])
    source = Source.objects.get(name="shop_orders")
    version = source.versions.get()
    assert (version.number, version.via, version.created_by is not None) == (1, "web", True)
    assert source.spec["columns"]["order_no"] == "商户订单号"
    assert source.spec["values"]["record_kind"] == {"支付": "payment", "退款": "refund"}
    good = SAMPLE.replace(b"12.x4", b"3.00")
    bill = import_bill(good, "shop_orders", file_name="orders.csv").bill
    assert (bill.rows, bill.source_version_id) == (3, version.pk)
    assert client.get(url).status_code == 404  # the sample is gone once saved
    detail = client.get(response["Location"]).content.decode()
    assert "v1" in detail
    assert bill.name in detail


def test_a_bad_mapping_is_refused_with_its_reason_and_a_taken_name_too() -> None:
    client = operator()
    url = upload(client)
    data = {**form_data(client.get(url).content.decode()), "action": "preview", "currency": "",
            "col_amount_minor": "", "col_occurred_at": ""}
    html = client.post(url, data).content.decode()
    assert "BAD_SOURCE" in html
    declare("shop_orders", {"kind": "wechatpay"}, via="apply")
    data = {**form_data(client.get(url).content.decode()), "currency": "CNY", "action": "save"}
    html = client.post(url, data).content.decode()
    assert "SOURCE_EXISTS" in html


def test_reading_the_file_again_with_other_settings() -> None:
    client = operator()
    text = "out_trade_no;total;paid_at\nA1;1.00;2026-11-01 10:00:00\n"
    url = upload(client, text.encode(), "export.txt")
    html = client.get(url).content.decode()
    assert selected(html, "delimiter") == ";"
    assert selected(html, "col_order_no") == "out_trade_no"
    data = {**form_data(html), "delimiter": ",", "action": "reread"}
    html = client.post(url, data).content.decode()
    assert "Header found on line 1: 1 column." in html  # read with commas, the header is one cell
    assert selected(html, "delimiter") == ","


def test_htmx_preview_swaps_only_the_mapping() -> None:
    client = operator()
    url = upload(client)
    data = {**form_data(client.get(url).content.decode()), "currency": "CNY", "action": "preview"}
    html = client.post(url, data, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="mapping").content.decode()
    assert html.startswith('<form id="mapping"')
    assert "<html" not in html
    response = client.post(url, {**data, "action": "save"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="mapping")
    assert response["HX-Redirect"] == reverse("source-detail", args=["shop_orders"])


def test_permissions_csrf_and_ownership() -> None:
    viewer = Client()
    viewer.force_login(make_viewer())
    assert viewer.get(reverse("source-new")).status_code == 403
    assert viewer.post(reverse("source-new"), {"sample": SimpleUploadedFile("a.csv", SAMPLE)}).status_code == 403
    url = upload(operator())
    assert viewer.get(url).status_code == 403
    assert operator().get(url).status_code == 404  # another operator's sample
    assert Client().get(reverse("source-new")).status_code == 302  # to the login page

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user(*OPERATOR_PERMS))
    assert strict.post(reverse("source-new"), {"sample": SimpleUploadedFile("a.csv", SAMPLE)}).status_code == 403
    page = strict.get(reverse("source-new")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = strict.post(reverse("source-new"), {"sample": SimpleUploadedFile("a.csv", SAMPLE),
                                                   "csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302


def test_the_upload_limit(settings: Any) -> None:
    settings.TALLY_UPLOAD_MAX_BYTES = 1024
    client = operator()
    response = client.post(reverse("source-new"), {"sample": SimpleUploadedFile("big.csv", b"x" * 5000)})
    # Refused before the file is read: by the request-size guard when the client declares the length,
    # else by the page's own upload handler while the bytes stream in.
    assert response.status_code == 413
    assert re.search(r"upload limit|larger than the limit", response.content.decode())
    assert not (settings.TALLY_HOME / "samples").exists() or not any((settings.TALLY_HOME / "samples").iterdir())


def test_source_list_and_detail_with_versions_and_their_difference() -> None:
    spec = {"kind": "table", "currency": "CNY", "columns": {"order_no": "单号", "amount_minor": "金额",
                                                            "occurred_at": "时间"}}
    declare("shop", spec, via="apply")
    declare("shop", {**spec, "amount_unit": "minor"}, via="web", by=make_user(username="lin"))
    viewer = Client()
    viewer.force_login(make_user("ingest.view_source", "ingest.view_bill"))
    html = viewer.get(reverse("source-list")).content.decode()
    assert 'href="/sources/shop/"' in html
    assert "v2" in html
    assert "New table source" not in html  # a viewer cannot add one
    detail = viewer.get(reverse("source-detail", args=["shop"])).content.decode()
    assert "lin" in detail
    assert re.search(r'<tr class="differs"><th scope="row" class="mono">amount_unit</th><td class="mono">—</td>'
                     r'<td class="mono">minor</td>', detail)
    same = viewer.get(reverse("source-detail", args=["shop"]), {"a": 2, "b": 2}).content.decode()
    assert "The two versions are the same." in same
    assert viewer.get(reverse("source-detail", args=["nope"])).status_code == 404


def test_the_new_source_steps_in_chinese() -> None:
    client = operator()
    client.cookies["django_language"] = "zh-hans"
    url = upload(client)
    html = client.get(url).content.decode()
    for word in ("映射列", "表头在第 3 行：共 6 列。", "标准列", "文件列", "预览", "保存账源", "商户订单号"):
        assert word in html, word
    data = {**form_data(html), "currency": "CNY", "action": "preview"}
    html = client.post(url, data).content.decode()
    for word in ("已读取 3 行", "1 行有错误", "错误码"):
        assert word in html, word


def test_a_workbook_sample_chooses_its_sheet() -> None:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本文件包含两张表"])
    sheet = book.create_sheet("明细")
    for row in (["Order ID", "Amount", "Created"], ["A1", 1.5, "2026-11-01 10:00:00"]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    client = operator()
    url = upload(client, out.getvalue(), "report.xlsx")
    html = client.get(url).content.decode()
    assert selected(html, "format") == "xlsx"
    assert selected(html, "sheet") == "说明"
    assert 'name="delimiter"' not in html  # not a setting of a workbook
    html = client.post(url, {**form_data(html), "sheet": "明细", "action": "reread"}).content.decode()
    assert selected(html, "col_order_no") == "Order ID"
    data = {**form_data(html), "currency": "USD", "action": "preview"}
    html = client.post(url, data).content.decode()
    assert "1 row read" in html
    assert "1.50" in html


def test_changing_the_mapping_of_a_table_source_adds_a_version() -> None:
    client = operator()
    url = upload(client)
    data = {**form_data(client.get(url).content.decode()), "currency": "CNY", "action": "save"}
    detail_url = client.post(url, data)["Location"]
    detail = client.get(detail_url).content.decode()
    change = f'{reverse("source-new")}?source=shop_orders'
    assert f'href="{change}"' in detail

    response = client.post(change, {"sample": SimpleUploadedFile("again.csv", SAMPLE)})
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Save as a new version" in html
    assert 'name="currency" value="CNY"' in html  # starts from the current declaration
    assert selected(html, "kind_0") == "payment"
    data = {**form_data(html), "sign": "as_is", "action": "save"}
    assert data["name"] == "shop_orders"
    response = client.post(response["Location"], data)
    assert response["Location"] == detail_url
    source = Source.objects.get(name="shop_orders")
    assert list(source.versions.values_list("number", flat=True)) == [2, 1]
    assert source.spec["sign"] == "as_is"
    assert "saved as version 2" in client.get(detail_url).content.decode()

    adder = Client()
    adder.force_login(make_user("ingest.view_source", "ingest.add_source"))
    assert adder.get(change).status_code == 403  # adding is not changing
    assert client.get(f'{reverse("source-new")}?source=nope').status_code == 404
