"""Uploading bills in a real browser: from a calendar cell to the upload page, two files dropped on
the drop zone, then the import job's page (imported on a thread: no worker beats), which follows
the job until one file is imported and one rejected, said in the reader's language with the
parser's detail and the error code; the cell then shows the bill (en and zh-hans)."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tests.services.factories import csv_bill, table_source

from .factories import PASSWORD, make_user
from .test_browser import CHROMIUM_ARGS, SCREENSHOTS, chromium

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DROP = """([files]) => {
  const transfer = new DataTransfer();
  for (const f of files) transfer.items.add(new File([f.text], f.name, {type: "text/csv"}));
  return transfer;
}"""


@pytest.mark.parametrize(("language", "suffix", "words"), [
    ("en", "", {"upload": "Upload", "import": "Import", "imported": "imported", "rejected": "rejected",
                "calendar": "Calendar", "why": "An amount is missing or is not a number like 12.34"}),
    ("zh-hans", ".zh-hans", {"upload": "上传", "import": "导入", "imported": "已导入", "rejected": "已拒收",
                             "calendar": "账单日历", "why": "金额缺失或格式不对"}),
])
def test_drop_two_files_one_imported_one_rejected(live_server, language: str, suffix: str,
                                                  words: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    make_user("ingest.view_bill", "ingest.add_bill", "ingest.view_fetchattempt", username="maker")
    table_source("bank")
    day = timezone.localdate() - timedelta(days=1)
    good = csv_bill(day, ("A1", "12.34"), ("A2", "5.00")).decode()
    bad = csv_bill(day, ("A3", "1.2.3")).decode()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="zh-CN" if language == "zh-hans" else "en-GB")
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                                  "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/calendar/")
            page.locator("#id_username").fill("maker")
            page.locator("#id_password").fill(PASSWORD)
            page.locator("form.stack button[type=submit]").click()
            expect(page).to_have_url(f"{live_server.url}/calendar/")

            cell = page.locator(f"#bank-{day:%Y-%m-%d}")
            expect(cell).to_have_class(re.compile(r"cal-(missing|late|not_ready)"))
            cell.locator("summary").click()
            cell.get_by_role("link", name=words["upload"]).click()
            expect(page).to_have_url(re.compile(rf"/bills/upload/\?source=bank&day={day:%Y-%m-%d}$"))
            expect(page.locator("#id_source")).to_have_value("bank")

            transfer = page.evaluate_handle(DROP, [[{"name": "bank-good.csv", "text": good},
                                                    {"name": "bank-bad.csv", "text": bad}]])
            page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})
            expect(page.locator(".dropzone-files")).to_have_text("bank-good.csv, bank-bad.csv")
            page.get_by_role("button", name=words["import"]).click()
            expect(page).to_have_url(re.compile(r"/bills/upload/\d+/$"))

            results = page.locator("table.upload-results tbody tr")
            expect(results).to_have_count(2)
            imported = page.locator('tr[data-file="bank-good.csv"]')
            expect(imported).to_contain_text(words["imported"])
            expect(imported).to_contain_text(f"data_bank_{day:%Y%m%d}_01.csv")
            rejected = page.locator('tr[data-file="bank-bad.csv"]')
            expect(rejected).to_contain_text(words["rejected"])
            expect(rejected.locator("code")).to_have_text("BAD_AMOUNT")
            # What is wrong in the reader's words, then the parser's own detail with the file:line place.
            expect(rejected.locator(".error-sentence")).to_contain_text(words["why"])
            expect(rejected.locator(".error-detail")).to_contain_text("(bank-bad.csv:2, field amount)")
            expect(page.locator("#progress-bar")).to_have_attribute("value", "2")
            page.screenshot(path=SCREENSHOTS / f"upload{suffix}.png", full_page=True)

            page.get_by_role("link", name=words["calendar"], exact=True).click()
            expect(page.locator(f"#bank-{day:%Y-%m-%d}")).to_have_class(re.compile(r"\bcal-arrived\b"))
            page.screenshot(path=SCREENSHOTS / f"calendar{suffix}.png", full_page=True)
        finally:
            browser.close()
