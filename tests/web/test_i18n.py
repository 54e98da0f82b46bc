"""The back office in 简体中文: the language switch, the vocabulary, complete translations."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from .factories import make_bill, make_break, make_day_result, make_plan, make_viewer

pytestmark = pytest.mark.django_db

PO = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.po"


def zh_client() -> Client:
    client = Client()
    client.force_login(make_viewer())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


def test_dashboard_in_chinese() -> None:
    plan = make_plan()
    make_day_result(plan, matched=5, short=1)
    make_break(plan, kind="short", theirs_amount_minor=None)
    make_bill()
    html = zh_client().get(reverse("dashboard")).content.decode()
    assert '<html lang="zh-hans">' in html
    for word in ("仪表盘", "差错", "短款", "长款", "错账", "对账方案", "对账单", "退出登录"):
        assert word in html, word


def test_break_list_and_detail_in_chinese() -> None:
    brk = make_break(kind="mismatch", status="open", record_kind="refund")
    make_break(kind="long", ours_amount_minor=None, status="suspended")
    client = zh_client()
    html = client.get(reverse("break-list")).content.decode()
    words = ("差错", "错账", "长款", "差错未处理", "差错已挂起", "退款",
             "业务日期", "我方金额", "对方金额", "金额不符")
    for word in words:
        assert word in html, word
    detail = client.get(reverse("break-detail", args=[brk.pk])).content.decode()
    for word in ("我方", "对方", "原始账单行", "账源", "商户订单号"):
        assert word in detail, word


def test_bills_and_login_in_chinese() -> None:
    make_bill(status="rejected", error="bad")
    html = zh_client().get(reverse("bill-list")).content.decode()
    for word in ("对账单", "账源", "已拒收", "行数"):
        assert word in html, word
    anonymous = Client()
    anonymous.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "登录" in anonymous.get(reverse("login")).content.decode()


def test_language_switch_keeps_the_choice_in_a_cookie() -> None:
    client = Client()
    client.force_login(make_viewer())
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("break-list")})
    assert response.status_code == 302
    assert response["Location"] == reverse("break-list")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert "差错" in client.get(reverse("break-list")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Breaks" in client.get(reverse("break-list")).content.decode()


def test_every_message_has_a_chinese_translation() -> None:
    entries = PO.read_text(encoding="utf-8").split("\n\n")[1:]  # the first entry is the header
    assert entries
    untranslated = []
    for entry in entries:
        lines = [line for line in entry.strip().splitlines() if not line.startswith("#")]
        if not lines:
            continue
        text = "\n".join(lines)
        if 'msgstr ""' in text and not any(
            line.startswith('"') for line in text.split('msgstr ""', 1)[1].splitlines()
        ):
            untranslated.append(text)
        if "#, fuzzy" in entry:
            untranslated.append(text)
    assert untranslated == []
    with PO.with_suffix(".mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    compiled = {key if isinstance(key, str) else key[0] for key in catalog} - {""}
    assert len(compiled) == len(entries), "the .mo is stale: compile the .po file (msgfmt)"
