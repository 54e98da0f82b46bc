"""Approvers are reminded of proposals waiting longer than TALLY_APPROVAL_REMIND_HOURS: once per
period each, through notify (Django's locmem mail and a real signed webhook receiver on
127.0.0.1), by the worker's periodic task and by `tally actions --remind`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from tally.breaks.models import Action
from tally.cli import main
from tally.services import approvals, resolution
from tally.services.break_alerts import remind_waiting
from tally.worker import build_huey, register
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db
SECRET = "reminder-secret"
NOW = dt.datetime(2024, 5, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def hooks(settings: Any) -> Iterator[list[dict[str, Any]]]:
    """Alerts on: locmem mail, and a webhook receiver on 127.0.0.1 that checks the signature."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            got.append({"body": json.loads(body), "event": self.headers.get("X-Tally-Event"),
                        "valid": hmac.compare_digest(self.headers.get("X-Tally-Signature", ""), expected)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TALLY_ALERT_EMAILS = ["approvers@example.com"]
    settings.TALLY_ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    settings.TALLY_ALERT_WEBHOOK_SECRET = SECRET
    settings.TALLY_APPROVAL_REMIND_HOURS = 24
    yield got
    server.shutdown()
    server.server_close()


def proposed(hours_ago: float, maker: str = "maker") -> Action:
    """A supplement waiting for approval, proposed ``hours_ago`` before NOW."""
    person = f.user("operator", username=f"{maker}{uuid.uuid4().hex[:6]}")
    action = resolution.propose([f.brk(kind="long", theirs=900).pk], "supplement", person, reason="order lost")
    assert action.state == Action.State.PROPOSED
    Action.objects.filter(pk=action.pk).update(created_at=NOW - dt.timedelta(hours=hours_ago))
    return Action.objects.get(pk=action.pk)


def test_a_proposal_waiting_past_the_period_is_reminded(hooks: list[dict[str, Any]]) -> None:
    late = proposed(25)
    proposed(23)  # not yet due
    assert remind_waiting(NOW) == [late.pk]
    [hook] = hooks
    assert (hook["event"], hook["valid"]) == ("approval.reminder", True)
    body = hook["body"]
    assert (body["event"], body["hours"], body["count"], body["truncated"]) == ("approval.reminder", 24, 1, False)
    [row] = body["actions"]
    assert (row["action"], row["plan"], row["kind"], row["amount_minor"], row["waiting_hours"]) == (
        late.pk, late.plan.name, "supplement", 900, 25)
    [message] = mail.outbox
    assert message.subject == "[Tally] 1 action(s) wait for approval for more than 24 h"
    assert f"#{late.pk}" in message.body
    assert "waiting 25 h" in message.body
    assert Action.objects.get(pk=late.pk).reminded_at == NOW


def test_nothing_is_due_before_the_period(hooks: list[dict[str, Any]]) -> None:
    fresh = proposed(23.9)
    assert remind_waiting(NOW) == []
    assert (hooks, mail.outbox) == ([], [])
    assert Action.objects.get(pk=fresh.pk).reminded_at is None


def test_at_most_once_per_period(hooks: list[dict[str, Any]]) -> None:
    action = proposed(30)
    assert remind_waiting(NOW) == [action.pk]
    for later in (dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(hours=23, minutes=59)):
        assert remind_waiting(NOW + later) == []
    assert len(hooks) == len(mail.outbox) == 1
    assert remind_waiting(NOW + dt.timedelta(hours=24)) == [action.pk]  # a period later: once more
    assert len(hooks) == len(mail.outbox) == 2


def test_the_period_is_a_setting_and_decided_actions_are_left_alone(settings: Any,
                                                                    hooks: list[dict[str, Any]]) -> None:
    settings.TALLY_APPROVAL_REMIND_HOURS = 2
    waiting, decided = proposed(3), proposed(3)
    approvals.approve(decided.pk, f.user("approver"))
    assert remind_waiting(NOW) == [waiting.pk]
    assert [row["action"] for row in hooks[0]["body"]["actions"]] == [waiting.pk]
    settings.TALLY_APPROVAL_REMIND_HOURS = 0  # off
    assert remind_waiting(NOW + dt.timedelta(days=3)) == []
    assert len(hooks) == 1


def test_nothing_is_marked_when_no_alert_goes_anywhere(settings: Any) -> None:
    settings.TALLY_ALERT_EMAILS = []
    settings.TALLY_ALERT_WEBHOOK_URL = ""
    action = proposed(48)
    assert remind_waiting(NOW) == []
    assert Action.objects.get(pk=action.pk).reminded_at is None


def test_the_workers_periodic_task_reminds(hooks: list[dict[str, Any]], tally_home: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    huey = build_huey(redis_url="", name=f"test-{uuid.uuid4().hex[:8]}")
    huey.immediate = True
    register(huey)
    [task] = [t for t in huey._registry._periodic_tasks if t.__name__ == "tally.remind_approvers"]
    waited = timezone.now() - NOW + dt.timedelta(hours=25)
    action = proposed(waited.total_seconds() / 3600)  # 25 hours before the real clock
    assert task().execute() == 1
    assert task().execute() == 0  # the next run, minutes later: not again
    assert [h["body"]["actions"][0]["action"] for h in hooks] == [action.pk]


def test_tally_actions_remind_runs_it_once(hooks: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    action = proposed((timezone.now() - NOW).total_seconds() / 3600 + 30)  # 30 hours before the real clock
    assert main(["actions", "--remind"]) == 0
    out = capsys.readouterr().out
    assert f"reminded approvers of actions waiting over 24 h: {action.pk}" in out
    assert f"{action.pk:>6}" in out  # and the list of what is waiting, as before
    assert main(["actions", "--remind"]) == 0
    assert "waiting over 24 h: none" in capsys.readouterr().out
    assert len(hooks) == 1
