"""The workflow in the back office: forms on a break's page, the approvals inbox, bulk actions;
a forged POST is refused by the service like any other caller."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tally.breaks.models import Action, Break
from tally.services import resolution
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db


def login(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=user.username, password=f.PASSWORD)
    return client


def test_operator_sees_the_forms_that_fit_the_break() -> None:
    operator = login(f.user("operator"))
    long_page = operator.get(f"/breaks/{f.brk(kind='long').pk}/").content.decode()
    assert 'value="supplement"' in long_page
    assert 'value="sync_status"' not in long_page
    mismatch_page = operator.get(f"/breaks/{f.brk().pk}/").content.decode()
    assert 'value="sync_status"' in mismatch_page
    assert 'value="supplement"' not in mismatch_page
    viewer_page = login(f.user("viewer")).get(f"/breaks/{f.brk().pk}/").content.decode()
    assert 'name="kind"' not in viewer_page
    assert 'name="body"' not in viewer_page


def test_propose_in_the_ui_then_approve_in_the_inbox() -> None:
    maker, checker = f.user("operator"), f.user("approver")
    brk = f.brk(kind="long", theirs=1234)
    as_maker, as_checker = login(maker), login(checker)
    answer = as_maker.post(f"/breaks/{brk.pk}/propose/", {"kind": "supplement", "reason": "lost order"}, follow=True)
    assert "waits for another person" in answer.content.decode()
    action = Action.objects.get()
    inbox_for_maker = as_maker.get("/approvals/").content.decode()
    assert f"/actions/{action.pk}/approve/" not in inbox_for_maker  # no approve button on one's own action
    assert "your proposal" in inbox_for_maker
    inbox = as_checker.get("/approvals/").content.decode()
    assert f"/actions/{action.pk}/approve/" in inbox
    as_checker.post(f"/actions/{action.pk}/approve/", {"next": "/approvals/"})
    assert Break.objects.get(pk=brk.pk).status == "resolved"
    page = as_checker.get(f"/breaks/{brk.pk}/").content.decode()
    assert maker.username in page
    assert checker.username in page


def test_a_forged_approve_post_by_the_maker_is_refused() -> None:
    maker = f.user("admin")  # holds every permission
    action = resolution.propose([f.brk().pk], "write_off", maker, reason_code="small_difference")
    client = login(maker)
    answer = client.post(f"/actions/{action.pk}/approve/", {"next": "/approvals/"}, follow=True)
    assert "another person must approve" in answer.content.decode()
    assert Action.objects.get(pk=action.pk).state == "proposed"
    client.post(f"/actions/{action.pk}/reject/", {"reason": "mine"})
    assert Action.objects.get(pk=action.pk).state == "proposed"


def test_forged_posts_without_role_or_plan_are_refused() -> None:
    plan_a, plan_b = f.plan(), f.plan()
    in_b = f.brk(plan_b)
    limited = login(f.user("operator", plans=(plan_a,)))
    assert limited.get(f"/breaks/{in_b.pk}/").status_code == 404
    assert limited.post(f"/breaks/{in_b.pk}/propose/", {"kind": "resolve", "reason": "x"}).status_code == 404
    assert limited.post(f"/breaks/{in_b.pk}/comment/", {"body": "x"}).status_code == 404
    viewer = login(f.user("viewer"))
    brk = f.brk(plan_a)
    viewer.post(f"/breaks/{brk.pk}/propose/", {"kind": "resolve", "reason": "x"})
    viewer.post(f"/breaks/{brk.pk}/comment/", {"body": "x"})
    assert not Action.objects.exists()
    assert not brk.comments.exists()
    assert Client().post(f"/breaks/{brk.pk}/propose/", {"kind": "resolve", "reason": "x"}).status_code == 302
    action = resolution.propose([in_b.pk], "write_off", f.user("operator"), reason_code="small_difference")
    login(f.user("approver", plans=(plan_a,))).post(f"/actions/{action.pk}/approve/")
    assert Action.objects.get(pk=action.pk).state == "proposed"


def test_csrf_is_enforced_on_workflow_forms() -> None:
    user = f.user("operator")
    client = Client(enforce_csrf_checks=True)
    client.login(username=user.username, password=f.PASSWORD)
    assert client.post(f"/breaks/{f.brk().pk}/comment/", {"body": "x"}).status_code == 403


def test_suspend_comment_assign_attach_and_undo_in_the_ui() -> None:
    operator = f.user("operator")
    client = login(operator)
    brk = f.brk()
    until = (timezone.localdate() + timedelta(days=7)).isoformat()
    client.post(f"/breaks/{brk.pk}/propose/", {"kind": "suspend", "reason": "ask the bank", "until": until})
    assert Break.objects.get(pk=brk.pk).status == "suspended"
    client.post(f"/breaks/{brk.pk}/comment/", {"body": "called them"})
    client.post(f"/breaks/{brk.pk}/assign/", {"assignee": operator.username})
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.post(f"/breaks/{brk.pk}/attach/", {"file": SimpleUploadedFile("mail.txt", b"the bank said",
                                                                         content_type="text/plain")})
    fresh = Break.objects.get(pk=brk.pk)
    assert fresh.assignee == operator
    attachment = fresh.attachments.get()
    got = client.get(f"/breaks/evidence/{attachment.pk}/")
    assert b"".join(got.streaming_content) == b"the bank said"
    assert got["Content-Disposition"].startswith("attachment")
    assert login(f.user("operator", plans=(f.plan(),))).get(f"/breaks/evidence/{attachment.pk}/").status_code == 404
    suspension = Action.objects.get(kind="suspend")
    client.post(f"/actions/{suspension.pk}/undo/", {"reason": "too early"})
    assert Break.objects.get(pk=brk.pk).status == "open"
    page = client.get(f"/breaks/{brk.pk}/").content.decode()
    for text in ("called them", "mail.txt", "History"):
        assert text in page


def test_adjust_amount_is_typed_in_major_units_exactly() -> None:
    client = login(f.user("operator"))
    brk = f.brk()
    client.post(f"/breaks/{brk.pk}/propose/", {"kind": "adjust", "amount": "-0.34", "reason": "fee"})
    assert Action.objects.get().amount_minor == -34
    other = f.brk()
    answer = client.post(f"/breaks/{other.pk}/propose/", {"kind": "adjust", "amount": "0.345", "reason": "x"},
                         follow=True)
    assert "more decimals" in answer.content.decode()
    assert Action.objects.count() == 1


def test_bulk_on_selected_rows_and_on_all_matching_the_filter() -> None:
    plan = f.plan()
    rows = [f.brk(plan, order_no=f"B{n}") for n in range(3)]
    elsewhere = f.brk(f.plan())
    client = login(f.user("operator"))
    page = client.get(f"/breaks/?plan={plan.name}").content.decode()
    assert 'form="bulk"' in page
    client.post("/breaks/bulk/", {"operation": "comment", "ids": [rows[0].pk], "reason": "seen"})
    assert rows[0].comments.count() == 1
    assert rows[1].comments.count() == 0
    until = (timezone.localdate() + timedelta(days=3)).isoformat()
    client.post("/breaks/bulk/", {"operation": "suspend", "all_matching": "1", "filters": f"plan={plan.name}",
                                  "reason": "month end", "until": until})
    assert set(Break.objects.filter(plan=plan).values_list("status", flat=True)) == {"suspended"}
    assert Break.objects.get(pk=elsewhere.pk).status == "open"


def test_bulk_all_matching_never_reaches_other_plans() -> None:
    plan_a, plan_b = f.plan(), f.plan()
    f.brk(plan_a)
    in_b = f.brk(plan_b)
    client = login(f.user("operator", plans=(plan_a,)))
    client.post("/breaks/bulk/", {"operation": "comment", "all_matching": "1", "filters": "", "reason": "x"})
    client.post("/breaks/bulk/", {"operation": "comment", "ids": [in_b.pk], "reason": "x"})
    assert in_b.comments.count() == 0


def test_pages_in_chinese() -> None:
    maker, checker = f.user("operator"), f.user("approver")
    brk = f.brk(kind="long")
    resolution.propose([brk.pk], "supplement", maker)
    page = login(checker, "zh-hans").get("/approvals/").content.decode()
    assert "审批" in page
    assert "批准" in page
    detail = login(maker, "zh-hans").get(f"/breaks/{brk.pk}/").content.decode()
    assert "处理记录" in detail
    assert "补单" in detail


def test_the_dashboard_shows_only_the_plans_a_user_may_see() -> None:
    from tally.breaks.models import DayResult

    mine, theirs = f.plan("plan-mine"), f.plan("plan-hidden")
    for plan in (mine, theirs):
        DayResult.objects.create(plan=plan, day=f.DAY, matched=1, short=1)
        f.brk(plan, kind="short")
    page = login(f.user("viewer", plans=(mine,))).get("/").content.decode()
    assert "plan-mine" in page
    assert "plan-hidden" not in page
    assert "plan-hidden" in login(f.user("viewer")).get("/").content.decode()


def test_the_break_list_filters_by_age() -> None:
    today = timezone.localdate()
    old = f.brk(order_no="OLD-1", day=today - timedelta(days=40))
    f.brk(order_no="NEW-1", day=today)
    page = login(f.user("viewer"), "zh-hans").get("/breaks/", {"age": ">30"}).content.decode()
    assert "OLD-1" in page
    assert "NEW-1" not in page
    assert "账龄" in page
    assert old.pk
