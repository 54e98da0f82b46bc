"""The back office's own pages in Chromium (en and zh-hans): the data browser (search, filter, next
page, CSV export through its job's page), a run started from the plan page with its live progress, the plan editor's dry
run, users, preferences and settings; screenshots of each page; no Content-Security-Policy
violation on any of them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from typing import Any

import pytest

from tally.ingest.models import Source
from tests.services.factories import import_csv, plan, table_source

from .office_factories import PASSWORD, lake_bill, role_user
from .test_browser import CHROMIUM_ARGS, SCREENSHOTS, chromium

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = dt.date(2024, 5, 1)
LANGUAGES = [("en", ""), ("zh-hans", ".zh-hans")]


class Browser:
    """One logged-in Chromium page in a language; collects CSP violations and console errors."""

    def __init__(self, playwright: Any, live_server: Any, username: str, language: str) -> None:
        self.base = live_server.url
        self.browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        context = self.browser.new_context(viewport={"width": 1366, "height": 860}, accept_downloads=True,
                                           locale="zh-CN" if language == "zh-hans" else "en-GB")
        context.add_cookies([{"name": "django_language", "value": language, "url": self.base}])
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda msg: self.problems.append(msg.text) if msg.type == "error" else None)
        self.page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.page.goto(f"{self.base}/login/")
        self.page.locator("input[name=username]").fill(username)
        self.page.locator("input[name=password]").fill(PASSWORD)
        self.page.locator("form.stack button[type=submit]").click()
        self.page.wait_for_url(f"{self.base}/")

    def go(self, path: str) -> Any:
        self.page.goto(f"{self.base}{path}")
        return self.page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    def close(self) -> None:
        self.browser.close()
        assert self.problems == [], self.problems


@pytest.mark.parametrize(("language", "suffix"), LANGUAGES)
def test_data_browser_search_filter_page_and_export(live_server: Any, language: str, suffix: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    source = Source.objects.create(name="wechat", kind="table")
    lake_bill(source, DAY, n=240)
    role_user("viewer", username="viewer")
    with sync_playwright() as playwright:
        b = Browser(playwright, live_server, "viewer", language)
        page = b.go("/browse/")
        rows = page.locator("table.records tbody tr")
        expect(rows).to_have_count(50)  # the latest day of the first source, first page
        expect(page.locator(".records-bar .count")).to_contain_text(re.compile("240"))  # the count arrives
        b.shot(f"browser{suffix}")

        page.locator("#id_q").fill("ORD-0501-00123")
        page.locator("#id_q").press("Enter")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("ORD-0501-00123")
        expect(page).to_have_url(re.compile(r"q=ORD-0501-00123"))
        b.shot(f"browser-search{suffix}")

        page.locator("#id_q").fill("")
        page.select_option("#id_record_kind", "refund")
        expect(rows).to_have_count(48)
        expect(page.locator("a[rel=next]")).to_have_count(0)
        page.select_option("#id_record_kind", "")
        expect(rows).to_have_count(50)
        page.locator("a[rel=next]").click()
        expect(rows.first).to_contain_text("ORD-0501-00050")

        page.select_option("#id_record_kind", "refund")
        expect(rows).to_have_count(48)
        page.locator(".exports button").first.click()  # Export CSV: a job, followed on its page
        expect(page).to_have_url(re.compile(r"/exports/\d+/$"))
        with page.expect_download() as download:
            page.locator("#progress a[download]").click()  # there once the job is done
        expect(page.locator("#progress label")).to_contain_text("48")
        text = download.value.path().read_text(encoding="utf-8-sig")
        exported = list(csv.DictReader(io.StringIO(text)))
        assert len(exported) == 48
        assert {r["record_kind"] for r in exported} == {"refund"}
        b.close()


@pytest.mark.parametrize(("language", "suffix"), LANGUAGES)
def test_run_from_the_plan_page_with_live_progress(live_server: Any, language: str, suffix: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    table_source("shop")
    table_source("bank")
    for n in range(3):
        day = DAY + dt.timedelta(days=n)
        import_csv("shop", day, ("A1", "12.34"), ("A2", "5.00"), ("A4", "1.00"))
        import_csv("bank", day, ("A1", "12.34"), ("A3", "7.00"), ("A4", "1.10"))
    plan("bank_vs_shop", "shop", "bank", carry_over_days=0, description="Bank statement against shop orders")
    role_user("operator", username="operator")
    with sync_playwright() as playwright:
        b = Browser(playwright, live_server, "operator", language)
        page = b.go("/plans/")
        b.shot(f"plans{suffix}")
        page.get_by_role("link", name="bank_vs_shop").click()
        page.locator("#id_first").fill("2024-05-01")
        page.locator("#id_last").fill("2024-05-03")
        page.locator("form[action$='/run/'] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/runs/jobs/\d+/$"))
        progress = page.locator("#progress-bar")
        expect(progress).to_have_attribute("max", "3")
        # The block asks for itself every second until the run is done.
        expect(progress).to_have_attribute("value", "3", timeout=60_000)
        expect(page.locator("#progress .badge")).to_have_text(re.compile("done|已完成"))
        b.shot(f"run-progress{suffix}")
        page.locator("#progress a[href*='/runs/']").first.click()
        expect(page.locator("table.data tbody tr")).to_have_count(3)
        expect(page.locator("table.data")).to_contain_text("pay_shop" if False else "2024-05-03")
        b.shot(f"run{suffix}")
        page = b.go("/runs/")
        b.shot(f"runs{suffix}")
        page = b.go("/plans/bank_vs_shop/")
        expect(page.locator("table.data").first).to_contain_text("2024-05-02")
        b.shot(f"plan{suffix}")
        b.close()


@pytest.mark.parametrize(("language", "suffix"), LANGUAGES)
def test_a_failed_run_explains_itself_on_its_job_and_run_pages(live_server: Any, language: str, suffix: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    table_source("shop")
    table_source("bank")
    import_csv("shop", DAY, ("A1", "12.34"))  # the bank's bill for the day is missing: the run fails
    plan("bank_vs_shop", "shop", "bank", carry_over_days=0)
    role_user("operator", username="operator")
    sentence = {"en": "A source has no bill for a day of the run",
                "zh-hans": "某账源在对账任务的某个业务日期没有对账单"}
    with sync_playwright() as playwright:
        b = Browser(playwright, live_server, "operator", language)
        page = b.go("/plans/bank_vs_shop/")
        page.locator("#id_first").fill("2024-05-01")
        page.locator("form[action$='/run/'] button[type=submit]").click()
        expect(page.locator("#progress .badge")).to_have_text(re.compile("failed|失败"), timeout=60_000)
        alert = page.locator("#progress .alert")
        expect(alert).to_contain_text(sentence[language])
        expect(alert).to_contain_text("source bank has no bill for 2024-05-01")
        expect(alert.locator("code")).to_have_text("BILL_MISSING")
        b.shot(f"run-failed-progress{suffix}")
        page.locator("#progress a[href*='/runs/']").first.click()
        expect(page.locator(".alert")).to_contain_text(sentence[language])
        b.shot(f"run-failed{suffix}")
        b.close()


@pytest.mark.parametrize(("language", "suffix"), LANGUAGES)
def test_plan_dry_run_users_preferences_and_settings(live_server: Any, language: str, suffix: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    table_source("shop")
    table_source("bank")
    import_csv("shop", DAY, ("A1", "12.34"), ("A2", "5.00"))
    import_csv("bank", DAY, ("A1", "12.30"), ("A3", "7.00"))
    plan("bank_vs_shop", "shop", "bank", carry_over_days=0)
    role_user("admin", username="admin", is_staff=True)
    role_user("operator", username="maker", email="maker@example.com")
    role_user("approver", username="checker")
    with sync_playwright() as playwright:
        b = Browser(playwright, live_server, "admin", language)
        page = b.go("/plans/bank_vs_shop/edit/")
        editor = page.locator("#id_text")
        editor.fill(editor.input_value().replace("carry_over_days = 0", "carry_over_days = 0\ntolerance_minor = 10"))
        page.locator("#id_day").fill("2024-05-01")
        page.locator("button[value=dry_run]").click()
        expect(page.locator("#dry-run")).to_be_visible()
        expect(page.locator("#dry-run dl")).to_contain_text("1")
        b.shot(f"plan-edit{suffix}")
        editor = page.locator("#id_text")
        editor.fill(editor.input_value() + "\ncolour = 1\n")
        page.locator("button[value=validate]").click()
        expect(page.locator("#plan-error")).to_contain_text("UNKNOWN_FIELD")
        b.problems = [p for p in b.problems if "400" not in p]  # that refusal (400) was the point

        page = b.go("/users/")
        expect(page.locator("table.data tbody tr")).to_have_count(3)
        b.shot(f"users{suffix}")
        page.get_by_role("link", name="maker").click()
        b.shot(f"user{suffix}")
        page = b.go("/preferences/")
        b.shot(f"preferences{suffix}")
        page = b.go("/settings/")
        expect(page.locator("table.settings").first).to_contain_text("TALLY_HOME")
        b.shot(f"settings{suffix}")
        b.close()
