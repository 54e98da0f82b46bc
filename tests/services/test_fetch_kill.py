"""A `tally fetch` killed with SIGKILL mid-download or mid-import keeps no partial bill, and the next
`tally fetch` completes. The child is a real `tally` process with its own TALLY_HOME and SQLite
database; the fake WeChat Pay runs in this test's process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tally.synthetic import Txn, wechat_bill
from tests.transports.fakes.keys import private_pem, public_pem, rsa_key, write
from tests.transports.fakes.wechat import PLATFORM_SERIAL, FakeWeChatPay

DAY = date(2026, 11, 1)
MCHID = "1900000109"


def big_bill(rows: int) -> bytes:
    start = datetime(2026, 11, 1, 0, 0)
    return wechat_bill([Txn(f"K{i:08d}", 100 + i % 997, start + timedelta(seconds=i % 80000)) for i in range(rows)],
                       mchid=MCHID)


class Child:
    """`python -m tally.cli …` in a TALLY_HOME of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "TALLY_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'tally.sqlite3'}"}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tally.cli", *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), env=self.env, capture_output=True, text=True, timeout=120,
                              check=False)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command(*args), env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.home / "tally.sqlite3") as db:
            return db.execute(sql).fetchall()

    def files(self, *parts: str) -> list[Path]:
        root = self.home.joinpath(*parts)
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def wechat() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay(mchid=MCHID, merchant_key=rsa_key("merchant").public_key(), platform_key=rsa_key("channel"),
                       bills={}) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def child(tmp_path: Path, wechat: FakeWeChatPay) -> Child:
    keys = tmp_path / "keys"
    toml = tmp_path / "tally.toml"
    toml.write_text(f"""
[sources.wechat]
kind = "wechatpay"
[sources.wechat.fetch]
transport = "wechatpay_v3"
base_url = "{wechat.url}"
mchid = "{MCHID}"
serial_no = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
private_key_file = "{write(keys / "merchant.pem", private_pem(rsa_key("merchant")))}"
platform_public_key_file = "{write(keys / "platform.pem", public_pem(rsa_key("channel")))}"
platform_serial = "{PLATFORM_SERIAL}"
""", encoding="utf-8")
    child = Child(tmp_path / "child-home")
    done = child.run("apply", str(toml))
    assert done.returncode == 0, done.stderr
    return child


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def assert_nothing_kept(child: Child) -> None:
    assert child.rows("select count(*) from ingest_bill") == [(0,)]
    assert child.files("archive") == []
    assert child.files("lake", "records") == []
    # The attempt row was written before the channel was asked, and says the try did not finish.
    ((outcome, reason, transient, finished),) = child.rows(
        "select outcome, reason, transient, finished_at from ingest_fetchattempt")
    assert (outcome, transient, finished) == ("failed", 1, None)
    assert str(reason).startswith("interrupted")


def assert_next_fetch_completes(child: Child, rows: int) -> None:
    done = child.run("fetch", "--source", "wechat", "--day", DAY.isoformat())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"imported pay_wechat_20261101_01.csv: {rows} records")
    assert child.rows("select status, rows from ingest_bill") == [("imported", rows)]
    assert len(child.files("archive", "blobs")) == 1
    assert [o for (o,) in child.rows("select outcome from ingest_fetchattempt order by id")] == ["failed", "imported"]


def test_kill_9_during_the_download(child: Child, wechat: FakeWeChatPay) -> None:
    wechat.bills[("trade", DAY)] = big_bill(10_000)
    wechat.mode, wechat.chunk_delay_s = "slow_download", 0.01
    process = child.start("fetch", "--source", "wechat", "--day", DAY.isoformat())
    try:
        wait_for(lambda: any(r.route == "/v3/billdownload/file" for r in wechat.requests), "the download to start")
        time.sleep(0.3)
        assert process.poll() is None, "the download finished before the kill"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert_nothing_kept(child)
    wechat.mode = "ok"
    assert_next_fetch_completes(child, 10_000)


def test_kill_9_during_the_import(child: Child, wechat: FakeWeChatPay) -> None:
    wechat.bills[("trade", DAY)] = big_bill(50_000)
    process = child.start("fetch", "--source", "wechat", "--day", DAY.isoformat())
    staging = child.home / "lake" / "staging"
    try:
        # The import has begun when the lake's staging folder for the bill exists.
        wait_for(lambda: staging.exists() and any(staging.iterdir()), "the import to start")
        assert child.rows("select count(*) from ingest_fetchattempt") == [(1,)]
        time.sleep(0.2)
        assert process.poll() is None, "the import finished before the kill"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert_nothing_kept(child)
    assert_next_fetch_completes(child, 50_000)
