"""The pages no other browser test photographs, in Chromium, in English and Chinese: the login page,
the bills list, the sources with a source's versions and fetch history, the reports index, the FX
rates (as an admin, with the import form), a break with suggested matches and a finished export's
job page. Each page is opened
as the role that works on it, shows its heading and its key content, and answers without an error;
its screenshot goes to TALLY_SCREENSHOTS (`make screenshots` refreshes docs/screenshots).

The other pages' screenshots come from the tests that walk through them: test_browser (dashboard,
breaks, break), test_browser_bills (bill, bill-rejected, bill-lines), test_browser_upload (upload,
calendar), test_browser_sources (source-preview), test_browser_office, test_browser_reports and
test_browser_workflow.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from tally.breaks.models import DayResult, FxRate
from tally.errors import InputRejected
from tally.ingest.models import Bill, FetchAttempt, Source, SourceVersion
from tally.services.importing import import_bill
from tally.services.sources import declare
from tally.web import exports
from tally.web.models import ExportJob
from tests.services import workflow_factories as f
from tests.services.factories import TABLE, csv_bill, import_csv, plan

from .office_factories import role_user
from .test_break_suggestions import suggested
from .test_browser import SCREENSHOTS
from .test_browser_office import LANGUAGES, Browser

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = dt.date(2024, 5, 7)
# Fixed times keep the committed screenshots the same from run to run.
AT = dt.datetime(2024, 5, 8, 1, 30, tzinfo=dt.UTC)
SFTP = {"transport": "sftp", "host": "sftp.bank.example", "username": "tally", "password_env": "BANK_SFTP_PASSWORD",
        "host_key": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", "remote_dir": "/out",
        "pattern": "statement_{yyyymmdd}.csv"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Page:
    """One screenshot: who opens which page, its heading, and a piece of content it must show."""

    name: str
    role: str | None  # None: not logged in
    path: str
    heading: str  # a CSS selector
    words: dict[str, str]  # the heading's text by language
    content: str  # a CSS selector ...
    text: str  # ... that contains this (the same in both languages: names, codes, amounts)
    focus: bool = False  # shoot the window scrolled to the heading rather than the whole page


PAGES = [
    Page("login", None, "/login/", "h1", {"en": "Log in to Tally", "zh-hans": "登录 Tally 对账系统"},
         "form.stack button[type=submit]", ""),
    Page("bills", "operator", "/bills/", "h1", {"en": "Bills", "zh-hans": "对账单"},
         "table.data", "BAD_AMOUNT"),
    Page("sources", "operator", "/sources/", "h1", {"en": "Sources", "zh-hans": "账源"},
         "table.sources", "bank"),
    Page("source", "operator", "/sources/bank/", "#versions-heading", {"en": "Versions", "zh-hans": "版本"},
         "table.changes", "Asia/Shanghai"),
    Page("source-fetches", "operator", "/sources/bank/fetches/", "h1",
         {"en": "Fetch history of bank", "zh-hans": "bank 的获取记录"}, "table.data", "host key mismatch"),
    Page("reports", "viewer", "/reports/", "h1", {"en": "Reports", "zh-hans": "报表"},
         "table.data", "bank_vs_shop"),
    Page("rates", "admin", "/rates/", "#upload-heading", {"en": "Import rates", "zh-hans": "导入汇率"},
         "table#rates", "USD/CNY"),
    Page("break-suggestions", "operator", "/breaks/{credit}/", "#suggestions-heading",
         {"en": "Suggested matches", "zh-hans": "建议匹配"}, ".suggestion", "PO-2", focus=True),
    Page("export", "viewer", "/exports/{export}/", "h1",
         {"en": "Report of bank_vs_shop for 2024-05-07", "zh-hans": "bank_vs_shop 在 2024-05-07 的报表"},
         "#progress", "report_bank_vs_shop_20240507.xlsx"),
]


def morning_after(day: dt.date | None) -> dt.datetime:
    """09:30 in Beijing on the day after ``day``."""
    assert day is not None
    return dt.datetime.combine(day, dt.time(1, 30), tzinfo=dt.UTC) + dt.timedelta(days=1)


def build() -> dict[str, Any]:
    """Three sources (bank: two versions and a fetch history), bills, two plans with results, FX rates,
    a WeChat settlement that two open orders add up to and an export; returns the ids the page paths need."""
    operator = role_user("operator", username="operator")
    viewer = role_user("viewer", username="viewer")
    role_user("admin", username="admin", is_staff=True)

    bank = {**TABLE, "timezone": "UTC", "description": "Bank statement, fetched over SFTP", "fetch": SFTP}
    declare("bank", bank, via="apply")
    bills = [import_csv("bank", DAY - dt.timedelta(days=2), ("A1", "12.34"), ("A2", "5.00")).bill]
    # The bank writes its times in Beijing time: the fix is a second version of the declaration.
    declare("bank", {**bank, "timezone": "Asia/Shanghai"}, via="web", by=operator)
    bills.append(import_csv("bank", DAY - dt.timedelta(days=1), ("A3", "7.00"), ("A4", "1.10")).bill)
    declare("shop", {**TABLE, "description": "Our order database"}, via="apply")
    for n in range(3):
        import_csv("shop", DAY - dt.timedelta(days=n), ("A1", "12.34"), ("A2", "5.00"), ("A3", "7.00"))
    with pytest.raises(InputRejected):
        import_bill(csv_bill(DAY, ("A5", "1.2.3")), "bank", file_name="bank_20240507.csv", day=DAY)
    Source.objects.create(name="wechat", kind="wechatpay", spec={"timezone": "Asia/Shanghai"})
    for row in Bill.objects.all():  # each the morning after its day
        Bill.objects.filter(pk=row.pk).update(received_at=morning_after(row.business_day))
    Source.objects.update(updated_at=AT)
    SourceVersion.objects.filter(number=1).update(created_at=AT - dt.timedelta(days=30))
    SourceVersion.objects.filter(number=2).update(created_at=morning_after(DAY - dt.timedelta(days=2)))

    source = Source.objects.get(name="bank")
    for n, (day, outcome, reason, transient, bill) in enumerate([
        (DAY - dt.timedelta(days=2), "imported", "", False, bills[0]),
        (DAY - dt.timedelta(days=1), "refused", "host key mismatch: SHA256:Xk2… presented", False, None),
        (DAY - dt.timedelta(days=1), "failed", "connection timed out after 30 s", True, None),
        (DAY - dt.timedelta(days=1), "imported", "", False, bills[1]),
        (DAY, "not_ready", "statement_20240507.csv is not there yet", False, None),
    ]):
        attempt = FetchAttempt.objects.create(
            source=source, business_day=day, transport="sftp", outcome=outcome, reason=reason, transient=transient,
            bill=bill, details={"remote_files": [{"path": f"/out/statement_{day:%Y%m%d}.csv", "size": 812}]}
            if bill else {})
        started = morning_after(day) + dt.timedelta(minutes=7 * n)
        FetchAttempt.objects.filter(pk=attempt.pk).update(started_at=started,
                                                          finished_at=started + dt.timedelta(seconds=2 + n))

    bank_vs_shop = plan("bank_vs_shop", "shop", "bank", description="Bank statement against shop orders")
    wechat_vs_shop = plan("wechat_vs_shop", "shop", "wechat")
    for n in range(5):
        DayResult.objects.create(plan=bank_vs_shop, day=DAY - dt.timedelta(days=n), matched=310 + n, short=n % 2)
        DayResult.objects.create(plan=wechat_vs_shop, day=DAY - dt.timedelta(days=n + 1), matched=1200 + 7 * n)

    for day, rate in [(DAY - dt.timedelta(days=2), "7.2210"), (DAY - dt.timedelta(days=1), "7.2185"), (DAY, "7.2243")]:
        FxRate.objects.create(day=day, base="USD", quote="CNY", rate=rate, source="rates_202405.csv")
        FxRate.objects.create(day=day, base="EUR", quote="CNY", rate="7.7810", source="rates_202405.csv")
    FxRate.objects.update(imported_at=morning_after(DAY))

    # One WeChat settlement that two of our orders add up to.
    po1 = f.brk(wechat_vs_shop, "short", ours=3000, order_no="PO-1")
    po2 = f.brk(wechat_vs_shop, "short", ours=4500, order_no="PO-2")
    credit = f.brk(wechat_vs_shop, "long", theirs=7500, order_no="BATCH-77",
                   suggestions=[{"group": [suggested(po1), suggested(po2)], "amount_minor": 7500, "currency": "CNY"}])
    # The viewer's export of a day's report, written as its job writes it.
    export = exports.report(bank_vs_shop, "report", "xlsx", DAY, viewer)
    assert exports.execute(export.pk) == "done"
    asked = morning_after(DAY) + dt.timedelta(minutes=45)
    ExportJob.objects.filter(pk=export.pk).update(requested_at=asked, started_at=asked + dt.timedelta(seconds=1),
                                                  finished_at=asked + dt.timedelta(seconds=2))
    return {"credit": credit.pk, "export": export.pk}


def check(page: Any, spec: Page, language: str) -> None:
    """What a user must see: the heading in the language, the key content, Chinese on a zh page."""
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(spec.heading).first).to_contain_text(spec.words[language])
    expect(page.locator(spec.content).first).to_be_visible()
    expect(page.locator(spec.content).first).to_contain_text(spec.text)
    body = page.locator("main").inner_text()
    assert "Server Error" not in body
    if language == "zh-hans":
        assert CJK.search(body), spec.name


def logged_out(b: Browser, language: str) -> Any:
    """A page in a new context of an open browser, where nobody is logged in."""
    context = b.browser.new_context(viewport={"width": 1366, "height": 860},
                                    locale="zh-CN" if language == "zh-hans" else "en-GB")
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": b.base}])
    return context.new_page()


@pytest.mark.parametrize(("language", "suffix"), LANGUAGES)
def test_every_other_page(live_server: Any, language: str, suffix: str) -> None:
    from playwright.sync_api import sync_playwright

    ids = build()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browsers: dict[str, Browser] = {}  # one logged-in browser per role
        for spec in PAGES:
            role = spec.role or "viewer"
            if role not in browsers:
                browsers[role] = Browser(playwright, live_server, role, language)
            page = browsers[role].page if spec.role else logged_out(browsers[role], language)
            page.goto(f"{live_server.url}{spec.path.format(**ids)}")
            check(page, spec, language)
            if spec.focus:
                page.locator(spec.heading).evaluate("heading => { heading.scrollIntoView(); scrollBy(0, -16); }")
            page.screenshot(path=SCREENSHOTS / f"{spec.name}{suffix}.png", full_page=not spec.focus)
        for b in browsers.values():
            b.close()  # asserts that no page answered an error status or logged a console error
