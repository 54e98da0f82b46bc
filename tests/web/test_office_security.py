"""Security of the whole back office: every URL needs a login (or a token), every mutating view
refuses a viewer; login lockout; security headers; upload size limit; health check; request logs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tally.web.api.auth import create_token
from tally.web.lockout import FAILURES, locked_until
from tally.web.models import LoginFailure, RunJob
from tests.web.factories import make_bill, make_break, make_source

from .office_factories import PASSWORD, role_user

pytestmark = pytest.mark.django_db

# Reachable without logging in, on purpose.
# (api-root answers 404 to everyone: nothing lives there.)
PUBLIC = {"login", "healthz", "set_language", "api/openapi.json", "api/docs", "logout", "api-root"}
# A logged-in user's own things: any role may post them. (An export is its requester's own job,
# started by a POST, and reading what the role may read already: tests/web/test_export_jobs.py.)
OWN = {"preferences", "set_language", "logout", "api/me", "browser-export", "plan-report-export"}


def patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """(route, name) of every URL pattern, the admin's aside (Django's own login guards it)."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                continue
            found += patterns(entry, route)
        elif isinstance(entry, URLPattern):
            found.append((route, entry.name or route))
    return found


def concrete(route: str, objects: dict[str, Any]) -> str:
    """A route with real ids and names in it (of objects that exist), so views get past lookups."""
    def value(match: re.Match[str]) -> str:
        kind, name = match.group(1) or "str", match.group(2)
        if kind == "int":
            for prefix, key in (("runs/jobs", "job"), ("runs", "run"), ("users", "user"), ("bills", "bill"),
                                ("api/bills", "bill"), ("breaks", "break"), ("api/runs", "run")):
                if route.startswith(prefix):
                    return str(objects[key])
            return str(objects["break"])
        if "plans" in route:
            return objects["plan"]
        if "sources" in route or "source" in name:
            return objects["source"]
        if name in ("fmt",):
            return "csv"
        if name in ("sha256",):
            return objects["sha"]
        return "x"
    path = re.sub(r"<(?:(\w+):)?(\w+)>", value, route)
    path = re.sub(r"\{(\w+)\}", lambda m: value(re.match(r"<(\w+)>", f"<{m.group(1)}>")), path)  # type: ignore[arg-type]
    return "/" + path.lstrip("^").rstrip("$")


@pytest.fixture
def objects() -> dict[str, Any]:
    brk = make_break()
    source = make_source()
    bill = make_bill(source)
    from tally.breaks.models import Run

    run = Run.objects.create(plan=brk.plan, first_day=brk.day, last_day=brk.day, engine="duckdb")
    job = RunJob.objects.create(plan=brk.plan, first_day=brk.day, last_day=brk.day, via="thread")
    return {"break": brk.pk, "plan": brk.plan.name, "source": source.name, "bill": bill.pk, "sha": bill.sha256,
            "run": run.pk, "job": job.pk, "user": role_user("viewer").pk}


def is_public(route: str, name: str) -> bool:
    return name in PUBLIC or route.rstrip("/") in PUBLIC or route.startswith("static/")


def test_anonymous_gets_the_login_page_or_401_everywhere(objects: dict[str, Any]) -> None:
    checked = 0
    for route, name in patterns():
        if is_public(route, name):
            continue
        url = concrete(route, objects)
        for method in ("get", "post"):
            response = getattr(Client(), method)(url)
            if route.startswith("api/"):
                assert response.status_code in (401, 405), (method, url, response.status_code)
            else:
                assert response.status_code in (302, 405), (method, url, response.status_code)
                if response.status_code == 302:
                    assert response["Location"].startswith(reverse("login")), (method, url)
            checked += 1
    assert checked > 40


def snapshot() -> dict[str, int]:
    """Row counts of every model of Tally's apps and of auth: what a refused request must not move."""
    from django.apps import apps

    return {m._meta.label: m._default_manager.count() for m in apps.get_models()
            if m._meta.app_label in ("breaks", "ingest", "web", "auth") and m._meta.model_name != "loginfailure"}


# The back office pages built with this test: a viewer gets exactly 403 (or 405).
STRICT = ("browse", "plans", "runs", "users", "settings", "api/sources", "api/bills", "api/plans", "api/runs",
          "api/browse", "api/me")


def test_a_viewer_may_change_nothing(objects: dict[str, Any]) -> None:
    viewer = role_user("viewer")
    client = Client()
    client.force_login(viewer)
    _, token = create_token(viewer.username)
    checked = 0
    wrong: list[tuple[str, str, int]] = []
    for route, name in patterns():
        if is_public(route, name) or name in OWN or route.rstrip("/") in OWN:
            continue
        url = concrete(route, objects)
        for method in ("post", "put", "patch", "delete"):
            before = snapshot()
            if route.startswith("api/"):
                response = getattr(Client(), method)(url, data="{}", content_type="application/json",
                                                      HTTP_AUTHORIZATION=f"Bearer {token}")
            else:
                response = getattr(client, method)(url)
            refused = response.status_code in (403, 405)
            if not refused and not route.startswith(STRICT):
                # Another area's view may answer a refusal its own way (a redirect with the error
                # shown, a validation error); then nothing may have changed.
                refused = response.status_code in (302, 400, 404, 409, 422) and snapshot() == before
            if not refused:
                wrong.append((method, url, response.status_code))
            checked += 1
    assert wrong == [], "\n".join(map(str, wrong))
    assert checked > 100


def login(client: Client, username: str, password: str) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


def test_five_failures_lock_the_account_for_15_minutes_even_with_the_right_password() -> None:
    user = role_user("viewer")
    client = Client()
    for _ in range(FAILURES):
        assert login(client, user.username, "wrong").status_code == 200
    locked = login(client, user.username, PASSWORD)
    assert locked.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"locked for 15 more minutes" in locked.content
    assert locked_until(user.username) is not None
    # The admin's login is refused too.
    assert not Client().login(username=user.username, password=PASSWORD)


def test_the_lock_ends_after_15_minutes_and_a_login_clears_the_failures() -> None:
    user = role_user("viewer")
    old = timezone.now() - timedelta(minutes=16)
    for _ in range(FAILURES):
        LoginFailure.objects.create(username=user.username)
    LoginFailure.objects.update(at=old)
    assert locked_until(user.username) is None
    client = Client()
    assert login(client, user.username, PASSWORD).status_code == 302
    assert not LoginFailure.objects.filter(username=user.username).exists()


def test_four_failures_do_not_lock_and_failures_far_apart_do_not_add_up() -> None:
    user = role_user("viewer")
    for _ in range(FAILURES - 1):
        login(Client(), user.username, "wrong")
    assert locked_until(user.username) is None
    LoginFailure.objects.update(at=timezone.now() - timedelta(minutes=20))
    login(Client(), user.username, "wrong")
    assert locked_until(user.username) is None
    assert login(Client(), user.username, PASSWORD).status_code == 302


def test_security_headers_on_pages() -> None:
    client = Client()
    client.force_login(role_user("viewer"))
    response = client.get(reverse("dashboard"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    # No inline script anywhere on the page: every <script> has a src.
    assert not re.search(rb"<script(?![^>]*\bsrc=)[^>]*>", response.content)


def test_a_body_over_the_upload_limit_is_refused_before_any_view(settings: Any) -> None:
    settings.TALLY_REQUEST_MAX_BYTES = 1000
    client = Client()
    client.force_login(role_user("operator"))
    response = client.post(reverse("login"), data="x" * 2000, content_type="text/plain")
    assert response.status_code == 413


def test_healthz_checks_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Client().get("/healthz").content == b"ok"
    from django.db import DatabaseError
    from django.db.backends.utils import CursorWrapper

    def broken(self: Any, sql: str, params: Any = None) -> Any:
        raise DatabaseError("gone")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.content == b"database unavailable"


def test_one_json_log_line_per_request_without_secrets(tally_home: Path) -> None:
    user = role_user("viewer")
    _, token = create_token(user.username)
    Client().get("/api/me?q=secret-search", HTTP_AUTHORIZATION=f"Bearer {token}")
    lines = (tally_home / "logs" / "requests.log").read_text().splitlines()
    entry = json.loads(lines[-1])
    assert (entry["method"], entry["path"], entry["status"], entry["user_id"]) == ("GET", "/api/me", 200, user.pk)
    assert entry["duration_ms"] >= 0
    assert token not in "\n".join(lines)
    assert "secret-search" not in "\n".join(lines)


def test_a_nul_character_is_refused_before_any_view() -> None:
    # Found by schemathesis on PostgreSQL: a NUL in a filter reached the database, which cannot
    # hold one in text (a 500). Refused up front, for the API as JSON and for pages as text.
    user = role_user("operator")
    _, token = create_token(user.username)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    for answer in (api.get("/api/runs/?plan=a%00b"), api.get("/api/breaks/?order_no=%00"), api.get("/api/plans/a%00"),
                   api.post("/api/breaks/bulk", '{"operation": "resolve", "reason": "x\\u0000"}',
                            content_type="application/json")):
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "NUL_CHARACTER"
    office = Client()
    assert office.login(username=user.username, password=PASSWORD)
    page = office.get("/breaks/?order_no=x%00")
    assert page.status_code == 400
    assert "NUL character" in page.content.decode()
    assert api.get("/api/runs/?plan=ab").status_code == 200
