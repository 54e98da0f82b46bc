"""The maker-checker path in a real browser: a maker proposes 补单 on a long break, a checker
approves it in the inbox, the break is resolved and its history names both (en and zh-hans)."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from django.conf import settings

from tally.breaks.models import Action, Break
from tests.services import workflow_factories as f

from .test_browser import CHROMIUM_ARGS, SCREENSHOTS, chromium

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ORDER_NO = "ORD-20240507-0188"


def log_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label(re.compile("Username|用户名")).fill(username)
    page.get_by_label(re.compile("Password|密码")).fill(f.PASSWORD)
    page.locator("form.stack button[type=submit]").click()


@pytest.mark.parametrize(("language", "suffix", "words"), [
    ("en", "", {"supplement": "supplement", "propose": "Propose", "waiting": "waits for another person",
                "approve": "Approve", "history": "History"}),
    ("zh-hans", ".zh-hans", {"supplement": "补单", "propose": "提交", "waiting": "等待他人审批",
                             "approve": "批准", "history": "处理记录"}),
])
def test_maker_proposes_supplement_checker_approves_in_the_inbox(live_server: Any, language: str, suffix: str,
                                                                  words: dict[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    plan = f.plan("wechat_vs_shop")
    brk = f.brk(plan, "long", theirs=8800, order_no=ORDER_NO)
    f.brk(plan, "short", ours=1200, order_no="ORD-20240507-0190")
    maker, checker = f.user("operator", username="maker"), f.user("approver", username="checker")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            cookie = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
            as_maker = browser.new_context(viewport={"width": 1366, "height": 900})
            as_maker.add_cookies(cookie)
            page = as_maker.new_page()
            log_in(page, live_server.url, maker.username)
            page.goto(f"{live_server.url}/breaks/?plan={plan.name}")
            expect(page.locator("form#bulk")).to_be_visible()
            expect(page.locator("table.breaks tbody input[type=checkbox]")).to_have_count(2)
            page.screenshot(path=SCREENSHOTS / f"breaks-bulk{suffix}.png", full_page=True)
            page.goto(f"{live_server.url}/breaks/{brk.pk}/")
            page.locator("#workflow").scroll_into_view_if_needed()
            page.screenshot(path=SCREENSHOTS / f"break-actions{suffix}.png")
            form = page.locator("details.wf-form", has_text=words["supplement"]).first
            expect(form).to_have_attribute("open", "")
            form.get_by_label(re.compile("Reason|原因")).fill("Paid at the channel, missing in our order DB")
            form.get_by_role("button", name=words["propose"]).click()
            expect(page.locator(".notice-success")).to_contain_text(words["waiting"])
            expect(page.locator("h1 .badge[class*=status-]")).to_have_class(re.compile("status-pending_approval"))
            page.screenshot(path=SCREENSHOTS / f"break-pending{suffix}.png", full_page=True)
            page.goto(f"{live_server.url}/approvals/")
            expect(page.locator("table.wf-inbox tbody tr")).to_have_count(1)
            expect(page.get_by_role("button", name=words["approve"])).to_have_count(0)  # not on one's own

            as_checker = browser.new_context(viewport={"width": 1366, "height": 760})
            as_checker.add_cookies(cookie)
            page = as_checker.new_page()
            log_in(page, live_server.url, checker.username)
            page.locator("nav.nav a[href='/approvals/']").click()
            row = page.locator("table.wf-inbox tbody tr", has_text=ORDER_NO)
            expect(row).to_contain_text("88.00")
            expect(row).to_contain_text(maker.username)
            page.screenshot(path=SCREENSHOTS / f"approvals{suffix}.png", full_page=True)
            row.get_by_role("button", name=words["approve"]).click()
            expect(page.locator(".notice-success")).to_be_visible()
            expect(page.locator("table.wf-inbox")).to_have_count(0)

            page.goto(f"{live_server.url}/breaks/{brk.pk}/")
            expect(page.locator("h1 .badge[class*=status-]")).to_have_class(re.compile("status-resolved"))
            history = page.locator("table.wf-history")
            expect(page.locator("#history-heading")).to_have_text(words["history"])
            expect(history).to_contain_text(maker.username)
            expect(history).to_contain_text(checker.username)
            page.screenshot(path=SCREENSHOTS / f"break-resolved{suffix}.png", full_page=True)
        finally:
            browser.close()
    assert Break.objects.get(pk=brk.pk).status == "resolved"
    action = Action.objects.get(kind="supplement")
    assert (action.maker, action.checker, action.state) == (maker, checker, "applied")
