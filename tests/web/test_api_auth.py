"""API tokens: created once, kept hashed, accepted as Bearer; without one (or the permission) nothing."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client
from django.utils import timezone

from tally.cli import main
from tally.web.api.auth import create_token
from tally.web.models import ApiToken

from .factories import make_source, make_user

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_openapi_is_served_at_api_openapi_json() -> None:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "Tally"
    assert "/api/sources/" in spec["paths"]


def test_token_is_stored_as_its_sha256_only() -> None:
    user = make_user("ingest.view_source")
    row, token = create_token(user.username, "ci")
    assert token.startswith(f"tally_{row.prefix}_")
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    stored = ApiToken.objects.values().get(pk=row.pk)
    assert token not in json.dumps(stored, default=str)


def test_a_token_authenticates_as_its_user() -> None:
    user = make_user("ingest.view_source")
    make_source("wechat")
    _, token = create_token(user.username)
    me = Client().get("/api/me", **bearer(token))
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    sources = Client().get("/api/sources/", **bearer(token))
    assert [s["name"] for s in sources.json()] == ["wechat"]
    assert ApiToken.objects.get(user=user).last_used_at is not None


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer tally_0000_guess", "Basic dXNlcjpwYXNz"])
def test_no_or_wrong_token_is_401(header: str | None) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert Client().get("/api/sources/", **extra).status_code == 401


def test_revoked_expired_or_inactive_tokens_are_refused() -> None:
    user = make_user("ingest.view_source")
    row, token = create_token(user.username)
    row.revoked = True
    row.save()
    assert Client().get("/api/me", **bearer(token)).status_code == 401
    row2, token2 = create_token(user.username)
    row2.expires_at = timezone.now()
    row2.save()
    assert Client().get("/api/me", **bearer(token2)).status_code == 401
    _, token3 = create_token(user.username)
    user.is_active = False
    user.save()
    assert Client().get("/api/me", **bearer(token3)).status_code == 401


def test_token_without_the_permission_is_403() -> None:
    user = make_user()
    _, token = create_token(user.username)
    assert Client().get("/api/sources/", **bearer(token)).status_code == 403


def test_a_logged_in_browser_session_works_too() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("ingest.view_source"))
    assert client.get("/api/sources/").status_code == 200


def test_tally_token_create_prints_a_working_token(capsys: pytest.CaptureFixture[str]) -> None:
    user = make_user("ingest.view_source")
    assert main(["token", "create", user.username, "--name", "ci"]) == 0
    token = capsys.readouterr().out.strip()
    assert Client().get("/api/me", **bearer(token)).json()["username"] == user.username
    assert ApiToken.objects.get(user=user).name == "ci"


def test_tally_token_create_for_an_unknown_user_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "nobody"]) == 2
    assert "error[UNKNOWN_USER]" in capsys.readouterr().err


def test_tally_createuser_adds_a_user_in_a_role(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from django.contrib.auth.models import User

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["createuser", "finance1", "--role", "operator", "--email", "f@example.com"]) == 0
    user = User.objects.get(username="finance1")
    assert [g.name for g in user.groups.all()] == ["operator"]
    assert user.check_password("a long enough password")
    assert user.has_perm("breaks.add_run")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["createuser", "finance2", "--role", "viewer"]) == 2
    assert "error[WEAK_PASSWORD]" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["createuser", "finance1", "--role", "viewer"]) == 2
    assert "error[USER_EXISTS]" in capsys.readouterr().err
