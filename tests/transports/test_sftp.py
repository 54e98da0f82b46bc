"""The sftp transport against a real SFTP server on 127.0.0.1 (asyncssh), started by each test."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import asyncssh
import pytest

from tally.errors import ConfigError
from tally.transports import get
from tally.transports.base import Outcome
from tally.transports.remote import DETAILS_KEY, TAKEN

from .servers import PASSWORD, USER, SftpServer

DAY = date(2024, 8, 20)
BIG = os.urandom(700_000)  # several 256 KiB reads


@pytest.fixture
def home(tally_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    return tally_home


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "server"
    outgoing = root / "ppreports" / "outgoing"
    outgoing.mkdir(parents=True)
    (outgoing / "STL-20240820.01.009.CSV").write_bytes(BIG)
    (outgoing / "STL-20240820.02.009.CSV").write_bytes(b"second file of the day")
    (outgoing / "STL-20240819.01.009.CSV").write_bytes(b"the day before")
    (outgoing / "TRR-20240820.01.009.CSV").write_bytes(b"another report")
    (root / "done").mkdir()
    return root


def settings(server: SftpServer, **more: object) -> dict[str, object]:
    values: dict[str, object] = {
        "transport": "sftp", "host": "127.0.0.1", "port": server.port, "username": USER,
        "password_env": "TEST_SFTP_PASSWORD", "host_key": server.host_key_line,
        "remote_dir": "/ppreports/outgoing", "pattern": "STL-{yyyymmdd}.*.CSV", "retries": 0,
    }
    values.update(more)
    return values


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SFTP_PASSWORD", PASSWORD)


def test_password_login_with_a_pinned_key_line_takes_the_days_files(home: Path, served: Path) -> None:
    with SftpServer(served) as server:
        answers = get("sftp").fetch("paypal", settings(server), DAY)
    assert [(a.outcome, a.file_name) for a in answers] == [
        (Outcome.FETCHED, "STL-20240820.01.009.CSV"), (Outcome.FETCHED, "STL-20240820.02.009.CSV")]
    assert answers[0].data == BIG
    assert answers[1].data == b"second file of the day"
    remembered = answers[0].details[DETAILS_KEY]
    assert [(r["path"], r["size"]) for r in remembered] == [
        ("/ppreports/outgoing/STL-20240820.01.009.CSV", len(BIG)),
        ("/ppreports/outgoing/STL-20240820.02.009.CSV", 22)]
    assert all(r["mtime"] > 0 for r in remembered)
    assert not list((home / "incoming" / "paypal").glob("*.part"))


def test_key_login_with_a_fingerprint_pin(home: Path, served: Path, tmp_path: Path) -> None:
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "id_ed25519"
    key_file.write_bytes(client_key.export_private_key())
    with SftpServer(served, password=None, client_key=client_key) as server:
        answers = get("sftp").fetch("paypal", settings(server, password_env=None, private_key_file=str(key_file),
                                                       host_key=server.fingerprint), DAY)
        assert server.logins  # by key: no password was set
    assert [a.outcome for a in answers] == [Outcome.FETCHED, Outcome.FETCHED]


def test_an_encrypted_key_with_its_passphrase(home: Path, served: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "id_ed25519"
    key_file.write_bytes(client_key.export_private_key(passphrase="open sesame"))
    monkeypatch.setenv("TEST_KEY_PASSPHRASE", "open sesame")
    with SftpServer(served, password=None, client_key=client_key) as server:
        answers = get("sftp").fetch("paypal", settings(server, password_env=None, private_key_file=str(key_file),
                                                       passphrase_env="TEST_KEY_PASSPHRASE"), DAY)
    assert [a.outcome for a in answers] == [Outcome.FETCHED, Outcome.FETCHED]


@pytest.mark.parametrize("pin", ["line", "fingerprint"])
def test_a_host_key_that_is_not_the_pinned_one_is_refused_before_logging_in(home: Path, served: Path,
                                                                            pin: str) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    pinned = other.export_public_key().decode() if pin == "line" else other.get_fingerprint("sha256")
    with SftpServer(served) as server:
        answers = get("sftp").fetch("paypal", settings(server, host_key=pinned), DAY)
        assert server.logins == 0
        assert server.reads == []
    [answer] = answers
    assert answer.outcome == Outcome.REFUSED
    assert answer.details["code"] == "HOST_KEY_MISMATCH"
    assert server.fingerprint in answer.reason
    assert PASSWORD not in answer.reason


def test_a_known_hosts_line_is_accepted_as_a_pin(home: Path, served: Path) -> None:
    with SftpServer(served) as server:
        answers = get("sftp").fetch("paypal", settings(server, host_key=f"[127.0.0.1]:{server.port} "
                                                       f"{server.host_key_line}"), DAY)
    assert len(answers) == 2


def test_no_pin_is_a_config_error(home: Path, served: Path) -> None:
    with SftpServer(served) as server, pytest.raises(ConfigError) as raised:
        get("sftp").fetch("paypal", settings(server, host_key=None), DAY)
    assert raised.value.code == "BAD_SOURCE"
    assert raised.value.where.field == "fetch.host_key"


def test_a_pin_that_is_no_key_is_a_config_error(home: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        get("sftp").fetch("paypal", {"host_key": "AAAA-not-a-key", "host": "127.0.0.1"}, DAY)
    assert raised.value.code == "BAD_HOST_KEY"


def test_a_wrong_password_fails_for_good(home: Path, served: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SFTP_PASSWORD", "wrong")
    with SftpServer(served) as server:
        [answer] = get("sftp").fetch("paypal", settings(server), DAY)
    assert (answer.outcome, answer.transient, answer.details["code"]) == (Outcome.FAILED, False, "AUTH_FAILED")
    assert "wrong" not in answer.reason


def test_a_missing_password_variable_is_a_config_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_SFTP_PASSWORD")
    with SftpServer(Path("/nonexistent")) as server, pytest.raises(ConfigError) as raised:
        get("sftp").fetch("paypal", settings(server), DAY)
    assert raised.value.code == "MISSING_SECRET"


def test_nobody_listening_is_a_transient_failure(home: Path) -> None:
    with SftpServer(Path("/nonexistent")) as server:
        port = server.port
    [answer] = get("sftp").fetch("paypal", {**settings(server), "port": port}, DAY)
    assert (answer.outcome, answer.transient, answer.details["code"]) == (Outcome.FAILED, True, "NETWORK")


def test_no_file_for_the_day_yet_is_not_ready(home: Path, served: Path) -> None:
    with SftpServer(served) as server:
        [answer] = get("sftp").fetch("paypal", settings(server), date(2024, 8, 21))
    assert answer.outcome == Outcome.NOT_READY
    assert "STL-{yyyymmdd}.*.CSV" in answer.reason


def test_a_cut_download_continues_from_the_part_file(home: Path, served: Path) -> None:
    with SftpServer(served) as server:
        server.drop_after_bytes = 300_000
        [failed] = get("sftp").fetch("paypal", settings(server, pattern="STL-{yyyymmdd}.01.*.CSV"), DAY)
        assert (failed.outcome, failed.transient) == (Outcome.FAILED, True)
        part = home / "incoming" / "paypal" / "STL-20240820.01.009.CSV.part"
        kept = part.stat().st_size
        assert 0 < kept < len(BIG)
        assert part.read_bytes() == BIG[:kept]
        server.reads.clear()
        [answer] = get("sftp").fetch("paypal", settings(server, pattern="STL-{yyyymmdd}.01.*.CSV"), DAY)
    assert answer.outcome == Outcome.FETCHED
    assert answer.data == BIG
    assert server.reads[0][1] == kept  # the second try asked for the rest only
    assert all(offset >= kept for _, offset, _ in server.reads)
    assert not part.exists()


def test_in_call_retries_finish_a_cut_download(home: Path, served: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tally.transports.remote.time.sleep", lambda s: None)
    with SftpServer(served) as server:
        server.drop_after_bytes = 300_000
        answers = get("sftp").fetch("paypal", settings(server, retries=2), DAY)
    assert [a.outcome for a in answers] == [Outcome.FETCHED, Outcome.FETCHED]
    assert answers[0].data == BIG


def test_a_changed_remote_file_starts_over(home: Path, served: Path) -> None:
    incoming = home / "incoming" / "paypal"
    incoming.mkdir(parents=True)
    (incoming / "STL-20240820.02.009.CSV.part").write_bytes(b"stale bytes of an older file")
    (incoming / "STL-20240820.02.009.CSV.json").write_text(
        '{"path": "/ppreports/outgoing/STL-20240820.02.009.CSV", "size": 999, "mtime": 1}')
    with SftpServer(served) as server:
        answers = get("sftp").fetch("paypal", settings(server, pattern="STL-{yyyymmdd}.02.*.CSV"), DAY)
    assert answers[0].data == b"second file of the day"


def test_files_remembered_as_taken_are_not_taken_again(home: Path, served: Path) -> None:
    with SftpServer(served) as server:
        first = get("sftp").fetch("paypal", settings(server), DAY)
        taken = first[0].details[DETAILS_KEY]
        server.reads.clear()
        [again] = get("sftp").fetch("paypal", settings(server, **{TAKEN: taken}), DAY)
        assert server.reads == []
        assert again.outcome == Outcome.NOT_READY
        assert "2 file(s)" in again.reason
        assert "taken before" in again.reason
        # A corrected file under the same name is a new file.
        (served / "ppreports" / "outgoing" / "STL-20240820.02.009.CSV").write_bytes(b"corrected second file")
        [corrected] = get("sftp").fetch("paypal", settings(server, **{TAKEN: taken}), DAY)
    assert corrected.data == b"corrected second file"
    assert not list((home / "incoming" / "paypal").glob("STL-20240820.01*")), "imported copies are dropped"


def test_done_dir_moves_the_file_on_the_server(home: Path, served: Path) -> None:
    outgoing = served / "ppreports" / "outgoing"
    with SftpServer(served) as server:
        answers = get("sftp").fetch("paypal", settings(server, done_dir="/done"), DAY)
        assert len(answers) == 2
        assert sorted(p.name for p in (served / "done").iterdir()) == ["STL-20240820.01.009.CSV",
                                                                       "STL-20240820.02.009.CSV"]
        assert sorted(p.name for p in outgoing.iterdir()) == ["STL-20240819.01.009.CSV", "TRR-20240820.01.009.CSV"]
        # Killed before the import: the complete local copies are offered again, without a download.
        server.reads.clear()
        again = get("sftp").fetch("paypal", settings(server, done_dir="/done"), DAY)
        assert [a.data for a in again] == [BIG, b"second file of the day"]
        assert server.reads == []
        # Once imported (remembered as taken), the local copies go and nothing is left to take.
        [done] = get("sftp").fetch("paypal", settings(server, done_dir="/done",
                                                      **{TAKEN: again[0].details[DETAILS_KEY]}), DAY)
    assert done.outcome == Outcome.NOT_READY
    assert not any((home / "incoming" / "paypal").iterdir())


def test_iso_day_placeholder(home: Path, served: Path) -> None:
    (served / "ppreports" / "outgoing" / "statement_2024-08-20.xml").write_bytes(b"<Document/>")
    with SftpServer(served) as server:
        [answer] = get("sftp").fetch("bank", settings(server, pattern="statement_{yyyy-mm-dd}.xml"), DAY)
    assert (answer.file_name, answer.data) == ("statement_2024-08-20.xml", b"<Document/>")
