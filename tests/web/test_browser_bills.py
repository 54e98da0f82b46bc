"""A bill in a real browser: the bills list → a bill → one of its raw lines and the record it
became → from a break, its raw line → download raw, whose bytes hash to the bill's SHA-256;
in en and zh-hans."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from tally.errors import InputRejected
from tally.ingest.models import Source
from tally.services.importing import import_bill
from tally.synthetic import Txn, wechat_bill

from .factories import PASSWORD, make_break, make_plan, make_user
from .test_browser import CHROMIUM_ARGS, SCREENSHOTS, chromium

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AT = datetime(2026, 11, 1, 10, 0)  # Beijing time, as WeChat writes it


def build_bills() -> tuple[str, str]:
    """A gzip WeChat bill of 250 payments (253 lines) and a rejected one; returns the good
    bill's standard name and SHA-256."""
    Source.objects.create(name="wechat", kind="wechatpay", spec={"timezone": "Asia/Shanghai"})
    txns = [Txn(f"ORD-{n:04d}", 1000 + n, AT + timedelta(seconds=37 * n)) for n in range(1, 251)]
    bill = import_bill(gzip.compress(wechat_bill(txns), mtime=0), "wechat", file_name="wechat_20261101.csv.gz").bill
    bad = wechat_bill([Txn("ORD-0001", 100, AT + timedelta(days=1))]).replace(b"`1,`1.00", b"`2,`1.00")
    with pytest.raises(InputRejected):
        import_bill(bad, "wechat", file_name="wechat_20261102.csv")
    make_user("ingest.view_bill", "ingest.view_source", "breaks.view_break", username="auditor")
    theirs = {"source": "wechat", "business_day": "2026-11-01", "record_kind": "payment", "order_no": "ORD-0150",
              "amount_minor": 1150, "currency": "CNY", "bill_sha256": bill.sha256, "line_no": 151}
    make_break(make_plan("wechat_vs_shop"), day=AT.date(), detected_on=AT.date(), order_no="ORD-0150",
               kind="long", ours_amount_minor=None, theirs_amount_minor=1150, theirs=theirs, reason="only_theirs")
    return bill.name, bill.sha256


@pytest.mark.parametrize(
    ("language", "suffix", "words"),
    [
        ("en", "", {"raw": "Download raw", "lines": "View raw lines", "records": "Records of line 151",
                    "next": "Next", "rejected": "Why it was rejected"}),
        ("zh-hans", ".zh-hans", {"raw": "下载原始文件", "lines": "查看原始行", "records": "第 151 行的明细",
                                 "next": "下一页", "rejected": "拒收原因"}),
    ],
)
def test_bill_list_detail_line_and_download(live_server, tmp_path: Path, language: str, suffix: str,
                                            words: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    name, sha256 = build_bills()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True,
                                          locale="zh-CN" if language == "zh-hans" else "en-GB")
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                                  "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/bills/")
            page.locator("#id_username").fill("auditor")
            page.locator("#id_password").fill(PASSWORD)
            page.locator("form.stack button[type=submit]").click()
            expect(page).to_have_url(f"{live_server.url}/bills/")
            expect(page.locator("html")).to_have_attribute("lang", language)

            # The rejected bill: its error in parts, and nothing to download.
            page.get_by_role("link", name="wechat_20261102.csv").click()
            expect(page.locator("#error-heading")).to_have_text(words["rejected"])
            expect(page.locator(".bill-error")).to_contain_text("TOTALS_MISMATCH")
            expect(page.locator(".bill-error")).to_contain_text("wechat_20261102.csv:4")
            expect(page.get_by_role("link", name=words["raw"])).to_have_count(0)
            page.screenshot(path=SCREENSHOTS / f"bill-rejected{suffix}.png", full_page=True)
            page.go_back()

            page.get_by_role("link", name=name).click()
            expect(page).to_have_url(re.compile(r"/bills/\d+/$"))
            expect(page.locator("h1")).to_contain_text(name)
            expect(page.locator(".bill-facts")).to_contain_text(sha256)
            expect(page.locator(".bill-facts")).to_contain_text("wechat_20261101.csv.gz")
            page.screenshot(path=SCREENSHOTS / f"bill{suffix}.png", full_page=True)

            page.get_by_role("link", name=words["lines"]).click()
            expect(page).to_have_url(re.compile(r"/bills/\d+/lines/$"))
            expect(page.locator("table.rawlines tbody tr")).to_have_count(100)
            page.get_by_role("link", name=words["next"]).click()
            expect(page.locator("table.rawlines tr").first).to_have_id("L101")
            page.locator("#L151 th a").click()
            expect(page).to_have_url(re.compile(r"\?from=101&line=151#L151$"))
            expect(page.locator("#L151")).to_have_class("is-line")
            expect(page.locator("#L151 pre")).to_contain_text("`ORD-0150,")
            records = page.locator("section.line-records")
            expect(records.locator("h2")).to_have_text(words["records"])
            expect(records).to_contain_text("ORD-0150")
            expect(records).to_contain_text("11.50")  # 1150 fen
            page.evaluate("window.scrollTo(0, 0)")  # the records of the line, above its page of lines
            page.screenshot(path=SCREENSHOTS / f"bill-lines{suffix}.png")

            # A break's raw line leads to the same place.
            page.goto(f"{live_server.url}/breaks/")
            page.get_by_role("link", name="ORD-0150").click()
            expect(page.locator("pre.rawline")).to_contain_text("`ORD-0150,")
            page.locator("#raw-heading").evaluate("heading => heading.scrollIntoView()")
            page.screenshot(path=SCREENSHOTS / f"break-raw-link{suffix}.png")
            page.locator(".raw-more a").click()
            expect(page).to_have_url(re.compile(r"/bills/\d+/lines/\?line=151#L151$"))
            expect(page.locator("#L151")).to_have_class("is-line")
            expect(page.locator("#L151")).to_be_in_viewport()

            with page.expect_download() as caught:
                page.get_by_role("link", name=words["raw"]).click()
            download = caught.value
            assert download.suggested_filename == name
            saved = tmp_path / "downloaded"
            download.save_as(saved)
            assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha256
        finally:
            browser.close()
