"""Suggested matches on a break's page: each group with its members and sum, confirmed in one click
by the existing manual-match action (the service decides, as for any proposal)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tally.breaks.models import Action, Break
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db


def login(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=user.username, password=f.PASSWORD)
    return client


def suggested(brk: Break) -> dict[str, Any]:
    """How the engine stores one of ``brk``'s records in another break's suggestions."""
    record = brk.ours or brk.theirs
    assert record is not None
    return {"side": "ours" if brk.ours else "theirs", **{k: record[k] for k in (
        "business_day", "order_no", "amount_minor", "currency", "line_no", "source", "bill_sha256")}}


def credit_with_group() -> tuple[Break, Break, Break]:
    plan = f.plan()
    po1 = f.brk(plan, "short", ours=3000, order_no="PO-1")
    po2 = f.brk(plan, "short", ours=4500, order_no="PO-2")
    credit = f.brk(plan, "long", theirs=7500, order_no="BATCH-77",
                   suggestions=[{"group": [suggested(po1), suggested(po2)], "amount_minor": 7500, "currency": "CNY"}])
    return credit, po1, po2


def test_the_group_is_shown_with_its_members_and_sum_and_confirmed_by_a_manual_match() -> None:
    credit, po1, po2 = credit_with_group()
    operator = login(f.user("operator"))
    page = operator.get(f"/breaks/{credit.pk}/").content.decode()
    assert "Suggested matches" in page
    assert "A group of 2 records" in page
    assert "PO-1" in page
    assert "PO-2" in page
    assert "75.00" in page
    assert "= this break" in page
    assert f'href="/breaks/{po1.pk}/"' in page
    assert f'name="with_ids" value="{po1.pk},{po2.pk}"' in page

    answer = operator.post(f"/breaks/{credit.pk}/propose/",
                           {"kind": "manual_match", "with_ids": f"{po1.pk},{po2.pk}"}, follow=True)
    assert "applied" in answer.content.decode()
    action = Action.objects.get()
    assert (action.kind, sorted(b.pk for b in action.breaks.all())) == (
        "manual_match", sorted([credit.pk, po1.pk, po2.pk]))
    assert {b.status for b in Break.objects.all()} == {"resolved"}
    after = operator.get(f"/breaks/{credit.pk}/").content.decode()
    assert 'type="hidden" name="with_ids"' not in after
    assert "Not confirmable now" in after


def test_a_member_that_is_not_a_break_yet_makes_the_group_unconfirmable() -> None:
    plan = f.plan()
    po1 = f.brk(plan, "short", ours=3000, order_no="PO-1")
    pending = {**suggested(po1), "order_no": "PO-9", "line_no": 999_999}
    credit = f.brk(plan, "long", theirs=7500, order_no="BATCH-77",
                   suggestions=[{"group": [suggested(po1), pending], "amount_minor": 7500, "currency": "CNY"}])
    page = login(f.user("operator")).get(f"/breaks/{credit.pk}/").content.decode()
    assert "not a break yet (still pending)" in page
    assert 'type="hidden" name="with_ids"' not in page


def test_viewers_see_suggestions_without_the_confirm_button_and_in_chinese() -> None:
    credit, _, _ = credit_with_group()
    page = login(f.user("viewer"), "zh-hans").get(f"/breaks/{credit.pk}/").content.decode()
    for words in ("建议匹配", "一组 2 条记录", "合计", "= 此差错金额"):
        assert words in page, words
    assert 'type="hidden" name="with_ids"' not in page


def test_a_single_suggested_record_is_shown_too() -> None:
    plan = f.plan()
    po1 = f.brk(plan, "short", ours=7500, order_no="PO-1")
    credit = f.brk(plan, "long", theirs=7500, order_no="BATCH-77", suggestions=[suggested(po1)])
    page = login(f.user("operator")).get(f"/breaks/{credit.pk}/").content.decode()
    assert "One record" in page
    assert f'name="with_ids" value="{po1.pk}"' in page
