"""The reports and rules pages in Debian's Chromium, in English and Chinese: the statement, the SVG
trend charts, an export (a job, then its file), the dry-run preview and the apply button.
Screenshots go to TALLY_SCREENSHOTS (docs/screenshots to refresh the README's) or a scratch folder."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.conf import settings

from tally.breaks.models import Break, DayResult, Plan

from .factories import PASSWORD, make_user

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("TALLY_SCREENSHOTS") or tempfile.mkdtemp(prefix="tally-screenshots-"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
DAY = dt.date(2024, 5, 30)
_seq = itertools.count(1)


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is not installed (make browser-deps)")
    return path


def record(source: str, order_no: str, amount: int, day: dt.date, **extra: Any) -> dict[str, Any]:
    return {"source": source, "business_day": day.isoformat(), "record_kind": "payment", "order_no": order_no,
            "refund_no": None, "amount_minor": amount, "fee_minor": 0, "discount_minor": 0, "currency": "CNY",
            "status": "SUCCESS", "bill_sha256": "ab" * 32, "line_no": next(_seq), **extra}


def brk(plan: Plan, day: dt.date, kind: str, ours: int | None, theirs: int | None, **extra: Any) -> Break:
    order_no = f"ORD-{day:%m%d}-{next(_seq):04d}"
    return Break.objects.create(
        plan=plan, identity=f"id-{next(_seq)}", day=day, detected_on=day, kind=kind, record_kind="payment",
        order_no=order_no, currency="CNY", ours_amount_minor=ours, theirs_amount_minor=theirs,
        reason={"short": "only_ours", "long": "only_theirs"}.get(kind, "amount_mismatch"),
        ours=record("shop", order_no, ours, day) if ours is not None else None,
        theirs=record("wechat", order_no, theirs, day, **extra) if theirs is not None else None)


def build() -> None:
    plan = Plan.objects.create(name="wechat_vs_shop", spec={
        "ours": "shop", "theirs": "wechat",
        "rules": [{"rule": "cross_day"}, {"rule": "coupon"}, {"rule": "fee", "rate_bp": 60},
                  {"rule": "rounding", "tolerance_minor": 1}]})
    for n in range(30):
        day = DAY - dt.timedelta(days=29 - n)
        breaks = (n * 7) % 5
        DayResult.objects.create(plan=plan, day=day, matched=1100 + 13 * n, short=breaks // 2,
                                 long=breaks - breaks // 2, cross_day=n % 4)
        for k in range(breaks):
            if k % 2:
                brk(plan, day, "long", None, 1000 + 350 * k + 20 * n)
            else:
                brk(plan, day, "short", 800 + 400 * k + 10 * n, None)
    brk(plan, DAY, "mismatch", 10000, 9999)  # rounding
    brk(plan, DAY, "mismatch", 9000, 10000, discount_minor=1000, discount_funded_by="platform")  # coupon
    brk(plan, DAY, "mismatch", 12000, 9000)  # nothing explains it
    make_user("breaks.view_break", "breaks.act_on_break", username="operator")


@pytest.mark.parametrize(("language", "suffix", "words"), [
    ("en", "", {"statement": "Statement", "expected": "Expected", "apply": "Apply the rules",
                "done": "The rules resolved 2 breaks."}),
    ("zh-hans", ".zh-hans", {"statement": "对账单", "expected": "应收", "apply": "执行规则",
                             "done": "规则处理了 2 笔差错。"}),
])
def test_report_and_rules_pages(live_server: Any, language: str, suffix: str, words: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    build()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True,
                                          locale="zh-CN" if language == "zh-hans" else "en-GB")
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/login/?next=/reports/")
            page.locator("input[name=username]").fill("operator")
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form.stack button[type=submit]").click()
            expect(page).to_have_url(f"{live_server.url}/reports/")
            page.locator('a[href="/reports/wechat_vs_shop/"]').click()

            expect(page.locator("#statement-heading")).to_have_text(words["statement"])
            expect(page.locator("table.statement")).to_contain_text(words["expected"])
            expect(page.locator("figure.chart svg")).to_have_count(3)
            expect(page.locator("figure.chart svg rect").first).to_be_visible()
            page.screenshot(path=SCREENSHOTS / f"report{suffix}.png", full_page=True)

            # The export is a job: its page follows it, then offers the file.
            page.locator('form[action*="/report.xlsx"] button').click()
            expect(page).to_have_url(re.compile(r"/exports/\d+/$"))
            with page.expect_download() as download:
                page.locator("#progress a[download]").click()
            assert download.value.suggested_filename == "report_wechat_vs_shop_20240530.xlsx"
            book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))  # the path has no suffix
            assert book.sheetnames == ["statement", "breaks"]
            assert book["statement"]["B1"].value == "wechat_vs_shop"

            page.locator(".crumbs a").nth(1).click()  # back to the report it came from
            expect(page).to_have_url(f"{live_server.url}/reports/wechat_vs_shop/?day=2024-05-30")
            page.locator('a[href="/rules/wechat_vs_shop/"]').first.click()
            preview = page.locator("table.data").first
            expect(preview.locator("tbody tr")).to_have_count(2)
            expect(preview).to_contain_text("0.01 CNY")
            page.screenshot(path=SCREENSHOTS / f"rules{suffix}.png", full_page=True)
            page.get_by_role("button", name=re.compile(words["apply"])).click()
            expect(page.locator(".messages")).to_contain_text(words["done"])
            assert Break.objects.filter(status="resolved").count() == 2
        finally:
            browser.close()
