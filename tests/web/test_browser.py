"""The back office in a real browser: log in, dashboard → break list → break detail, in en and zh-hans.

Drives Debian's Chromium through Playwright against pytest-django's live server and saves the
screenshots the README shows (docs/screenshots/).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from tally.ingest.models import Bill
from tally.services import bills as bill_service

from .factories import PASSWORD, make_bill, make_break, make_day_result, make_plan, make_source, make_user

# Playwright's sync API runs an event loop in this thread; the ORM calls here are still synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Screenshots go where TALLY_SCREENSHOTS says (`docs/screenshots` to refresh the README's),
# else to a scratch folder, so a test run never edits tracked files.
SCREENSHOTS = Path(os.environ.get("TALLY_SCREENSHOTS") or tempfile.mkdtemp(prefix="tally-screenshots-"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
DAY = dt.date(2024, 5, 7)
ORDER_NO = "ORD-20240507-0042"
RAW = {
    ("ab" * 32, 3): "ORD-20240507-0042,PAY,123.45,CNY,2024-05-07 10:03:04",
    ("cd" * 32, 9): "`2024-05-07 10:03:05,`wx8a1b2c,`1900000001,`ORD-20240507-0042,`SUCCESS,`123.00",
}


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed (make browser-deps)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    return path


def build_demo_data() -> None:
    """Two plans over ten days, breaks of each kind on DAY, and a few bills."""
    shop = make_plan("wechat_vs_shop")
    alipay = make_plan("alipay_vs_shop")
    pattern = [0, 0, 1, 0, 3, 0, 12, 0, 2, 0]
    for offset, breaks in enumerate(pattern):
        day = DAY - dt.timedelta(days=len(pattern) - offset)
        make_day_result(shop, day, matched=1200 + 17 * offset, pending=offset % 3, short=breaks // 2,
                        long=breaks - breaks // 2)
        make_day_result(alipay, day, matched=640 + 9 * offset, pending=1, mismatch=1 if offset == 7 else 0)
    make_day_result(shop, DAY, matched=1301, pending=2, short=1, long=1, mismatch=1)
    make_day_result(alipay, DAY, matched=702)
    make_break(shop, day=DAY, detected_on=DAY, order_no=ORDER_NO, ours_amount_minor=12345,
               theirs_amount_minor=12300, reason="amount_mismatch")
    make_break(shop, day=DAY, detected_on=DAY, order_no="ORD-20240507-0007", kind="short",
               theirs_amount_minor=None, ours_amount_minor=8800, reason="only_ours")
    make_break(shop, day=DAY - dt.timedelta(days=1), detected_on=DAY, order_no="ORD-20240506-0311",
               kind="short", theirs_amount_minor=None, ours_amount_minor=1, reason="only_ours")
    make_break(shop, day=DAY, detected_on=DAY, order_no="ORD-20240507-0100", kind="long",
               ours_amount_minor=None, theirs_amount_minor=-2500, record_kind="refund", refund_no="RF-0100",
               reason="only_theirs", status="suspended")
    wechat, alipay_source = make_source("wechat"), make_source("alipay")
    make_bill(wechat, name="pay_wechatpay_20240507_01.csv", business_day=DAY, rows=1307)
    make_bill(alipay_source, name="pay_alipay_20240507_01.csv", business_day=DAY, rows=645)
    make_bill(alipay_source, name="pay_alipay_20240506_02.csv", business_day=DAY - dt.timedelta(days=1),
              status="rejected", rows=0, error_code="TOTALS_MISMATCH",
              error="control total 645 rows, parsed 644 (pay_alipay_20240506_02.csv:651)")
    # Fixed receipt times keep the committed screenshots stable from run to run.
    Bill.objects.update(received_at=dt.datetime(2024, 5, 8, 1, 30, tzinfo=dt.UTC))
    make_user("breaks.view_break", "ingest.view_bill", username="maker")


@pytest.fixture
def raw_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive is not under test here: the live server reads raw lines from this table."""
    monkeypatch.setattr(bill_service, "raw_line", lambda sha256, line_no: RAW.get((sha256, line_no)))


@pytest.mark.usefixtures("raw_lines")
@pytest.mark.parametrize(
    ("language", "suffix", "words"),
    [
        ("en", "", {"dashboard": "Open breaks", "breaks": "Breaks", "break": "Both sides"}),
        ("zh-hans", ".zh-hans", {"dashboard": "差错未处理", "breaks": "差错", "break": "双方明细"}),
    ],
)
def test_login_dashboard_breaks_detail(live_server, language: str, suffix: str, words: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    build_demo_data()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            # The browser's own locale formats the date inputs; the page starts in English whatever
            # it is (the language cookie), so that the switch in the header is what turns it Chinese.
            context = browser.new_context(viewport={"width": 1366, "height": 860},
                                          locale="zh-CN" if language == "zh-hans" else "en-GB")
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/")
            expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
            expect(page.locator("html")).to_have_attribute("lang", "en")
            if language != "en":
                page.select_option("#language", language)
                expect(page.locator("html")).to_have_attribute("lang", language)
            page.get_by_label(re.compile("Username|用户名")).fill("maker")
            page.get_by_label(re.compile("Password|密码")).fill(PASSWORD)
            page.locator("form.stack button[type=submit]").click()

            expect(page).to_have_url(f"{live_server.url}/")
            expect(page.locator("h2#open-heading")).to_contain_text(words["dashboard"])
            expect(page.locator("table.heat")).to_be_visible()
            page.screenshot(path=SCREENSHOTS / f"dashboard{suffix}.png", full_page=True)

            page.locator('table.heat a[href*="plan=wechat_vs_shop"][href*="day=2024-05-07"]').click()
            expect(page).to_have_url(re.compile(r"/breaks/\?plan=wechat_vs_shop&day=2024-05-07$"))
            expect(page.locator("h1")).to_contain_text(words["breaks"])
            row = page.locator("table.breaks tbody tr", has_text=ORDER_NO)
            expect(row).to_contain_text("123.45")
            expect(row).to_contain_text("123.00")
            expect(page.locator("table.breaks tbody tr")).to_have_count(3)
            page.screenshot(path=SCREENSHOTS / f"breaks{suffix}.png", full_page=True)

            # htmx (served from the django-htmx wheel) swaps the results when a filter changes.
            assert page.evaluate("typeof htmx") == "object"
            page.select_option("#id_kind", "mismatch")
            expect(page).to_have_url(re.compile(r"kind=mismatch"))
            expect(page.locator("table.breaks tbody tr")).to_have_count(1)
            row = page.locator("table.breaks tbody tr", has_text=ORDER_NO)

            row.get_by_role("link", name=ORDER_NO).click()
            expect(page).to_have_url(re.compile(r"/breaks/\d+/$"))
            expect(page.locator("h1")).to_contain_text(ORDER_NO)
            expect(page.locator("#sides-heading")).to_have_text(words["break"])
            sides = page.locator("table.sides")
            expect(sides).to_contain_text("123.45")
            expect(sides).to_contain_text("123.00")
            expect(sides.locator("tr.differs")).to_have_count(2)  # source and amount
            expect(page.locator("pre.rawline").first).to_contain_text("ORD-20240507-0042,PAY,123.45")
            expect(page.locator("pre.rawline").nth(1)).to_contain_text("`123.00")
            page.screenshot(path=SCREENSHOTS / f"break{suffix}.png", full_page=True)
        finally:
            browser.close()
