"""The worker: a minute's tick end to end (in-process, immediate queue, fixed clock), leases, and the
real ``tally worker`` process on SQLite and on Redis: killed with jobs queued, restarted, jobs done."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tally.breaks.models import DayResult
from tally.ingest.models import Alert, Bill, FetchAttempt, Lease
from tally.worker import Tasks, build_huey, register
from tests.services.factories import csv_bill, import_csv, plan, table_source
from tests.transports.servers import PASSWORD, USER, SftpServer

SH = ZoneInfo("Asia/Shanghai")
REDIS_URL = os.environ.get("TALLY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def tasks(tally_home: Path, monkeypatch: pytest.MonkeyPatch) -> Tasks:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    huey = build_huey(redis_url="", name=f"test-{uuid.uuid4().hex[:8]}")
    huey.immediate = True
    return register(huey)


@pytest.mark.django_db
def test_a_tick_fetches_what_is_due_scans_inboxes_alerts_and_runs_the_plan(
        tasks: Tasks, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.TALLY_ALERT_EMAILS = ["finance@example.com"]
    monkeypatch.setenv("TEST_SFTP_PASSWORD", PASSWORD)
    now = timezone.now()
    day = timezone.localdate(now, SH) - timedelta(days=1)
    served = tmp_path / "server"
    (served / "out").mkdir(parents=True)
    (served / "out" / f"bank_{day:%Y%m%d}.csv").write_bytes(csv_bill(day, ("A1", "12.34")))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / f"shop_{day:%Y%m%d}.csv").write_bytes(csv_bill(day, ("A1", "12.34")))
    with SftpServer(served) as server:
        table_source("bank", {"transport": "sftp", "host": "127.0.0.1", "port": server.port, "username": USER,
                              "password_env": "TEST_SFTP_PASSWORD", "host_key": server.fingerprint,
                              "remote_dir": "/out", "pattern": "bank_{yyyymmdd}.csv", "retries": 0,
                              "ready_time": "00:00", "deadline": "00:01"})
        table_source("shop", {"transport": "inbox", "path": str(inbox), "pattern": "shop_{yyyymmdd}.csv",
                              "min_age_s": 0})
        table_source("late", {"transport": "inbox", "path": str(tmp_path), "pattern": "never_{yyyymmdd}.csv",
                              "ready_time": "00:00", "deadline": "00:01"})
        plan("bank_vs_shop", "shop", "bank")
        first = tasks.tick(now)
    # An immediate queue does each job as it is enqueued: the plan's day runs in the same tick.
    assert first == {"fetches": 1, "inboxes": 2, "alerts": 1, "runs": 1}
    assert Bill.objects.get(source__name="bank").business_day == day
    assert Bill.objects.get(source__name="shop").business_day == day
    assert (inbox / "done" / f"shop_{day:%Y%m%d}.csv").exists()
    assert [a.source.name for a in Alert.objects.all()] == ["late"]
    assert DayResult.objects.filter(plan__name="bank_vs_shop", day=day).exists()
    assert tasks.tick(now) == {"fetches": 0, "inboxes": 2, "alerts": 0, "runs": 0}
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_a_fetch_another_worker_holds_is_not_run_twice(tasks: Tasks) -> None:
    table_source("bank", {"transport": "sftp", "host": "127.0.0.1", "port": 9, "username": USER,
                          "password_env": "X", "host_key": "SHA256:x", "remote_dir": "/out",
                          "pattern": "bank_{yyyymmdd}.csv"})
    now = timezone.now()
    Lease.objects.create(name="fetch:bank:2024-08-20", holder="other-host:4242", acquired_at=now,
                         expires_at=now + timedelta(hours=1))
    assert tasks.fetch_bill("bank", "2024-08-20")() == "held"
    assert not FetchAttempt.objects.exists()


@pytest.mark.django_db
def test_a_queued_fetch_that_is_no_longer_due_does_nothing(tasks: Tasks) -> None:
    table_source("bank", {"transport": "sftp", "host": "127.0.0.1", "port": 9, "username": USER,
                          "password_env": "X", "host_key": "SHA256:x", "remote_dir": "/out",
                          "pattern": "bank_{yyyymmdd}.csv"})
    import_csv("bank", date(2024, 8, 20))
    assert tasks.fetch_bill("bank", "2024-08-20")() == "not due"
    assert not FetchAttempt.objects.exists()


# --- the real worker process ---------------------------------------------------------------------

DECLARATION = """
[sources.drop]
kind = "table"
format = "csv"
currency = "CNY"
timezone = "Asia/Shanghai"
[sources.drop.columns]
order_no = "order_no"
amount_minor = "amount"
occurred_at = "paid_at"
[sources.drop.fetch]
transport = "inbox"
path = "{inbox}"
pattern = "drop_{{yyyymmdd}}.csv"
min_age_s = 0
"""


@pytest.fixture(params=["sqlite", "redis"])
def queue_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TALLY_REDIS_URL")}
    env.update(TALLY_HOME=str(tmp_path / "home"), TALLY_QUEUE_NAME=f"tally-test-{uuid.uuid4().hex[:12]}",
               PYTHONUNBUFFERED="1")
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.ConnectionError:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"no Redis at {REDIS_URL}")
        env["TALLY_REDIS_URL"] = REDIS_URL
    yield env
    if request.param == "redis":
        build_huey(redis_url=REDIS_URL, name=env["TALLY_QUEUE_NAME"]).storage.flush_all()


def tally(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tally.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - the child writes to it until it ends
    process = subprocess.Popen([sys.executable, "-m", "tally.cli", "worker", "--workers", "1", "--no-schedule"],
                               env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while b"tally worker:" not in log.read_bytes():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return process


def wait_for(check: Any, what: str, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what}; worker log:\n{log.read_text()}"
        time.sleep(0.2)


def test_queued_jobs_survive_a_killed_worker(queue_env: dict[str, str], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    declaration = tmp_path / "tally.toml"
    declaration.write_text(DECLARATION.format(inbox=inbox))
    applied = tally(queue_env, "apply", str(declaration))
    assert applied.returncode == 0, applied.stderr
    log = tmp_path / "worker.log"

    worker = start_worker(queue_env, log)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)

    # While no worker runs: a job is queued, and the dead worker still "holds" the inbox's lease.
    for key in ("TALLY_HOME", "TALLY_QUEUE_NAME"):
        monkeypatch.setenv(key, queue_env[key])
    queued = register(build_huey(redis_url=queue_env.get("TALLY_REDIS_URL", "")))
    day = date(2024, 8, 20)
    (inbox / "drop_20240820.csv").write_bytes(csv_bill(day, ("A1", "12.34")))
    queued.scan_inbox("drop")
    assert queued.huey.pending_count() == 1
    db = sqlite3.connect(Path(queue_env["TALLY_HOME"]) / "tally.sqlite3")
    stamp = datetime.now().astimezone()
    db.execute("INSERT INTO ingest_lease (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)",
               ("inbox:drop", f"{socket.gethostname()}:{worker.pid}", stamp.isoformat(),
                (stamp + timedelta(hours=1)).isoformat()))
    db.commit()
    db.close()

    worker = start_worker(queue_env, log)
    try:
        wait_for((inbox / "done" / "drop_20240820.csv").exists, "the queued scan did not run", log)
        wait_for(lambda: queued.huey.pending_count() == 0, "the queue did not empty", log)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(30)
    db = sqlite3.connect(Path(queue_env["TALLY_HOME"]) / "tally.sqlite3")
    bills = db.execute("SELECT business_day, status, rows FROM ingest_bill").fetchall()
    db.close()
    assert bills == [("2024-08-20", "imported", 1)]
    assert "freed 1 lease" in log.read_text()
