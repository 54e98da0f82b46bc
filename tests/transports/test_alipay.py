"""The Alipay transport against a fake OpenAPI gateway that checks RSA2 signatures as Alipay does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tally.errors import ConfigError
from tally.transports import get
from tally.transports.alipay import response_node
from tally.transports.base import Outcome
from tests.transports.conftest import KeyFiles
from tests.transports.fakes.alipay import FakeAlipay, alipay_zip
from tests.transports.fakes.keys import rsa_key

DAY = date(2026, 11, 1)
APP_ID = "2021000000000000"
BILL = alipay_zip(DAY, [("P1", "12.34", datetime(2026, 11, 1, 10, 0)), ("P2", "5.00", datetime(2026, 11, 1, 11, 0))])


@pytest.fixture
def alipay() -> Iterator[FakeAlipay]:
    with FakeAlipay(app_id=APP_ID, merchant_key=rsa_key("merchant").public_key(), alipay_key=rsa_key("channel"),
                    bills={DAY: BILL}) as fake:
        yield fake  # type: ignore[misc]


def settings(fake: FakeAlipay, keys: KeyFiles, **more: Any) -> dict[str, Any]:
    return {"transport": "alipay", "kind": "alipay", "timezone": "Asia/Shanghai",
            "gateway_url": f"{fake.url}/gateway.do", "app_id": APP_ID, "private_key_file": keys.merchant_private,
            "alipay_public_key_file": keys.channel_public, "timeout_s": 1, **more}


def one(config: dict[str, Any], day: date = DAY) -> Any:
    answers = get("alipay").fetch("alipay", config, day)
    assert len(answers) == 1
    return answers[0]


def test_queries_the_url_verifies_and_downloads_the_zip(alipay: FakeAlipay, key_files: KeyFiles) -> None:
    got = one(settings(alipay, key_files))
    assert got.outcome == Outcome.FETCHED
    assert got.data == BILL
    assert got.file_name == "20880211096256330156_20261101.csv.zip"
    params = alipay.seen_params[0]
    assert params["method"] == "alipay.data.dataservice.bill.downloadurl.query"
    assert params["sign_type"] == "RSA2"
    assert params["biz_content"] == '{"bill_type":"trade","bill_date":"2026-11-01"}'


@pytest.mark.parametrize(("mode", "outcome", "code", "transient"), [
    ("no_bill", Outcome.NO_BILL, "isp.bill_not_exist", False),
    ("bad_signature", Outcome.REFUSED, "BAD_SIGNATURE", False),
    ("unsigned", Outcome.REFUSED, "BAD_SIGNATURE", False),
    # An unsigned "no bill" is not believed: a missing bill must not be taken for a quiet day.
    ("unsigned_no_bill", Outcome.FAILED, "isp.bill_not_exist", False),
    ("auth", Outcome.FAILED, "isv.invalid-signature", False),
    ("server_error", Outcome.FAILED, "SERVER_ERROR", True),
    ("slow", Outcome.FAILED, "NETWORK", True),
    ("expired", Outcome.FAILED, "DOWNLOAD_FAILED", True),
])
def test_outcomes(alipay: FakeAlipay, key_files: KeyFiles, mode: str, outcome: Outcome, code: str,
                  transient: bool) -> None:
    alipay.mode = mode
    got = one(settings(alipay, key_files, timeout_s=0.3))
    assert (got.outcome, got.details["code"], got.transient) == (outcome, code, transient)
    assert got.data == b""


def test_no_bill_before_the_next_days_deadline_is_not_ready(alipay: FakeAlipay, key_files: KeyFiles) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    alipay.mode = "no_bill"
    got = one(settings(alipay, key_files), today)
    assert (got.outcome, got.transient) == (Outcome.NOT_READY, True)


def test_signed_with_another_key_is_refused_by_the_gateway(alipay: FakeAlipay, key_files: KeyFiles,
                                                           tmp_path) -> None:
    from tests.transports.fakes.keys import private_pem, write

    other = write(tmp_path / "other.pem", private_pem(rsa_key("someone else")))
    got = one(settings(alipay, key_files, private_key_file=other))
    assert (got.outcome, got.transient) == (Outcome.FAILED, False)


def test_missing_secret(alipay: FakeAlipay, key_files: KeyFiles, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_ALIPAY_KEY", raising=False)
    config = settings(alipay, key_files)
    del config["private_key_file"]
    for bad in (config, {**config, "private_key_env": "NO_SUCH_ALIPAY_KEY"}):
        with pytest.raises(ConfigError) as err:
            one(bad)
        assert err.value.code == "MISSING_SECRET"
    assert alipay.requests == []


def test_plain_http_gateway_elsewhere_is_refused(alipay: FakeAlipay, key_files: KeyFiles) -> None:
    with pytest.raises(ConfigError) as err:
        one(settings(alipay, key_files, gateway_url="http://openapi.alipay.com/gateway.do"))
    assert err.value.code == "INSECURE_URL"


def test_the_signed_text_is_the_node_exactly_as_received() -> None:
    text = '{"alipay_data_dataservice_bill_downloadurl_query_response" : {"a":"}{\\"","b":{"c":1}} ,"sign":"xyz"}'
    name, node, sign = response_node(text)
    assert (name, node, sign) == ("alipay_data_dataservice_bill_downloadurl_query_response",
                                  '{"a":"}{\\"","b":{"c":1}}', "xyz")
    # The sign may also come first.
    assert response_node('{"sign":"s","error_response":{"code":"40002"}}')[1:] == ('{"code":"40002"}', "s")


def test_the_public_key_as_the_console_shows_it(alipay: FakeAlipay, key_files: KeyFiles, tmp_path) -> None:
    """Alipay's console shows its public key as bare Base64, without PEM lines."""
    pem = Path(key_files.channel_public).read_text()
    bare = tmp_path / "alipay_pub.txt"
    bare.write_text("".join(line for line in pem.splitlines() if not line.startswith("-----")))
    assert one(settings(alipay, key_files, alipay_public_key_file=str(bare))).outcome == Outcome.FETCHED
