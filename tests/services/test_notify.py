"""Notifications: one module sends email (Django's locmem backend here) and the signed webhook (a
real HTTP server on 127.0.0.1 checks the signature); new breaks after a run day; approvals waiting."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from tally.breaks.models import Plan
from tally.ingest.models import Source
from tally.services import notify, resolution
from tally.services.importing import import_bill
from tally.services.running import run_plan
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db
DAY = dt.date(2024, 5, 1)
SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on 127.0.0.1 that answers 204 when the signature is right, 401 if not."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(self.headers.get("X-Tally-Signature", ""), expected)
            got.append({"body": json.loads(body), "valid": valid, "event": self.headers.get("X-Tally-Event")})
            self.send_response(204 if valid else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/tally", got
    server.shutdown()
    server.server_close()


@pytest.fixture
def alerts_on(settings: Any, receiver: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TALLY_ALERT_EMAILS = ["finance@example.com"]
    settings.TALLY_ALERT_WEBHOOK_URL = receiver[0]
    settings.TALLY_ALERT_WEBHOOK_SECRET = SECRET
    return receiver[1]


def test_send_emails_and_posts_a_signed_event(alerts_on: list[dict[str, Any]]) -> None:
    delivery = notify.send("test.event", "subject line", "the body", {"n": 1, "text": "短款"})
    assert delivery == notify.Delivery(["finance@example.com"], "204")
    [message] = mail.outbox
    assert (message.subject, message.body, message.to) == ("[Tally] subject line", "the body", ["finance@example.com"])
    [hook] = alerts_on
    assert hook == {"body": {"event": "test.event", "n": 1, "text": "短款"}, "valid": True, "event": "test.event"}


def test_a_wrong_secret_is_refused_by_the_receiver_and_reported(settings: Any,
                                                                alerts_on: list[dict[str, Any]]) -> None:
    settings.TALLY_ALERT_WEBHOOK_SECRET = "not-the-receivers"
    delivery = notify.send("test.event", "s", "b", {})
    assert delivery.webhook_status == "failed: 401"  # a 4xx is not retried
    assert [h["valid"] for h in alerts_on] == [False]


def test_nothing_configured_sends_nothing(settings: Any) -> None:
    settings.TALLY_ALERT_EMAILS = []
    settings.TALLY_ALERT_WEBHOOK_URL = ""
    assert notify.send("test.event", "s", "b", {}) == notify.Delivery([], "")
    assert mail.outbox == []


# New breaks after a run day.

def source(name: str) -> None:
    Source.objects.create(name=name, kind="table", spec={
        "kind": "table", "format": "csv", "currency": "CNY", "timezone": "Asia/Shanghai",
        "columns": {"order_no": "order_no", "amount_minor": "amount", "occurred_at": "paid_at"}})


def bill(name: str, *rows: tuple[str, str]) -> None:
    lines = ["order_no,amount,paid_at"] + [f"{o},{a},{DAY} 10:00:00" for o, a in rows]
    import_bill(("\n".join(lines) + "\n").encode(), name, file_name=f"{name}.csv", day=DAY)


def reconciled(**spec: Any) -> Callable[[], None]:
    source("shop")
    source("bank")
    Plan.objects.create(name="bank_vs_shop", spec={"ours": "shop", "theirs": "bank", "carry_over_days": 0, **spec})
    bill("shop", ("BIG", "900.00"), ("SMALL", "5.00"), ("ROUND", "10.00"), ("OK", "1.00"))
    bill("bank", ("BIG", "100.00"), ("SMALL", "4.00"), ("ROUND", "9.99"), ("OK", "1.00"))
    return lambda: run_plan("bank_vs_shop", DAY, DAY)


def test_new_breaks_above_the_plans_threshold_are_alerted_once(alerts_on: list[dict[str, Any]]) -> None:
    run = reconciled(alert_threshold_minor=100, rules=[{"rule": "rounding", "tolerance_minor": 1}])
    run()
    [hook] = alerts_on
    body = hook["body"]
    assert hook["valid"]
    assert hook["event"] == "breaks.new"
    assert (body["event"], body["plan"], body["day"], body["count"], body["threshold_minor"]) == (
        "breaks.new", "bank_vs_shop", "2024-05-01", 2, 100)
    # Largest first; ROUND (0.01) is below the threshold and was resolved by the rule anyway.
    assert [(b["order_no"], b["exposure_minor"]) for b in body["breaks"]] == [("BIG", 80000), ("SMALL", 100)]
    assert body["totals_minor"] == {"CNY": 80100}
    [message] = mail.outbox
    assert "bank_vs_shop 2024-05-01: 2 new break(s), 801.00 CNY" in message.subject
    assert "BIG" in message.body
    run()  # the same day again: the breaks are not new
    assert len(alerts_on) == 1
    assert len(mail.outbox) == 1


def test_the_settings_threshold_applies_without_a_plan_override(settings: Any,
                                                                alerts_on: list[dict[str, Any]]) -> None:
    settings.TALLY_ALERT_BREAK_MINOR = 100_000  # 1 000.00: none of these
    reconciled()()
    assert alerts_on == []
    assert mail.outbox == []


# Approvals waiting.

def test_a_proposal_waiting_for_approval_is_alerted_after_commit(
        alerts_on: list[dict[str, Any]], django_capture_on_commit_callbacks: Any) -> None:
    maker = f.user("operator", username="maker1")
    brk = f.brk(kind="long", theirs=500)
    with django_capture_on_commit_callbacks(execute=True):
        action = resolution.propose([brk.pk], "supplement", maker)
    [hook] = alerts_on
    assert hook["valid"]
    assert hook["body"]["event"] == "approval.waiting"
    assert (hook["body"]["action"], hook["body"]["maker"], hook["body"]["breaks"]) == (action.pk, "maker1", [brk.pk])
    [message] = mail.outbox
    assert "waits for approval" in message.subject
    assert "maker1" in message.body


def test_an_action_applied_at_once_is_not_alerted(alerts_on: list[dict[str, Any]],
                                                  django_capture_on_commit_callbacks: Any) -> None:
    maker = f.user("operator")
    brk = f.brk()
    with django_capture_on_commit_callbacks(execute=True):
        resolution.suspend(brk, maker, "waiting for the bank", timezone.localdate() + dt.timedelta(days=3))
    assert alerts_on == []
