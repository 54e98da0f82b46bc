"""The break queue counts at most its cap: exact below it, "more than" above it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tally.web.paging import CappedPaginator
from tests.web.factories import make_break, make_plan

from .office_factories import role_user

pytestmark = pytest.mark.django_db


def test_below_the_cap_the_count_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CappedPaginator, "cap", 5)
    plan = make_plan()
    for n in range(5):
        make_break(plan, identity=f"b{n}", order_no=f"ORD-{n}")
    client = Client()
    client.force_login(role_user("operator"))
    page = client.get(reverse("break-list")).content.decode()
    assert "5 breaks" in page
    assert "More than" not in page


def test_above_the_cap_it_says_more_than_and_pages_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CappedPaginator, "cap", 5)
    monkeypatch.setattr("tally.web.views.breaks.PAGE_SIZE", 2)
    plan = make_plan()
    for n in range(9):
        make_break(plan, identity=f"b{n}", order_no=f"ORD-{n}")
    client = Client()
    client.force_login(role_user("operator"))
    page = client.get(reverse("break-list")).content.decode()
    assert "More than 5 breaks: narrow the filters to see them all." in page
    assert "Apply to all matching breaks (more than 5)" in page
    assert "Page 1<" in page
    assert " of " not in page.split('class="pager-at">')[1].split("<")[0]
    second = client.get(reverse("break-list"), {"page": 2})
    assert [b.order_no for b in second.context["page"].object_list] == ["ORD-2", "ORD-3"]
    paginator = second.context["page"].paginator
    assert (paginator.count, paginator.capped) == (6, True)
