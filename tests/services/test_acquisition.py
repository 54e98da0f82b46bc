"""What is due, late and runnable, read from the database at a fixed moment; alerts by email and a
signed webhook to a real HTTP receiver on 127.0.0.1; leases."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from tally.breaks.models import DayResult
from tally.errors import TallyError
from tally.ingest.models import Alert, FetchAttempt, Lease
from tally.services import acquisition, alerts
from tally.services.importing import import_bill
from tally.services.leases import LeaseHeld, free_dead_holders, lease
from tally.services.running import run_plan
from tally.services.schedule import Reason, State, Why

from .factories import import_csv, plan, table_source

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2024, 8, 20)
SFTP = {"transport": "sftp", "host": "127.0.0.1", "username": "u", "password_env": "X", "host_key": "SHA256:x",
        "remote_dir": "/out", "pattern": "b_{yyyymmdd}.csv", "ready_time": "10:00", "deadline": "14:00"}


def at(hhmm: str, day: date = date(2024, 8, 21)) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SH)


def attempt(source: str, outcome: str, when: datetime, *, transient: bool = False, reason: str = "") -> None:
    row = FetchAttempt.objects.create(source=acquisition.Source.objects.get(name=source), business_day=DAY,
                                      transport="sftp", outcome=outcome, transient=transient, reason=reason)
    FetchAttempt.objects.filter(pk=row.pk).update(started_at=when)


def test_due_fetches_follow_the_ready_time_and_backoff() -> None:
    table_source("bank", SFTP)
    table_source("manual")  # uploaded by people: never fetched
    assert acquisition.due_fetches(at("09:59")) == []
    assert acquisition.due_fetches(at("10:00")) == [("bank", DAY)]
    attempt("bank", "failed", at("10:00"), transient=True, reason="timed out")
    assert acquisition.due_fetches(at("10:00")) == []
    assert acquisition.due_fetches(at("10:01")) == [("bank", DAY)]
    attempt("bank", "failed", at("10:01"), transient=True)
    assert acquisition.due_fetches(at("10:02")) == []
    assert acquisition.due_fetches(at("10:03")) == [("bank", DAY)]


def test_an_imported_bill_ends_the_fetching() -> None:
    table_source("bank", SFTP)
    import_csv("bank", DAY)
    assert acquisition.due_fetches(at("10:00")) == []
    assert acquisition.due_alerts(at("15:00")) == []


def test_inboxes_are_scanned_not_fetched_by_day() -> None:
    table_source("drop", {"transport": "inbox", "path": "/tmp"})
    assert acquisition.due_fetches(at("11:00")) == []
    assert acquisition.inbox_sources() == ["drop"]


@pytest.fixture
def receiver() -> Iterator[list[dict[str, Any]]]:
    """A webhook receiver on 127.0.0.1 that keeps what it got."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"body": body, "headers": dict(self.headers), "path": self.path})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got.append({"url": f"http://127.0.0.1:{server.server_address[1]}/hooks/tally"})
    yield got
    server.shutdown()
    server.server_close()


def test_one_alert_at_the_deadline_by_email_and_signed_webhook(settings: Any, receiver: list[dict[str, Any]]) -> None:
    settings.TALLY_ALERT_EMAILS = ["finance@example.com", "ops@example.com"]
    settings.TALLY_ALERT_WEBHOOK_URL = receiver.pop(0)["url"]
    settings.TALLY_ALERT_WEBHOOK_SECRET = "webhook-secret"
    table_source("bank", SFTP)
    attempt("bank", "failed", at("13:30"), transient=True, reason="127.0.0.1:22: connection refused")
    assert acquisition.due_alerts(at("13:59")) == []
    [(source, day, reason)] = acquisition.due_alerts(at("14:00"))
    assert (source.name, day, reason) == ("bank", DAY, "127.0.0.1:22: connection refused")
    alert = alerts.raise_late(source, day, reason)
    assert alert is not None
    assert alerts.raise_late(source, day, reason) is None, "once per source and day"
    assert acquisition.due_alerts(at("18:00")) == []

    [message] = mail.outbox
    assert message.to == ["finance@example.com", "ops@example.com"]
    assert "bank" in message.subject
    assert "2024-08-20" in message.subject
    assert "connection refused" in message.body

    [hook] = receiver
    body = hook["body"]
    expected = "sha256=" + hmac.new(b"webhook-secret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook["headers"]["X-Tally-Signature"], expected)
    assert json.loads(body) == {"event": "bill.late", "source": "bank", "kind": "table", "business_day": "2024-08-20",
                                "reason": "127.0.0.1:22: connection refused",
                                "raised_at": alert.raised_at.isoformat()}
    alert.refresh_from_db()
    assert (alert.emailed_to, alert.webhook_status) == (["finance@example.com", "ops@example.com"], "204")
    assert "webhook-secret" not in body.decode()


def test_the_alert_words_the_rule_and_a_rejected_bill_in_english_as_before() -> None:
    table_source("bank", SFTP)
    table_source("shop", SFTP)
    with pytest.raises(TallyError):
        import_bill(b"", "shop", file_name="shop_20240820.csv", day=DAY)
    assert sorted((s.name, day, reason) for s, day, reason in acquisition.due_alerts(at("14:00"))) == [
        ("bank", DAY, "no bill by 2024-08-21 14:00 CST"),
        ("shop", DAY, "MISSING_COLUMN: error[MISSING_COLUMN]: no header row with the mapped columns; missing: "
                      "order_no, amount, paid_at (shop_20240820.csv:1)\n  hint: check the column mapping against the "
                      "file's header"),
    ]


def test_a_webhook_that_is_down_is_recorded_not_raised(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tally.services.notify.time.sleep", lambda s: None)
    settings.TALLY_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/nobody"
    source = table_source("bank", SFTP)
    alert = alerts.raise_late(source, DAY, "late")
    assert alert is not None
    assert alert.webhook_status == "failed: ConnectError"
    assert Alert.objects.count() == 1


def test_a_plain_http_webhook_to_another_host_is_not_sent(settings: Any) -> None:
    settings.TALLY_ALERT_WEBHOOK_URL = "http://hooks.example.com/tally"
    alert = alerts.raise_late(table_source("bank", SFTP), DAY, "late")
    assert alert is not None
    assert alert.webhook_status.startswith("not sent")


def test_the_calendar_cells() -> None:
    table_source("bank", SFTP)
    table_source("shop")
    import_csv("shop", DAY)
    attempt("bank", "failed", at("10:00"), transient=True, reason="timed out")
    rows = dict((s.name, cells) for s, cells in acquisition.calendar([DAY, DAY + timedelta(days=1)], at("11:00")))
    assert [(c.state, c.reason) for c in rows["bank"]] == [
        (State.FAILED, Reason(Why.TRY, "timed out", outcome="failed")),
        (State.NOT_READY, Reason(Why.EXPECTED_FROM, at=at("10:00", day=DAY + timedelta(days=2))))]
    assert rows["shop"][0].state == State.ARRIVED
    assert rows["shop"][0].bills == ("data_shop_20240820_01.csv",)


def test_a_plan_day_runs_when_every_side_has_its_bill_and_again_after_a_new_bill() -> None:
    table_source("shop")
    table_source("bank", SFTP)
    plan("bank_vs_shop", "shop", "bank")
    plan("manual_only", "shop", "bank", auto_run=False)
    now = timezone.now()
    day = timezone.localdate(now, SH) - timedelta(days=1)
    import_csv("shop", day)
    assert acquisition.due_runs(now) == []
    import_csv("bank", day)
    assert acquisition.due_runs(now) == [("bank_vs_shop", day)]
    run_plan("bank_vs_shop", day, day)
    assert DayResult.objects.filter(plan__name="bank_vs_shop", day=day).exists()
    assert acquisition.due_runs(timezone.now()) == []
    assert not acquisition.plan_day_still_due("bank_vs_shop", day)
    import_csv("bank", day, ("A2", "1.00"))  # a second file of the day came later
    assert acquisition.due_runs(timezone.now()) == [("bank_vs_shop", day)]


def test_a_lease_is_held_once_and_freed_after() -> None:
    with lease("fetch:bank:2024-08-20", timedelta(hours=1)):
        with pytest.raises(LeaseHeld), lease("fetch:bank:2024-08-20", timedelta(hours=1)):
            pass
        with lease("fetch:bank:2024-08-21", timedelta(hours=1)):
            assert Lease.objects.count() == 2
    assert not Lease.objects.exists()


def test_an_expired_lease_is_taken_over() -> None:
    now = timezone.now()
    Lease.objects.create(name="run:plan", holder="elsewhere:1", acquired_at=now - timedelta(hours=7),
                         expires_at=now - timedelta(hours=1))
    with lease("run:plan", timedelta(hours=6)):
        assert Lease.objects.get(name="run:plan").holder != "elsewhere:1"


def test_a_restarted_worker_frees_the_leases_of_dead_processes_on_its_host() -> None:
    import socket

    now = timezone.now()
    host = socket.gethostname()
    Lease.objects.create(name="fetch:a", holder=f"{host}:999999999", acquired_at=now, expires_at=now + timedelta(1))
    Lease.objects.create(name="fetch:b", holder="other-host:1", acquired_at=now, expires_at=now + timedelta(1))
    assert free_dead_holders() == 1
    assert list(Lease.objects.values_list("name", flat=True)) == ["fetch:b"]
