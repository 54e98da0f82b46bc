"""The reports and rules pages: figures, charts, exports, permissions (viewer, operator, plan access),
CSRF on the apply button, and the Chinese page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from python_calamine import CalamineWorkbook

from tally.breaks.models import Action, Break, DayResult, Plan, PlanAccess
from tally.web.models import ExportJob

from .factories import export, jobs_inline, make_user

pytestmark = pytest.mark.django_db
DAY = dt.date(2024, 5, 10)
_seq = itertools.count(1)
VIEW = ("breaks.view_break",)
OPERATE = ("breaks.view_break", "breaks.act_on_break")


def client_for(*perms: str) -> tuple[Client, User]:
    user = make_user(*perms)
    client = Client()
    client.force_login(user)
    return client, user


def make_plan(name: str = "wechat_vs_shop", **spec: Any) -> Plan:
    return Plan.objects.create(name=name, spec={"ours": "shop", "theirs": "wechat", **spec})


def record(source: str, order_no: str, amount: int, day: dt.date = DAY) -> dict[str, Any]:
    return {"source": source, "business_day": day.isoformat(), "record_kind": "payment", "order_no": order_no,
            "refund_no": None, "amount_minor": amount, "fee_minor": 0, "discount_minor": 0, "currency": "CNY",
            "status": "SUCCESS", "bill_sha256": "ab" * 32, "line_no": next(_seq)}


def make_break(plan: Plan, kind: str, ours: int | None, theirs: int | None, *, day: dt.date = DAY,
               order_no: str | None = None) -> Break:
    order_no = order_no or f"ORD-{next(_seq)}"
    return Break.objects.create(
        plan=plan, identity=f"id-{next(_seq)}", day=day, detected_on=day, kind=kind, record_kind="payment",
        order_no=order_no, currency="CNY", ours_amount_minor=ours, theirs_amount_minor=theirs, reason="amount_mismatch",
        ours=record("shop", order_no, ours, day) if ours is not None else None,
        theirs=record("wechat", order_no, theirs, day) if theirs is not None else None)


def test_report_page_shows_the_statement_charts_and_aging() -> None:
    plan = make_plan()
    DayResult.objects.create(plan=plan, day=DAY, matched=120, short=1, long=1, cross_day=4)
    make_break(plan, "short", 12345, None)
    make_break(plan, "long", None, 500)
    make_break(plan, "short", 700, None, day=DAY - dt.timedelta(days=9))
    client, _user = client_for(*VIEW)
    html = client.get(reverse("plan-report", args=[plan.name]), {"day": "2024-05-10"}).content.decode()
    assert "Report of wechat_vs_shop" in html
    assert "123.45" in html  # short, in major units
    assert "Carried in (unsettled at the start of the day)" in html
    assert html.count('<svg viewBox="0 0 520 220" role="img"') == 3
    assert "<title>05-10 · long: 5.00</title>" in html
    assert "8–30 days" in html
    assert f'<form method="post" action="/reports/{plan.name}/report.xlsx?day=2024-05-10">' in html


def test_report_defaults_to_the_latest_day_and_says_when_a_day_was_not_run() -> None:
    plan = make_plan()
    DayResult.objects.create(plan=plan, day=DAY, matched=3)
    client, _user = client_for(*VIEW)
    assert "2024-05-10" in client.get(reverse("plan-report", args=[plan.name])).content.decode()
    html = client.get(reverse("plan-report", args=[plan.name]), {"day": "2024-05-11"}).content.decode()
    assert "day not run" in html


def test_exports_are_neutralized_files(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_inline(monkeypatch)
    plan = make_plan()
    make_break(plan, "short", 100, None, order_no="=cmd|' /C calc'!A0")
    client, _user = client_for(*VIEW)
    response, data = export(client, reverse("plan-report-export", args=[plan.name, "breaks", "csv"]),
                            {"day": "2024-05-10"})
    assert response["Content-Disposition"] == 'attachment; filename="breaks_wechat_vs_shop_20240510.csv"'
    assert data.startswith(b"\xef\xbb\xbf")
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["order_no"] == "'=cmd|' /C calc'!A0"
    response, data = export(client, reverse("plan-report-export", args=[plan.name, "report", "xlsx"]),
                            {"day": "2024-05-10"})
    assert response["Content-Disposition"] == 'attachment; filename="report_wechat_vs_shop_20240510.xlsx"'
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.sheet_names == ["statement", "breaks"]
    assert book.get_sheet_by_name("breaks").to_python()[1][7] == "'=cmd|' /C calc'!A0"
    assert client.post(reverse("plan-report-export", args=[plan.name, "secrets", "csv"])).status_code == 404
    assert client.post(reverse("plan-report-export", args=[plan.name, "report", "pdf"])).status_code == 404
    assert not ExportJob.objects.exclude(status="done").exists()


def test_plans_the_user_may_not_see_are_not_found() -> None:
    hidden, mine = make_plan("secret_plan"), make_plan("mine")
    client, user = client_for(*OPERATE)
    PlanAccess.objects.create(plan=mine, user=user)
    for name in ("plan-report", "plan-rules"):
        assert client.get(reverse(name, args=[hidden.name])).status_code == 404
        assert client.get(reverse(name, args=[mine.name])).status_code == 200
    assert client.post(reverse("plan-report-export", args=[hidden.name, "report", "csv"])).status_code == 404
    assert not ExportJob.objects.exists()
    assert client.post(reverse("plan-rules", args=[hidden.name])).status_code == 404
    index = client.get(reverse("report-index")).content.decode()
    assert "mine" in index
    assert "secret_plan" not in index


def test_anonymous_users_log_in_first_and_others_without_the_permission_get_403() -> None:
    plan = make_plan()
    assert Client().get(reverse("plan-report", args=[plan.name])).status_code == 302
    client, _user = client_for()
    assert client.get(reverse("plan-rules", args=[plan.name])).status_code == 403


RULES = [{"rule": "cross_day"}, {"rule": "rounding", "tolerance_minor": 1}]


def test_rules_page_previews_and_a_viewer_cannot_apply() -> None:
    plan = make_plan(rules=RULES)
    near = make_break(plan, "mismatch", 1000, 999)
    make_break(plan, "mismatch", 1000, 990)
    client, _user = client_for(*VIEW)
    html = client.get(reverse("plan-rules", args=[plan.name])).content.decode()
    assert "rounding tolerance" in html
    assert "1 of 2 open breaks would be resolved." in html
    assert f'href="/breaks/{near.pk}/"' in html
    assert "difference 0.01 CNY is within the rounding tolerance of 0.01 CNY" in html
    assert "Only operators apply rules." in html
    assert client.post(reverse("plan-rules", args=[plan.name])).status_code == 403
    assert Break.objects.get(pk=near.pk).status == "open"


def test_an_operator_applies_the_rules_with_csrf() -> None:
    plan = make_plan(rules=RULES)
    near = make_break(plan, "mismatch", 1000, 999)
    user = make_user(*OPERATE)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(reverse("plan-rules", args=[plan.name])).status_code == 403  # no token
    page = strict.get(reverse("plan-rules", args=[plan.name]))
    token = page.cookies["csrftoken"].value
    response = strict.post(reverse("plan-rules", args=[plan.name]), {"csrfmiddlewaretoken": token}, follow=True)
    assert "The rules resolved 1 break." in response.content.decode()
    near.refresh_from_db()
    assert near.status == "resolved"
    assert Action.objects.get(breaks=near).rule == "rounding"


def test_the_pages_in_chinese() -> None:
    plan = make_plan(rules=RULES)
    make_break(plan, "mismatch", 1000, 999)
    client, _user = client_for(*OPERATE)
    client.cookies["django_language"] = "zh-hans"
    report = client.get(reverse("plan-report", args=[plan.name]), {"day": "2024-05-10"}).content.decode()
    assert "应收" in report
    assert "挂账" in report
    rules = client.get(reverse("plan-rules", args=[plan.name])).content.decode()
    assert "尾差" in rules
    assert "差额 0.01 CNY" in rules
