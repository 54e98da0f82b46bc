"""The UnionPay transport against a fake file-transfer gateway that signs and checks as ACP 5.1.0 does."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from tally.errors import ConfigError
from tally.transports import get
from tally.transports.base import Outcome
from tally.transports.unionpay import parse_answer
from tests.transports.conftest import KeyFiles
from tests.transports.fakes.keys import cert_pem, certificate, rsa_key, unionpay_pki, write
from tests.transports.fakes.unionpay import FakeUnionPay

DAY = date(2015, 9, 5)  # the settlement day of the real sample
MER_ID = "802310048993424"
CERT_ID = "68759663125"


@pytest.fixture
def sample_zip(samples: Path) -> bytes:
    return (samples / "unionpay" / "802310048993424_20150905.zip").read_bytes()


@pytest.fixture
def unionpay(sample_zip: bytes) -> Iterator[FakeUnionPay]:
    with FakeUnionPay(mer_id=MER_ID, cert_id=CERT_ID, merchant_key=rsa_key("merchant").public_key(),
                      files={"0905": ("802310048993424_20150905.zip", sample_zip)}) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def chain(tmp_path: Path) -> tuple[str, str]:
    pki = unionpay_pki()
    return (write(tmp_path / "certs" / "acp_root.cer", cert_pem(pki.root)),
            write(tmp_path / "certs" / "acp_middle.cer", cert_pem(pki.middle)))


def settings(fake: FakeUnionPay, keys: KeyFiles, chain: tuple[str, str], **more: Any) -> dict[str, Any]:
    return {"transport": "unionpay", "kind": "unionpay", "timezone": "Asia/Shanghai", "file_trans_url": fake.url,
            "mer_id": MER_ID, "cert_id": CERT_ID, "private_key_file": keys.merchant_private,
            "root_cert_file": chain[0], "middle_cert_file": chain[1], "timeout_s": 1, **more}


def one(config: dict[str, Any], day: date = DAY) -> Any:
    answers = get("unionpay").fetch("unionpay", config, day)
    assert len(answers) == 1
    return answers[0]


def test_downloads_inflates_and_keeps_the_zip(unionpay: FakeUnionPay, key_files: KeyFiles, chain, sample_zip) -> None:
    got = one(settings(unionpay, key_files, chain))
    assert got.outcome == Outcome.FETCHED
    assert got.data == sample_zip
    assert got.file_name == "802310048993424_20150905.zip"
    assert any(n.startswith("INN15090588ZM_") for n in zipfile.ZipFile(io.BytesIO(got.data)).namelist())
    sent = unionpay.seen[0]
    assert (sent["txnType"], sent["txnSubType"], sent["bizType"], sent["fileType"], sent["settleDate"],
            sent["version"], sent["signMethod"]) == ("76", "01", "000000", "00", "0905", "5.1.0", "01")


@pytest.mark.parametrize(("mode", "outcome", "code", "transient"), [
    ("no_file", Outcome.NO_BILL, "RESP_98", False),
    ("bad_signature", Outcome.REFUSED, "BAD_SIGNATURE", False),
    ("unsigned", Outcome.REFUSED, "BAD_SIGNATURE", False),
    ("untrusted", Outcome.REFUSED, "BAD_SIGNATURE", False),
    ("not_unionpay", Outcome.REFUSED, "BAD_SIGNATURE", False),
    ("auth", Outcome.FAILED, "SIGN_ERROR", False),
    ("busy", Outcome.FAILED, "RESP_06", True),
    ("server_error", Outcome.FAILED, "SERVER_ERROR", True),
    ("slow", Outcome.FAILED, "NETWORK", True),
])
def test_outcomes(unionpay: FakeUnionPay, key_files: KeyFiles, chain, mode: str, outcome: Outcome, code: str,
                  transient: bool) -> None:
    unionpay.mode = mode
    got = one(settings(unionpay, key_files, chain, timeout_s=0.3))
    assert (got.outcome, got.details["code"], got.transient) == (outcome, code, transient)
    assert got.data == b""


def test_no_file_before_the_next_days_deadline_is_not_ready(unionpay: FakeUnionPay, key_files: KeyFiles,
                                                            chain) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    got = one(settings(unionpay, key_files, chain), today)
    assert (got.outcome, got.details["code"], got.transient) == (Outcome.NOT_READY, "RESP_98", True)


def test_test_certificates_only_when_allowed(unionpay: FakeUnionPay, key_files: KeyFiles, chain) -> None:
    unionpay.pki = unionpay_pki("00040000:SIGN")
    assert one(settings(unionpay, key_files, chain)).outcome == Outcome.REFUSED
    assert one(settings(unionpay, key_files, chain, allow_test_certs=True)).outcome == Outcome.FETCHED


def test_a_pfx_gives_the_key_and_the_cert_id(unionpay: FakeUnionPay, key_files: KeyFiles, chain, tmp_path,
                                             monkeypatch) -> None:
    key = rsa_key("merchant")
    cert = certificate("merchant", key, "merchant", key, ca=False, serial=int(CERT_ID))
    pfx = tmp_path / "acp_sign.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(b"sign", key, cert, None,
                                                          BestAvailableEncryption(b"000000")))
    monkeypatch.setenv("TEST_PFX_PASSWORD", "000000")
    config = settings(unionpay, key_files, chain, private_key_file=str(pfx),
                      private_key_password_env="TEST_PFX_PASSWORD")
    del config["cert_id"]
    assert one(config).outcome == Outcome.FETCHED
    monkeypatch.setenv("TEST_PFX_PASSWORD", "wrong")
    with pytest.raises(ConfigError) as err:
        one(config)
    assert err.value.code == "BAD_SECRET"


def test_missing_secret(unionpay: FakeUnionPay, key_files: KeyFiles, chain, tmp_path) -> None:
    config = settings(unionpay, key_files, chain)
    del config["private_key_file"]
    for bad in (config, {**config, "private_key_file": str(tmp_path / "absent.pem")}):
        with pytest.raises(ConfigError) as err:
            one(bad)
        assert err.value.code == "MISSING_SECRET"
    assert unionpay.requests == []


def test_plain_http_elsewhere_is_refused(unionpay: FakeUnionPay, key_files: KeyFiles, chain) -> None:
    with pytest.raises(ConfigError) as err:
        one(settings(unionpay, key_files, chain, file_trans_url="http://filedownload.95516.com/"))
    assert err.value.code == "INSECURE_URL"


def test_answers_parse_like_the_sdk() -> None:
    assert parse_answer("a=1&b=x=y&c={d=1&e=2}&f=[g&h]&i=") == {"a": "1", "b": "x=y", "c": "{d=1&e=2}",
                                                                  "f": "[g&h]", "i": ""}
