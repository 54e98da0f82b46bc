"""WeChat Pay v3 and v2 transports against a fake WeChat Pay that checks signatures as WeChat does."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from tally.errors import ConfigError
from tally.synthetic import Txn, wechat_bill
from tally.transports import get
from tally.transports.base import Outcome
from tests.transports.conftest import KeyFiles
from tests.transports.fakes.keys import rsa_key
from tests.transports.fakes.wechat import PLATFORM_SERIAL, FakeWeChatPay

DAY = date(2026, 11, 1)
MCHID = "1900000109"
API_KEY = "v2-api-key-0123456789abcdef0123456"
BILL = wechat_bill([Txn("A1", 1234, datetime(2026, 11, 1, 10, 0)), Txn("A2", 500, datetime(2026, 11, 1, 11, 0)),
                    Txn("A1", 200, datetime(2026, 11, 1, 12, 0), refund_no="RA1")], mchid=MCHID)
FUND_BILL = ("记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),"
             "资金变更提交申请人,备注,业务凭证号\n"
             "`2026-11-01 13:54:01,`50300806962021020105978994968,`4200000920202101197964319284,`退款,`退款,`支出,"
             "`0.01,`0.22,`1601959334API,`退款总金额0.01元;含手续费0.00元,`S20210201135356381941\n"
             "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n`1,`0,`0.00,`1,`0.01\n").encode()


@pytest.fixture
def wechat() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay(mchid=MCHID, merchant_key=rsa_key("merchant").public_key(), platform_key=rsa_key("channel"),
                       bills={("trade", DAY): BILL, ("fund", DAY): FUND_BILL}, api_key=API_KEY) as fake:
        yield fake  # type: ignore[misc]


def v3(fake: FakeWeChatPay, keys: KeyFiles, **more: Any) -> dict[str, Any]:
    return {"transport": "wechatpay_v3", "kind": "wechatpay", "timezone": "Asia/Shanghai", "base_url": fake.url,
            "mchid": MCHID, "serial_no": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
            "private_key_file": keys.merchant_private, "platform_public_key_file": keys.channel_public,
            "platform_serial": PLATFORM_SERIAL, "timeout_s": 1, **more}


def v2(fake: FakeWeChatPay, **more: Any) -> dict[str, Any]:
    return {"transport": "wechatpay_v2", "kind": "wechatpay", "timezone": "Asia/Shanghai", "base_url": fake.url,
            "appid": "wx2421b1c4370ec43b", "mch_id": MCHID, "api_key_env": "TEST_WECHAT_API_KEY", "timeout_s": 1,
            **more}


def one(transport: str, settings: dict[str, Any], day: date = DAY) -> Any:
    answers = get(transport).fetch("wechat", settings, day)
    assert len(answers) == 1
    return answers[0]


# -- APIv3 -------------------------------------------------------------------------------------

def test_v3_downloads_gunzips_and_checks_the_hash(wechat: FakeWeChatPay, key_files: KeyFiles) -> None:
    got = one("wechatpay_v3", v3(wechat, key_files))
    assert got.outcome == Outcome.FETCHED
    assert got.data == BILL
    assert got.details["hash_value"] == hashlib.sha1(BILL).hexdigest()
    apply, download = wechat.requests
    assert apply.path == "/v3/bill/tradebill?bill_date=2026-11-01&bill_type=ALL&tar_type=GZIP"
    assert download.path.startswith("/v3/billdownload/file?token=")
    # A fresh signature on the download, not the apply's.
    assert download.headers["authorization"] != apply.headers["authorization"]


def test_v3_fund_flow_bill_for_a_fund_source(wechat: FakeWeChatPay, key_files: KeyFiles) -> None:
    got = one("wechatpay_v3", v3(wechat, key_files, kind="wechatpay_fund", account_type="BASIC", tar_type=""))
    assert got.outcome == Outcome.FETCHED
    assert got.data == FUND_BILL
    assert wechat.requests[0].path == "/v3/bill/fundflowbill?bill_date=2026-11-01&account_type=BASIC"


@pytest.mark.parametrize(("mode", "outcome", "code", "transient"), [
    ("no_bill", Outcome.NO_BILL, "NO_STATEMENT_EXIST", False),
    ("not_ready", Outcome.NOT_READY, "STATEMENT_CREATING", True),
    ("bad_signature", Outcome.REFUSED, "BAD_SIGNATURE", False),
    ("wrong_serial", Outcome.REFUSED, "BAD_SIGNATURE", False),
    ("unsigned", Outcome.REFUSED, "BAD_SIGNATURE", False),
    ("wrong_hash", Outcome.REFUSED, "HASH_MISMATCH", False),
    ("auth", Outcome.FAILED, "SIGN_ERROR", False),
    ("server_error", Outcome.FAILED, "SERVER_ERROR", True),
    ("slow", Outcome.FAILED, "NETWORK", True),
    ("expired", Outcome.FAILED, "DOWNLOAD_FAILED", True),
])
def test_v3_outcomes(wechat: FakeWeChatPay, key_files: KeyFiles, mode: str, outcome: Outcome, code: str,
                     transient: bool) -> None:
    wechat.mode = mode
    got = one("wechatpay_v3", v3(wechat, key_files, timeout_s=0.3))
    assert (got.outcome, got.details["code"], got.transient) == (outcome, code, transient)
    assert got.data == b""


def test_v3_slow_is_retried_briefly_then_transient(wechat: FakeWeChatPay, key_files: KeyFiles) -> None:
    wechat.mode = "slow"
    got = one("wechatpay_v3", v3(wechat, key_files, timeout_s=0.3))
    assert got.outcome == Outcome.FAILED
    assert got.transient
    assert len(wechat.requests) == 3  # the first try and two quick retries
    assert "timed out" in got.reason


def test_v3_a_plain_bill_without_gzip_also_checks(wechat: FakeWeChatPay, key_files: KeyFiles) -> None:
    wechat.mode = "not_gzip"
    assert one("wechatpay_v3", v3(wechat, key_files)).data == BILL


def test_v3_signed_with_another_merchant_key_is_an_auth_failure(wechat: FakeWeChatPay, key_files: KeyFiles,
                                                                tmp_path) -> None:
    from tests.transports.fakes.keys import private_pem, write

    other = write(tmp_path / "other.pem", private_pem(rsa_key("someone else")))
    got = one("wechatpay_v3", v3(wechat, key_files, private_key_file=other))
    assert (got.outcome, got.transient, got.details["code"]) == (Outcome.FAILED, False, "SIGN_ERROR")


def test_v3_missing_secret(wechat: FakeWeChatPay, key_files: KeyFiles, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    settings = v3(wechat, key_files)
    del settings["private_key_file"]
    with pytest.raises(ConfigError) as err:
        one("wechatpay_v3", settings)
    assert err.value.code == "MISSING_SECRET"
    with pytest.raises(ConfigError) as err:
        one("wechatpay_v3", {**settings, "private_key_env": "NOT_SET_ANYWHERE"})
    assert err.value.code == "MISSING_SECRET"
    with pytest.raises(ConfigError) as err:
        one("wechatpay_v3", {**settings, "private_key_file": str(tmp_path / "nowhere.pem")})
    assert err.value.code == "MISSING_SECRET"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(ConfigError) as err:
        one("wechatpay_v3", {**settings, "private_key_file": str(garbage)})
    assert err.value.code == "BAD_SECRET"
    assert wechat.requests == []


@pytest.mark.parametrize("url", ["http://api.mch.weixin.qq.com", "http://10.0.0.8:8080", "ftp://127.0.0.1"])
def test_plain_http_to_a_non_loopback_host_is_refused(wechat: FakeWeChatPay, key_files: KeyFiles, url: str,
                                                      monkeypatch) -> None:
    monkeypatch.setenv("TEST_WECHAT_API_KEY", API_KEY)
    for transport, settings in (("wechatpay_v3", v3(wechat, key_files)), ("wechatpay_v2", v2(wechat))):
        with pytest.raises(ConfigError) as err:
            one(transport, {**settings, "base_url": url})
        assert err.value.code in ("INSECURE_URL", "BAD_URL")


# -- APIv2 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("more", "gzip"), [({}, False), ({"tar_type": "GZIP"}, True),
                                            ({"sign_type": "HMAC-SHA256", "tar_type": "GZIP"}, True)])
def test_v2_downloads_plain_or_gzip(wechat: FakeWeChatPay, monkeypatch, more: dict[str, str], gzip: bool) -> None:
    monkeypatch.setenv("TEST_WECHAT_API_KEY", API_KEY)
    got = one("wechatpay_v2", v2(wechat, **more))
    assert got.outcome == Outcome.FETCHED
    assert got.data == BILL
    assert got.details["gzip"] is gzip


@pytest.mark.parametrize(("mode", "outcome", "code", "transient"), [
    ("no_bill", Outcome.NO_BILL, "NO_BILL_EXIST", False),
    ("not_ready", Outcome.NOT_READY, "BILL_CREATING", True),
    ("auth", Outcome.FAILED, "CHANNEL_ERROR", False),
    ("server_error", Outcome.FAILED, "SERVER_ERROR", True),
    ("slow", Outcome.FAILED, "NETWORK", True),
])
def test_v2_outcomes(wechat: FakeWeChatPay, monkeypatch, mode: str, outcome: Outcome, code: str,
                     transient: bool) -> None:
    monkeypatch.setenv("TEST_WECHAT_API_KEY", API_KEY)
    wechat.mode = mode
    got = one("wechatpay_v2", v2(wechat, timeout_s=0.3))
    assert (got.outcome, got.details["code"], got.transient) == (outcome, code, transient)


def test_v2_wrong_api_key_is_a_sign_error(wechat: FakeWeChatPay, monkeypatch) -> None:
    monkeypatch.setenv("TEST_WECHAT_API_KEY", "not-the-key")
    got = one("wechatpay_v2", v2(wechat))
    assert (got.outcome, got.details["code"], got.transient) == (Outcome.FAILED, "SIGN_ERROR", False)
    assert "not-the-key" not in got.reason


def test_v2_missing_api_key(wechat: FakeWeChatPay, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("TEST_WECHAT_API_KEY", raising=False)
    for settings in (v2(wechat), {**v2(wechat), "api_key_env": None, "api_key_file": str(tmp_path / "none")}):
        with pytest.raises(ConfigError) as err:
            one("wechatpay_v2", settings)
        assert err.value.code == "MISSING_SECRET"
