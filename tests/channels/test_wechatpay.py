"""WeChat Pay trade bills: the real sample, hand-made edge files, control totals, any bytes."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, get
from tally.errors import InputRejected
from tally.synthetic import Txn, wechat_bill

CTX = ParseContext(source="wechat", options={"timezone": "Asia/Shanghai"}, bill_sha256="f" * 64, file_name="bill.csv")


def parse(data: bytes) -> list[dict]:
    return pa.Table.from_batches(list(get("wechatpay").parse(data, CTX))).to_pylist()


def test_real_v3_sample_parses_to_its_three_payments(samples: Path) -> None:
    records = parse((samples / "wechatpay" / "tradebill_ALL_20210128.csv").read_bytes())
    assert [r["order_no"] for r in records] == ["S20210128170702357723", "S20210128153505214586",
                                                 "S20210128165824499930"]
    first = records[0]
    assert first == {
        "source": "wechat", "business_day": date(2021, 1, 28), "record_kind": "payment",
        "order_no": "S20210128170702357723", "refund_no": None, "channel_txn_id": "4200000925202101284997714292",
        "amount_minor": 1, "fee_minor": 0, "discount_minor": 0, "currency": "CNY",
        "occurred_at": datetime(2021, 1, 28, 9, 7, 11, tzinfo=UTC), "status": "SUCCESS", "item": None,
        "quantity": None, "bill_sha256": "f" * 64, "line_no": 2,
    }


def test_gzip_sample_gives_the_same_records(samples: Path) -> None:
    plain = parse((samples / "wechatpay" / "tradebill_ALL_20210128.csv").read_bytes())
    zipped = parse((samples / "wechatpay" / "tradebill_ALL_20210128.csv.gz").read_bytes())
    assert plain == zipped
    assert get("wechatpay").extension(b"\x1f\x8b...", CTX) == "csv.gz"


def test_refund_rows_are_negative_with_refund_numbers() -> None:
    at = datetime(2026, 11, 1, 10, 0)
    data = wechat_bill([Txn("A1", 1000, at), Txn("A1", 400, at + timedelta(hours=1), refund_no="RA1")])
    payment, refund = parse(data)
    assert (payment["record_kind"], payment["amount_minor"], payment["refund_no"]) == ("payment", 1000, None)
    assert (refund["record_kind"], refund["amount_minor"], refund["refund_no"]) == ("refund", -400, "RA1")
    assert payment["fee_minor"] == 6  # 0.06000 yuan fee at 0.6%
    assert refund["fee_minor"] == -2  # 0.02400 returned, rounded half up


def test_crlf_bills_parse_like_lf() -> None:
    txns = [Txn("A1", 1000, datetime(2026, 11, 1, 10, 0))]
    assert parse(wechat_bill(txns, crlf=True)) == parse(wechat_bill(txns))


def test_midnight_in_beijing_is_the_previous_day_in_utc() -> None:
    (record,) = parse(wechat_bill([Txn("A1", 1, datetime(2026, 11, 2, 0, 0, 2))]))
    assert record["business_day"] == date(2026, 11, 2)
    assert record["occurred_at"] == datetime(2026, 11, 1, 16, 0, 2, tzinfo=UTC)


LEGACY = (
    "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,"
    "代金券或立减优惠金额,微信退款单号,商户退款单号,退款金额,代金券或立减优惠退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率\n"
    "`2014-11-10 16:33:45,`wx2421b1c4370ec43b,`10000100,`0,`1000,`1001690740201411100005734289,`1415640626,"
    "`085e9858e3ba5186aafcbaed1,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`0.01,`0.0,`0,`0,`0,`0,`,`,`被扫支付测试,`订单额外描述,`0,`0.60%\n"
    "总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额\n"
    "`1,`0.01,`0.00,`0.00,`0.00\n"
)


def test_legacy_header_family_is_mapped_by_name() -> None:
    (record,) = parse(LEGACY.encode())
    assert (record["order_no"], record["amount_minor"], record["business_day"]) == ("1415640626", 1, date(2014, 11, 10))


def bill_text() -> str:
    return wechat_bill([Txn("A1", 1000, datetime(2026, 11, 1, 10, 0)),
                        Txn("A2", 2000, datetime(2026, 11, 1, 11, 0))]).decode()


@pytest.mark.parametrize(
    ("edit", "code", "line"),
    [
        (lambda t: t.replace("`2,`30.00", "`3,`30.00"), "TOTALS_MISMATCH", 5),
        (lambda t: t.replace("`2,`30.00", "`2,`30.01"), "TOTALS_MISMATCH", 5),
        (lambda t: t.rsplit("总交易单数", 1)[0], "MISSING_TOTALS", 3),
        (lambda t: t.replace("`10.00,`0.00,`0,", "`10.001,`0.00,`0,", 1), "AMOUNT_PRECISION", 2),
        (lambda t: t.replace("`10.00,`0.00,`0,", "`NaN,`0.00,`0,", 1), "BAD_AMOUNT", 2),
        (lambda t: t.replace("`10.00,`0.00,`0,", "`1e3,`0.00,`0,", 1), "BAD_AMOUNT", 2),
        (lambda t: t.replace("`2026-11-01 10:00:00", "`2026-11-31 10:00:00"), "BAD_DATE", 2),
        (lambda t: t.replace("`demo goods", "`demo, goods", 1), "COLUMN_COUNT", 2),
        (lambda t: t.replace("交易时间,", "时间,", 1), "WRONG_KIND", 1),
        (lambda t: t.replace(",商户订单号,", ",订单号,", 1), "MISSING_COLUMN", 1),
        (lambda t: t + "garbage\n", "TRAILING_DATA", 6),
        (lambda t: "<xml><return_code><![CDATA[FAIL]]></return_code></xml>", "CHANNEL_ERROR", 1),
        (lambda t: "记账时间,微信支付业务单号\n", "WRONG_KIND", 1),
        (lambda t: "", "EMPTY_FILE", None),
    ],
)
def test_broken_bills_are_rejected_whole_with_code_and_line(edit, code: str, line: int | None) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(edit(bill_text()).encode())
    assert caught.value.code == code
    assert caught.value.where.line == line
    assert caught.value.where.file == "bill.csv"


def test_truncated_gzip_is_a_clear_error() -> None:
    data = gzip.compress(bill_text().encode())
    with pytest.raises(InputRejected) as caught:
        parse(data[: len(data) // 2])
    assert caught.value.code == "CORRUPT_GZIP"


def test_gbk_bytes_are_read_through_the_fallback() -> None:
    records = parse(LEGACY.encode("gb18030"))
    assert records[0]["order_no"] == "1415640626"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_records_or_a_clear_error(data: bytes) -> None:
    try:
        parse(data)
    except InputRejected as exc:
        assert exc.code.isupper()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("`,0123456789.-\n总交易单数SUCCESSREFUND ")), max_size=600))
def test_bill_like_text_gives_records_or_a_clear_error(tail: str) -> None:
    try:
        parse((bill_text().split("\n", 1)[0] + "\n" + tail).encode())
    except InputRejected as exc:
        assert exc.code.isupper()
