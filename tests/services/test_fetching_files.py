"""fetching.fetch with the file transports: a real SFTP server, files taken once across attempts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tally.ingest.models import Bill, FetchAttempt, Source
from tally.services.fetching import fetch
from tests.transports.servers import PASSWORD, USER, SftpServer

DAY = date(2024, 8, 20)
TABLE = {"kind": "table", "format": "csv", "currency": "CNY", "timezone": "Asia/Shanghai",
         "columns": {"order_no": "order_no", "amount_minor": "amount", "occurred_at": "paid_at"}}
BILL = b"order_no,amount,paid_at\nA1,12.34,2024-08-20 10:00:00\nA2,5.00,2024-08-20 11:00:00\n"

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(tmp_path: Path, tally_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    monkeypatch.setenv("TEST_SFTP_PASSWORD", PASSWORD)
    root = tmp_path / "server"
    (root / "out").mkdir(parents=True)
    (root / "out" / "bank_20240820.csv").write_bytes(BILL)
    return root


def sftp_source(server: SftpServer, **more: object) -> Source:
    fetch_table = {"transport": "sftp", "host": "127.0.0.1", "port": server.port, "username": USER,
                   "password_env": "TEST_SFTP_PASSWORD", "host_key": server.host_key_line, "remote_dir": "/out",
                   "pattern": "bank_{yyyymmdd}.csv", "retries": 0, **more}
    return Source.objects.create(name="bank", kind="table", spec={**TABLE, "fetch": fetch_table})


def test_a_file_imported_once_is_not_downloaded_again(served: Path) -> None:
    with SftpServer(served) as server:
        sftp_source(server)
        first = fetch("bank", DAY)
        assert first.outcome == "imported"
        assert [b.rows for b in first.bills] == [2]
        server.reads.clear()
        again = fetch("bank", DAY)
        assert server.reads == []
    assert again.outcome == "not_ready"
    assert "taken before" in again.reason
    assert Bill.objects.filter(status="imported").count() == 1
    row = FetchAttempt.objects.get(pk=first.id)
    assert row.details["remote_files"][0]["path"] == "/out/bank_20240820.csv"
    assert PASSWORD not in str(row.details)


def test_a_rejected_file_is_taken_again_when_corrected(served: Path) -> None:
    (served / "out" / "bank_20240820.csv").write_bytes(BILL.replace(b"12.34", b"12.x4"))
    with SftpServer(served) as server:
        sftp_source(server)
        rejected = fetch("bank", DAY)
        assert (rejected.outcome, rejected.code) == ("rejected", "BAD_AMOUNT")
        (served / "out" / "bank_20240820.csv").write_bytes(BILL + b"A3,1.00,2024-08-20 12:00:00\n")
        imported = fetch("bank", DAY)
    assert imported.outcome == "imported"


def test_host_key_mismatch_is_refused_with_exit_code_2(served: Path) -> None:
    with SftpServer(served) as server:
        source = sftp_source(server)
        source.spec["fetch"]["host_key"] = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        source.save()
        attempt = fetch("bank", DAY)
    assert (attempt.outcome, attempt.code, attempt.exit_code) == ("refused", "HOST_KEY_MISMATCH", 2)
    assert not Bill.objects.exists()
