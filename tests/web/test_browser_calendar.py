"""The bill calendar's pop-ups in a real browser, in en and zh-hans: a missing bill, a late bill
and a rejected fetch each say why in the reader's language (screenshots of each pop-up open)."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tally.ingest.models import FetchAttempt
from tests.services.factories import table_source

from .factories import PASSWORD, make_user
from .test_browser import CHROMIUM_ARGS, SCREENSHOTS, chromium
from .test_fetch_reasons_pages import REJECTED, SFTP

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("language", "suffix", "words"),
    [
        ("en", "", {"missing": "expected from {}", "late": "no bill by {}",
                    "rejected": "The bill's own totals (count or amount) do not equal the sum of its rows"}),
        ("zh-hans", ".zh-hans", {"missing": "预计 {} 起可获取", "late": "截至 {} 仍无对账单",
                                 "rejected": "对账单自带的合计"}),
    ],
)
def test_the_calendar_pop_ups_say_why(live_server, language: str, suffix: str, words: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    yesterday = timezone.localdate() - timedelta(days=1)
    late_day, rejected_day = yesterday - timedelta(days=1), yesterday - timedelta(days=2)
    table_source("shop")
    bank = table_source("bank", SFTP)
    FetchAttempt.objects.create(source=bank, business_day=rejected_day, transport="sftp", outcome="rejected",
                                reason=f"TOTALS_MISMATCH: {REJECTED}", details={"code": "TOTALS_MISMATCH"})
    make_user("ingest.view_bill", "ingest.view_fetchattempt", "ingest.view_source", username="clerk")
    cells = {
        "missing": ("shop", late_day, words["missing"].format(f"{yesterday:%Y-%m-%d} 09:00 CST")),
        "late": ("bank", late_day, words["late"].format(f"{yesterday:%Y-%m-%d} 14:00 CST")),
        "rejected": ("bank", rejected_day, words["rejected"]),
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 700},
                                          locale="zh-CN" if language == "zh-hans" else "en-GB")
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                                  "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/calendar/")
            page.locator("#id_username").fill("clerk")
            page.locator("#id_password").fill(PASSWORD)
            page.locator("form.stack button[type=submit]").click()
            expect(page).to_have_url(f"{live_server.url}/calendar/")
            for name, (source, day, said) in cells.items():
                summary = page.locator(f"#{source}-{day:%Y-%m-%d} summary")
                summary.hover()  # the tooltip says it too
                expect(summary).to_have_attribute("title", re.compile(re.escape(said)))
                summary.click()
                expect(page.locator(f"#{source}-{day:%Y-%m-%d} .cal-more")).to_contain_text(said)
                page.screenshot(path=SCREENSHOTS / f"calendar-{name}{suffix}.png")
                summary.click()
        finally:
            browser.close()
