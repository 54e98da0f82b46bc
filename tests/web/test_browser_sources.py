"""Adding a channel in a real browser: upload a GB18030 sample → adjust the mapping → preview with
a bad row → save; then a bill of the new source is imported through the service layer (en and zh-hans)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.conf import settings

from tally.ingest.models import Source
from tally.services.importing import import_bill
from tally.services.workspace import lake

from .factories import PASSWORD, make_user
from .test_browser import CHROMIUM_ARGS, SCREENSHOTS, chromium

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLE = (
    "某某商城交易明细\n"
    "导出时间：2026-11-02 08:00\n"
    "商户订单号,退款单号,订单金额(元),下单时间,交易类型,备注\n"
    "A1,,12.34,2026-11-01 10:00:00,支付,一\n"
    "A1,RA1,2.00,2026-11-01 11:00:00,退款,二\n"
    "A2,,12.x4,2026-11-01 12:00:00,支付,三\n"
)


@pytest.mark.parametrize(("language", "suffix", "words"), [
    ("en", "", {"new": "New table source", "detect": "Upload and detect",
                "header": "Header found on line 3: 6 columns.", "preview": "Preview", "read": "3 rows read",
                "save": "Save source", "saved": "saved as version 1"}),
    ("zh-hans", ".zh-hans", {"new": "新建表格账源", "detect": "上传并识别", "header": "表头在第 3 行：共 6 列。",
                             "preview": "预览", "read": "已读取 3 行", "save": "保存账源", "saved": "已保存为版本 1"}),
])
def test_upload_adjust_preview_save_then_import(live_server, tmp_path: Path, language: str, suffix: str,
                                                words: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    make_user("ingest.view_source", "ingest.add_source", "ingest.change_source", "ingest.view_bill",
              username="maker")
    sample = tmp_path / "商城订单.csv"
    sample.write_bytes(SAMPLE.encode("gb18030"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="zh-CN" if language == "zh-hans" else "en-GB")
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                                  "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/sources/")
            page.locator("#id_username").fill("maker")
            page.locator("#id_password").fill(PASSWORD)
            page.locator("form.stack button[type=submit]").click()
            expect(page).to_have_url(f"{live_server.url}/sources/")

            page.get_by_role("link", name=words["new"]).click()
            page.set_input_files("#id_sample", str(sample))
            page.get_by_role("button", name=words["detect"]).click()
            expect(page).to_have_url(re.compile(r"/sources/new/[\w-]+/$"))
            expect(page.locator("#file-heading + .hint")).to_contain_text(words["header"])
            expect(page.locator("#id_encoding")).to_have_value("gb18030")
            expect(page.locator("#id_col_order_no")).to_have_value("商户订单号")
            expect(page.locator("#id_col_occurred_at")).to_have_value("下单时间")

            # Adjust: a name of our own, the currency, and the refund number is not kept.
            page.locator("#id_name").fill("mall_orders")
            page.locator("#id_currency").fill("CNY")
            page.select_option("#id_col_refund_no", "")
            page.get_by_role("button", name=words["preview"]).click()  # htmx swaps the form with its preview
            preview = page.locator("section.preview")
            expect(preview).to_contain_text(words["read"])
            errors = preview.locator("table.errors tbody tr")
            expect(errors).to_have_count(1)
            expect(errors.first).to_contain_text("BAD_AMOUNT")
            expect(errors.first).to_contain_text("6")
            expect(errors.first).to_contain_text("订单金额(元)")
            records = preview.locator("table.records tbody tr")
            expect(records).to_have_count(2)
            expect(records.nth(1)).to_contain_text("-2.00")
            expect(page.locator("#id_currency")).to_have_value("CNY")  # the swapped form keeps the choices
            page.screenshot(path=SCREENSHOTS / f"source-preview{suffix}.png", full_page=True)

            page.get_by_role("button", name=words["save"]).click()
            expect(page).to_have_url(f"{live_server.url}/sources/mall_orders/")
            expect(page.locator("h1")).to_contain_text("mall_orders")
            expect(page.locator("table.versions tbody tr")).to_have_count(1)
            expect(page.locator(".notice")).to_contain_text(words["saved"])
        finally:
            browser.close()

    source = Source.objects.get(name="mall_orders")
    assert "refund_no" not in source.spec["columns"]
    bill = import_bill(SAMPLE.replace("12.x4", "3.00").encode("gb18030"), "mall_orders",
                       file_name="mall_20261101.csv").bill
    assert (bill.rows, bill.source_version.number) == (3, 1)
    table = pq.read_table(lake().record_path("mall_orders", bill.business_day, bill.sha256))
    rows = sorted(table.to_pylist(), key=lambda r: r["line_no"])
    assert [(r["order_no"], r["record_kind"], r["amount_minor"], r["refund_no"], r["line_no"]) for r in rows] == [
        ("A1", "payment", 1234, None, 4), ("A1", "refund", -200, None, 5), ("A2", "payment", 300, None, 6)]
