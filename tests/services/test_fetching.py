"""`tally fetch` as a user runs it, against fake WeChat Pay, Alipay and UnionPay servers on 127.0.0.1:
every outcome, its exit code and words, the FetchAttempt history, and secrets kept out of logs and rows."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from tally.cli import main
from tally.ingest.models import Bill, FetchAttempt, Source
from tally.synthetic import Txn, wechat_bill
from tests.transports.fakes.alipay import FakeAlipay, alipay_zip
from tests.transports.fakes.keys import cert_pem, private_pem, public_pem, rsa_key, unionpay_pki, write
from tests.transports.fakes.unionpay import FakeUnionPay
from tests.transports.fakes.wechat import PLATFORM_SERIAL, FakeWeChatPay

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 1)
UP_DAY = date(2015, 9, 5)
MCHID = "1900000109"
API_KEY = "v2-api-key-THIS-IS-SECRET-0123456"
TXNS = [Txn("A1", 1234, datetime(2026, 11, 1, 10, 0)), Txn("A2", 500, datetime(2026, 11, 1, 11, 0)),
        Txn("A1", 200, datetime(2026, 11, 1, 12, 0), refund_no="RA1")]
BILL = wechat_bill(TXNS, mchid=MCHID)
ALIPAY_BILL = alipay_zip(DAY, [("P1", "12.34", datetime(2026, 11, 1, 10, 0)),
                               ("P2", "5.00", datetime(2026, 11, 1, 11, 0))])

TOML = """
[sources.wechat]
kind = "wechatpay"
timezone = "Asia/Shanghai"
[sources.wechat.fetch]
transport = "wechatpay_v3"
base_url = "{wechat}"
mchid = "{mchid}"
serial_no = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
private_key_file = "{merchant_key}"
platform_public_key_file = "{channel_pub}"
platform_serial = "{platform_serial}"
timeout_s = 0.5
ready_time = "10:00"

[sources.wechat_v2]
kind = "wechatpay"
[sources.wechat_v2.fetch]
transport = "wechatpay_v2"
base_url = "{wechat}"
appid = "wx2421b1c4370ec43b"
mch_id = "{mchid}"
api_key_env = "TEST_TALLY_WECHAT_API_KEY"
tar_type = "GZIP"

[sources.alipay]
kind = "alipay"
[sources.alipay.fetch]
transport = "alipay"
gateway_url = "{alipay}/gateway.do"
app_id = "2021000000000000"
private_key_file = "{merchant_key}"
alipay_public_key_file = "{channel_pub}"

[sources.unionpay]
kind = "unionpay"
[sources.unionpay.fetch]
transport = "unionpay"
file_trans_url = "{unionpay}"
mer_id = "802310048993424"
cert_id = "68759663125"
private_key_file = "{merchant_key}"
root_cert_file = "{root}"
middle_cert_file = "{middle}"

[sources.shop]
kind = "table"
currency = "CNY"
[sources.shop.columns]
order_no = "order_no"
amount_minor = "amount"
occurred_at = "paid_at"
"""


@dataclass
class Channels:
    wechat: FakeWeChatPay
    alipay: FakeAlipay
    unionpay: FakeUnionPay
    home: Path
    merchant_pem: str


@pytest.fixture
def channels(tmp_path: Path, tally_home: Path, samples: Path, capsys, monkeypatch) -> Iterator[Channels]:
    monkeypatch.setenv("TEST_TALLY_WECHAT_API_KEY", API_KEY)
    merchant, channel = rsa_key("merchant"), rsa_key("channel")
    pki = unionpay_pki()
    sample = (samples / "unionpay" / "802310048993424_20150905.zip").read_bytes()
    with (FakeWeChatPay(mchid=MCHID, merchant_key=merchant.public_key(), platform_key=channel,
                        bills={("trade", DAY): BILL}, api_key=API_KEY) as wechat,
          FakeAlipay(app_id="2021000000000000", merchant_key=merchant.public_key(), alipay_key=channel,
                     bills={DAY: ALIPAY_BILL}) as alipay,
          FakeUnionPay(mer_id="802310048993424", cert_id="68759663125", merchant_key=merchant.public_key(),
                       files={"0905": ("802310048993424_20150905.zip", sample)}) as unionpay):
        keys = tmp_path / "keys"
        toml = tmp_path / "tally.toml"
        toml.write_text(TOML.format(
            wechat=wechat.url, alipay=alipay.url, unionpay=unionpay.url, mchid=MCHID, platform_serial=PLATFORM_SERIAL,
            merchant_key=write(keys / "merchant.pem", private_pem(merchant)),
            channel_pub=write(keys / "channel_pub.pem", public_pem(channel)),
            root=write(keys / "root.cer", cert_pem(pki.root)), middle=write(keys / "middle.cer", cert_pem(pki.middle))),
            encoding="utf-8")
        assert main(["apply", str(toml)]) == 0
        capsys.readouterr()
        yield Channels(wechat, alipay, unionpay, tally_home, private_pem(merchant))  # type: ignore[arg-type]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["fetch", *args])
    out, err = capsys.readouterr()
    return code, out, err


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def test_imported_then_already(channels: Channels, capsys) -> None:
    code, out, _ = run(capsys, "--source", "wechat", "--day", "2026-11-01")
    assert code == 0
    assert out.startswith("imported pay_wechat_20261101_01.csv: 3 records")
    bill = Bill.objects.get(status="imported")
    attempt = FetchAttempt.objects.get()
    assert (attempt.outcome, attempt.bill, attempt.transport, attempt.business_day) == (
        "imported", bill, "wechatpay_v3", DAY)
    assert attempt.finished_at is not None
    assert {"download_s", "import_s", "hash_value"} <= set(attempt.details)

    # The same bill fetched twice is one bill.
    code, out, _ = run(capsys, "--source", "wechat", "--day", "2026-11-01")
    assert code == 0
    assert out.startswith("already imported: pay_wechat_20261101_01.csv")
    assert Bill.objects.count() == 1
    assert [a.outcome for a in FetchAttempt.objects.order_by("pk")] == ["imported", "already"]
    assert FetchAttempt.objects.order_by("pk").last().bill == bill


@pytest.mark.parametrize(("mode", "word"), [("no_bill", "no_bill"), ("not_ready", "not_ready")])
def test_no_bill_and_not_ready_exit_0_in_those_words(channels: Channels, capsys, mode: str, word: str) -> None:
    channels.wechat.mode = mode
    code, out, _ = run(capsys, "--source", "wechat", "--day", "2026-11-01")
    assert code == 0
    assert out.split(":")[0] == word
    attempt = FetchAttempt.objects.get()
    assert attempt.outcome == word
    assert attempt.transient is (word == "not_ready")
    assert not Bill.objects.exists()


@pytest.mark.parametrize(("mode", "code_word"), [("bad_signature", "BAD_SIGNATURE"), ("wrong_hash", "HASH_MISMATCH"),
                                                 ("wrong_serial", "BAD_SIGNATURE")])
def test_refused_exits_2_and_keeps_nothing(channels: Channels, capsys, mode: str, code_word: str) -> None:
    channels.wechat.mode = mode
    code, _, err = run(capsys, "--source", "wechat", "--day", "2026-11-01")
    assert code == 2
    assert err.startswith(f"error[{code_word}]: fetch of wechat for 2026-11-01:")
    assert not Bill.objects.exists()
    assert files_under(channels.home / "archive") == []
    assert files_under(channels.home / "lake" / "records") == []
    attempt = FetchAttempt.objects.get()
    assert (attempt.outcome, attempt.transient, attempt.details["code"]) == ("refused", False, code_word)


def test_a_fetched_bill_that_fails_its_checks_is_rejected(channels: Channels, capsys) -> None:
    bad = BILL.replace(b"\n`3,", b"\n`4,")  # the summary's count no longer matches the rows
    assert bad != BILL
    channels.wechat.bills[("trade", DAY)] = bad
    code, _, err = run(capsys, "--source", "wechat", "--day", "2026-11-01")
    assert code == 2
    # The bill's own error, pointing at the file and line, as `tally import` would print it.
    assert err.startswith("error[TOTALS_MISMATCH]: ")
    assert "(tradebill_ALL_20261101.csv:" in err
    assert not Bill.objects.filter(status="imported").exists()
    assert files_under(channels.home / "archive") == []
    assert files_under(channels.home / "lake" / "records") == []
    attempt = FetchAttempt.objects.get()
    assert attempt.outcome == "rejected"
    assert attempt.bill is not None
    assert attempt.bill.status == "rejected"


@pytest.mark.parametrize(("mode", "transient"), [("server_error", True), ("slow", True), ("auth", False)])
def test_failures_exit_1_with_the_reason(channels: Channels, capsys, mode: str, transient: bool) -> None:
    channels.wechat.mode = mode
    code, _, err = run(capsys, "--source", "wechat", "--day", "2026-11-01")
    assert code == 1
    attempt = FetchAttempt.objects.get()
    assert (attempt.outcome, attempt.transient) == ("failed", transient)
    assert attempt.reason in err
    assert attempt.finished_at is not None


def test_every_channel_transport_imports_its_bill(channels: Channels, capsys) -> None:
    assert run(capsys, "--source", "wechat_v2", "--day", "2026-11-01")[:2] == (
        0, "imported pay_wechat_v2_20261101_01.csv: 3 records\n")
    code, out, err = run(capsys, "--source", "alipay", "--day", "2026-11-01")
    assert (code, err) == (0, "")
    assert out == "imported pay_alipay_20261101_01.csv.zip: 2 records\n"
    code, out, err = run(capsys, "--source", "unionpay", "--day", "2015-09-05")
    assert (code, err) == (0, "")
    assert out.startswith("imported pay_unionpay_20150905_01.")
    assert {a.outcome for a in FetchAttempt.objects.all()} == {"imported"}


def test_missing_secret_is_a_config_error(channels: Channels, capsys, monkeypatch) -> None:
    monkeypatch.delenv("TEST_TALLY_WECHAT_API_KEY")
    code, _, err = run(capsys, "--source", "wechat_v2", "--day", "2026-11-01")
    assert code == 2
    assert err.startswith("error[MISSING_SECRET]:")
    assert "TEST_TALLY_WECHAT_API_KEY" in err
    attempt = FetchAttempt.objects.get()
    assert (attempt.outcome, attempt.transient) == ("failed", False)
    assert channels.wechat.requests == []


def test_no_such_source_or_no_fetch_table(channels: Channels, capsys) -> None:
    assert run(capsys, "--source", "nope", "--day", "2026-11-01")[0] == 2
    code, _, err = run(capsys, "--source", "shop", "--day", "2026-11-01")
    assert code == 2
    assert err.startswith("error[NO_FETCH]:")
    assert not FetchAttempt.objects.exists()


def test_plain_http_to_another_host_is_refused(channels: Channels, capsys, tmp_path: Path) -> None:
    toml = tmp_path / "insecure.toml"
    toml.write_text('[sources.w2]\nkind = "wechatpay"\n[sources.w2.fetch]\ntransport = "wechatpay_v2"\n'
                    'base_url = "http://api.mch.weixin.qq.com"\nappid = "wx1"\nmch_id = "1"\n'
                    'api_key_env = "X"\n', encoding="utf-8")
    assert main(["apply", str(toml)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[BAD_SOURCE]: sources.w2.fetch.base_url: plain http to api.mch.weixin.qq.com")
    # Declared some other way (the back office, an older declaration): refused when fetching too.
    spec = Source.objects.get(name="wechat_v2").spec
    Source.objects.filter(name="wechat_v2").update(
        spec={**spec, "fetch": {**spec["fetch"], "base_url": "http://api.mch.weixin.qq.com"}})
    code, _, err = run(capsys, "--source", "wechat_v2", "--day", "2026-11-01")
    assert code == 2
    assert err.startswith("error[INSECURE_URL]:")


def test_inline_secrets_are_refused_by_apply(channels: Channels, capsys, tmp_path: Path) -> None:
    toml = tmp_path / "inline.toml"
    toml.write_text('[sources.w3]\nkind = "wechatpay"\n[sources.w3.fetch]\ntransport = "wechatpay_v2"\n'
                    'appid = "wx1"\nmch_id = "1"\napi_key = "hunter2"\n', encoding="utf-8")
    assert main(["apply", str(toml)]) == 2
    err = capsys.readouterr().err
    assert "sources.w3.fetch.api_key: secrets are never written in a declaration" in err
    assert "hunter2" not in err


def test_secrets_never_reach_logs_or_attempt_rows(channels: Channels, capsys, caplog, monkeypatch) -> None:
    # main() sets Django up, which would reconfigure logging and unhook caplog: keep it hooked.
    monkeypatch.setattr("django.utils.log.configure_logging", lambda *args: None)
    caplog.set_level(logging.DEBUG)
    for mode in ("ok", "auth", "bad_signature", "server_error"):
        channels.wechat.mode = mode
        for source in ("wechat", "wechat_v2"):
            run(capsys, "--source", source, "--day", "2026-11-01")
    monkeypatch.setenv("TEST_TALLY_WECHAT_API_KEY", "a-wrong-key-ALSO-SECRET-99")
    run(capsys, "--source", "wechat_v2", "--day", "2026-11-01")
    pem_body = [line for line in channels.merchant_pem.splitlines() if not line.startswith("-----")]
    secrets = [API_KEY, "a-wrong-key-ALSO-SECRET-99", *pem_body]
    log_file = (channels.home / "logs" / "tally.log").read_text(encoding="utf-8")
    rows = json.dumps(list(FetchAttempt.objects.values("reason", "details")), ensure_ascii=False)
    assert "HTTP Request" in caplog.text  # httpx did log its requests …
    assert "token=" not in caplog.text  # … without the download URLs' tokens
    for text in (caplog.text, log_file, rows):
        for secret in secrets:
            assert secret not in text


def test_a_sql_source_is_fetched_by_its_query(tmp_path: Path, capsys) -> None:
    from tally.synthetic import shop_database

    shop_database(tmp_path / "shop.sqlite3", TXNS)
    toml = tmp_path / "shop.toml"
    toml.write_text(f"""
[sources.orders]
kind = "sql"
url = "sqlite:///{tmp_path / 'shop.sqlite3'}"
query = '''select order_no, refund_no, kind, amount_fen, currency, paid_at from payments
           where paid_at >= :day_start and paid_at < :day_end order by id'''
amount_unit = "minor"
[sources.orders.columns]
order_no = "order_no"
refund_no = "refund_no"
record_kind = "kind"
amount_minor = "amount_fen"
currency = "currency"
occurred_at = "paid_at"
[sources.orders.values.record_kind]
PAY = "payment"
REFUND = "refund"
""", encoding="utf-8")
    assert main(["apply", str(toml)]) == 0
    capsys.readouterr()
    assert run(capsys, "--source", "orders", "--day", "2026-11-01")[:2] == (
        0, "imported ord_orders_20261101_01.jsonl: 3 records\n")
    assert run(capsys, "--source", "orders", "--day", "2026-11-01")[0] == 0
    assert [(a.transport, a.outcome) for a in FetchAttempt.objects.order_by("pk")] == [
        ("sql", "imported"), ("sql", "already")]
