"""The ftp and ftps transports against a real FTP server on 127.0.0.1 (pyftpdlib), plain and with
explicit TLS on a self-signed certificate made by the test."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from tally.errors import ConfigError
from tally.transports import get
from tally.transports.base import Outcome
from tally.transports.remote import DETAILS_KEY, TAKEN

from .servers import PASSWORD, USER, FtpServer, self_signed_certificate

DAY = date(2024, 8, 20)
BIG = os.urandom(600_000)


@pytest.fixture
def home(tally_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    monkeypatch.setenv("TEST_FTP_PASSWORD", PASSWORD)
    return tally_home


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "server"
    (root / "out").mkdir(parents=True)
    (root / "done").mkdir()
    (root / "out" / "MT940_20240820.sta").write_bytes(BIG)
    (root / "out" / "MT940_20240819.sta").write_bytes(b"the day before")
    return root


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


def settings(server: FtpServer, **more: object) -> dict[str, object]:
    values: dict[str, object] = {"transport": "ftp", "host": "127.0.0.1", "port": server.port, "username": USER,
                                 "password_env": "TEST_FTP_PASSWORD", "remote_dir": "/out",
                                 "pattern": "MT940_{yyyymmdd}.sta", "retries": 0}
    values.update(more)
    return values


def test_plain_ftp_on_loopback_takes_the_days_file(home: Path, served: Path) -> None:
    with FtpServer(served) as server:
        [answer] = get("ftp").fetch("bank", settings(server), DAY)
    assert (answer.outcome, answer.file_name, answer.data) == (Outcome.FETCHED, "MT940_20240820.sta", BIG)
    [remote] = answer.details[DETAILS_KEY]
    assert (remote["path"], remote["size"]) == ("/out/MT940_20240820.sta", len(BIG))
    assert remote["mtime"] > 0


def test_plain_ftp_to_another_host_needs_cleartext_accepted() -> None:
    with pytest.raises(ConfigError) as raised:
        get("ftp").fetch("bank", {"host": "ftp.bank.example", "username": "u", "password_env": "TEST_FTP_PASSWORD",
                                  "remote_dir": "/", "pattern": "{yyyymmdd}.sta"}, DAY)
    assert raised.value.code == "CLEARTEXT_FTP"


def test_ftps_verifies_the_certificate_against_ca_file(home: Path, served: Path,
                                                       certificate: tuple[Path, Path]) -> None:
    with FtpServer(served, tls_files=certificate) as server:
        [answer] = get("ftps").fetch("bank", settings(server, transport="ftps", ca_file=str(certificate[0])), DAY)
    assert (answer.outcome, answer.data) == (Outcome.FETCHED, BIG)


def test_ftps_refuses_a_certificate_the_system_store_does_not_trust(home: Path, served: Path,
                                                                    certificate: tuple[Path, Path]) -> None:
    with FtpServer(served, tls_files=certificate) as server:
        [answer] = get("ftps").fetch("bank", settings(server, transport="ftps"), DAY)
        assert server.retrievals == []
    assert (answer.outcome, answer.details["code"]) == (Outcome.REFUSED, "CERT_INVALID")
    assert "self-signed" in answer.reason or "verify" in answer.reason


def test_ftps_refuses_a_certificate_for_another_host(home: Path, served: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    certificate = self_signed_certificate(other, host="127.0.0.2")
    with FtpServer(served, tls_files=certificate) as server:
        [answer] = get("ftps").fetch("bank", settings(server, transport="ftps", ca_file=str(certificate[0])), DAY)
    assert (answer.outcome, answer.details["code"]) == (Outcome.REFUSED, "CERT_INVALID")


def test_a_tls_only_server_turns_plain_ftp_away(home: Path, served: Path, certificate: tuple[Path, Path]) -> None:
    with FtpServer(served, tls_files=certificate) as server:
        [answer] = get("ftp").fetch("bank", settings(server), DAY)
    assert answer.outcome == Outcome.FAILED
    assert not answer.transient


def test_a_wrong_password_fails_for_good(home: Path, served: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_FTP_PASSWORD", "wrong")
    with FtpServer(served) as server:
        [answer] = get("ftp").fetch("bank", settings(server), DAY)
    assert (answer.outcome, answer.transient, answer.details["code"]) == (Outcome.FAILED, False, "AUTH_FAILED")
    assert "wrong" not in answer.reason


def test_a_partial_download_continues_with_rest(home: Path, served: Path, certificate: tuple[Path, Path]) -> None:
    incoming = home / "incoming" / "bank"
    with FtpServer(served, tls_files=certificate) as server:
        [listed] = get("ftps").fetch("bank", settings(server, transport="ftps", ca_file=str(certificate[0])), DAY)
        remote = listed.details[DETAILS_KEY][0]
        # As if the first download had been killed after 250,000 bytes.
        for name in incoming.iterdir():
            name.unlink()
        (incoming / "MT940_20240820.sta.part").write_bytes(BIG[:250_000])
        (incoming / "MT940_20240820.sta.json").write_text(
            f'{{"path": "{remote["path"]}", "size": {remote["size"]}, "mtime": {remote["mtime"]}}}')
        server.retrievals.clear()
        [answer] = get("ftps").fetch("bank", settings(server, transport="ftps", ca_file=str(certificate[0])), DAY)
    assert answer.data == BIG
    assert server.retrievals == [("MT940_20240820.sta", 250_000)]


def test_done_dir_and_taken(home: Path, served: Path) -> None:
    with FtpServer(served) as server:
        [answer] = get("ftp").fetch("bank", settings(server, done_dir="/done"), DAY)
        assert (served / "done" / "MT940_20240820.sta").read_bytes() == BIG
        assert not (served / "out" / "MT940_20240820.sta").exists()
        [after] = get("ftp").fetch("bank", settings(server, done_dir="/done",
                                                    **{TAKEN: answer.details[DETAILS_KEY]}), DAY)
    assert after.outcome == Outcome.NOT_READY


def test_nobody_listening_is_transient(home: Path, served: Path) -> None:
    with FtpServer(served) as server:
        port = server.port
    [answer] = get("ftp").fetch("bank", {**settings(server), "port": port}, DAY)
    assert (answer.outcome, answer.transient) == (Outcome.FAILED, True)
