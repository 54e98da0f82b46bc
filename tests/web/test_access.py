"""Who sees what: anonymous → login, no permission → 403, permission → the page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from .factories import PASSWORD, make_break, make_user, make_viewer

pytestmark = pytest.mark.django_db

BREAK_PAGES = ["dashboard", "break-list"]


def _urls() -> dict[str, str]:
    brk = make_break()
    return {
        "dashboard": reverse("dashboard"),
        "break-list": reverse("break-list"),
        "break-detail": reverse("break-detail", args=[brk.pk]),
        "bill-list": reverse("bill-list"),
    }


@pytest.mark.parametrize("page", ["dashboard", "break-list", "break-detail", "bill-list"])
def test_anonymous_is_sent_to_login(page: str) -> None:
    url = _urls()[page]
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("page", ["dashboard", "break-list", "break-detail", "bill-list"])
def test_user_without_view_permission_gets_403(page: str) -> None:
    url = _urls()[page]
    client = Client()
    client.force_login(make_user())
    response = client.get(url)
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def test_bills_need_view_bill_not_view_break() -> None:
    client = Client()
    client.force_login(make_user("breaks.view_break"))
    assert client.get(reverse("bill-list")).status_code == 403
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200
    assert b"Latest bills" not in dashboard.content
    assert reverse("bill-list").encode() not in dashboard.content


def test_breaks_need_view_break_not_view_bill() -> None:
    client = Client()
    client.force_login(make_user("ingest.view_bill"))
    assert client.get(reverse("bill-list")).status_code == 200
    assert client.get(reverse("break-list")).status_code == 403


@pytest.mark.parametrize("page", ["dashboard", "break-list", "break-detail", "bill-list"])
def test_permitted_user_sees_the_page(page: str) -> None:
    url = _urls()[page]
    client = Client()
    client.force_login(make_viewer())
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_healthz_needs_no_login() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_login_form_logs_in_and_logout_needs_post() -> None:
    make_viewer(username="alice")
    client = Client()
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'autocomplete="current-password"' in page.content
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_wrong_password_shows_an_error() -> None:
    make_viewer(username="bob")
    response = Client().post(reverse("login"), {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content


def test_forms_carry_csrf_tokens() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_viewer())
    response = client.post(reverse("logout"))
    assert response.status_code == 403  # no token, no logout
    page = client.get(reverse("dashboard")).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') == 2  # language switch and logout


def test_pages_only_answer_safe_methods() -> None:
    client = Client()
    client.force_login(make_viewer())
    assert client.post(reverse("break-list")).status_code == 405
    assert client.head(reverse("dashboard")).status_code == 200
