"""WeChat Pay fund-flow bills: hand-made BASIC/OPERATION/FEES files, summary checks, bad input, any bytes."""

from __future__ import annotations

import gzip
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, get
from tally.errors import InputRejected
from tally.records import SCHEMA

CTX = ParseContext(source="wechat_fund", options={"timezone": "Asia/Shanghai"}, bill_sha256="e" * 64,
                   file_name="fundflow.csv")
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "wechatpay_fund"
HEADER_V2 = ("记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,"
             "资金变更提交申请人,备注,业务凭证号")
HEADER_V3 = HEADER_V2.replace("（", "(").replace("）", ")")
SUMMARY_HEADER = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"


@dataclass(frozen=True)
class Flow:
    at: str
    name: str
    direction: str
    amount: str
    voucher: str = ""
    kind: str | None = None  # 业务类型; the same as 业务名称 unless given
    biz_no: str = "4200000920202101197964319284"
    note: str = ""

    def line(self, balance: str) -> str:
        kind = self.name if self.kind is None else self.kind
        cells = [self.at, self.biz_no, "50300806962021020105978994968", self.name, kind, self.direction,
                 self.amount, balance, "1601959334API", self.note, self.voucher]
        return ",".join("`" + cell for cell in cells)


def fund_bill(flows: list[Flow], *, header: str = HEADER_V3, summary: str | None = None, crlf: bool = False) -> bytes:
    lines = [header]
    balance = Decimal("100.00")
    incomes = [Decimal(f.amount) for f in flows if f.direction == "收入"]
    outgoes = [Decimal(f.amount) for f in flows if f.direction == "支出"]
    for flow in flows:
        balance += Decimal(flow.amount) * (1 if flow.direction == "收入" else -1)
        lines.append(flow.line(str(balance)))
    lines.append(SUMMARY_HEADER)
    lines.append(summary or ",".join("`" + str(v) for v in (len(flows), len(incomes), sum(incomes, Decimal("0.00")),
                                                            len(outgoes), sum(outgoes, Decimal("0.00")))))
    return ("\r\n" if crlf else "\n").join(lines).encode() + b"\n"


FLOWS = [
    Flow("2026-11-01 10:00:01", "交易", "收入", "100.00", voucher="A1"),
    Flow("2026-11-01 10:00:01", "扣除交易手续费", "支出", "0.60", voucher="A1"),
    Flow("2026-11-01 12:30:00", "退款", "支出", "40.00", voucher="RA1", note="退款总金额40.00元;含手续费0.24元"),
    Flow("2026-11-02 00:10:00", "提现", "支出", "50.00"),
    Flow("2026-11-02 09:00:00", "营销补贴", "收入", "5.00"),
]


def parse(data: bytes, ctx: ParseContext = CTX) -> list[dict]:
    return pa.Table.from_batches(list(get("wechatpay_fund").parse(data, ctx)), schema=SCHEMA).to_pylist()


def test_each_booking_becomes_a_signed_record_of_its_kind() -> None:
    records = parse(fund_bill(FLOWS))
    assert [(r["record_kind"], r["amount_minor"], r["order_no"], r["refund_no"]) for r in records] == [
        ("payment", 10000, "A1", None),
        ("fee", -60, None, None),
        ("refund", -4000, None, "RA1"),
        ("payout", -5000, None, None),
        ("other", 500, None, None),
    ]
    first = records[0]
    assert first == {
        "source": "wechat_fund", "business_day": date(2026, 11, 1), "record_kind": "payment", "order_no": "A1",
        "refund_no": None, "channel_txn_id": "4200000920202101197964319284", "amount_minor": 10000,
        "fee_minor": 0, "discount_minor": 0, "currency": "CNY",
        "occurred_at": datetime(2026, 11, 1, 2, 0, 1, tzinfo=UTC), "status": "交易", "item": None,
        "quantity": None, "bill_sha256": "e" * 64, "line_no": 2,
    }
    assert records[-1]["line_no"] == 6
    assert records[3]["business_day"] == date(2026, 11, 2)  # 00:10 Beijing is still the 2nd
    assert records[3]["occurred_at"] == datetime(2026, 11, 1, 16, 10, tzinfo=UTC)
    assert get("wechatpay_fund").category == "fund"


def test_the_official_v2_header_with_full_width_parentheses_is_the_same_bill() -> None:
    assert parse(fund_bill(FLOWS, header=HEADER_V2)) == parse(fund_bill(FLOWS))


def test_gzip_and_crlf_bills_parse_like_plain_ones() -> None:
    plain = parse(fund_bill(FLOWS))
    assert parse(gzip.compress(fund_bill(FLOWS))) == plain
    assert parse(fund_bill(FLOWS, crlf=True)) == plain
    assert get("wechatpay_fund").extension(gzip.compress(b"x"), CTX) == "csv.gz"
    assert get("wechatpay_fund").extension(b"x", CTX) == "csv"


def test_summary_counts_written_as_floats_are_accepted() -> None:
    data = fund_bill(FLOWS, summary="`5.0,`2.0,`105.00,`3.0,`90.60")
    assert len(parse(data)) == 5


@pytest.mark.parametrize(("business_type", "name", "kind"), [
    ("交易", "交易", "payment"), ("退款", "退款", "refund"), ("扣除交易手续费", "扣除交易手续费", "fee"),
    ("手续费", "服务费", "fee"), ("提现", "提现", "payout"), ("结算", "结算", "payout"),
    ("", "退款", "refund"), ("企业付款", "企业付款", "other"),
])
def test_business_types_map_to_record_kinds(business_type: str, name: str, kind: str) -> None:
    (record,) = parse(fund_bill([Flow("2026-11-01 10:00:00", name, "收入", "1.00", kind=business_type)]))
    assert record["record_kind"] == kind


def test_an_empty_day_has_no_records() -> None:
    assert parse(fund_bill([])) == []


def test_currency_comes_from_the_source_setting() -> None:
    ctx = ParseContext(source="hk", options={"currency": "HKD"}, file_name="f.csv")
    assert {r["currency"] for r in parse(fund_bill(FLOWS), ctx)} == {"HKD"}


# The fixture of FORMATS.md §1.5 as published: trimmed to 2 rows while its summary says 3.
TRIMMED_FIXTURE = (
    "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\n"
    "`2021-02-01 13:54:01,`50300806962021020105978994968,`4200000920202101197964319284,`退款,`退款,`支出,`0.01,"
    "`0.22,`1601959334API,`退款总金额0.01元;含手续费0.00元,`S20210201135356381941\n"
    "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n"
    "`3,`1,`0.01,`2,`0.02\n"
)


def test_the_trimmed_published_fixture_is_rejected_for_its_totals() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(TRIMMED_FIXTURE.encode())
    assert (caught.value.code, caught.value.where.line, caught.value.where.field) == ("TOTALS_MISMATCH", 4,
                                                                                      "资金流水总笔数")


def text() -> str:
    return fund_bill(FLOWS).decode()


@pytest.mark.parametrize(
    ("edit", "code", "line"),
    [
        (lambda t: t.replace("`5,`2,`105.00", "`6,`2,`105.00"), "TOTALS_MISMATCH", 8),
        (lambda t: t.replace("`5,`2,`105.00", "`5,`3,`105.00"), "TOTALS_MISMATCH", 8),
        (lambda t: t.replace("`105.00,`3,`90.60", "`105.01,`3,`90.60"), "TOTALS_MISMATCH", 8),
        (lambda t: t.replace("`3,`90.60", "`3,`90.59"), "TOTALS_MISMATCH", 8),
        (lambda t: t.replace("`5,`2,`105.00", "`5.5,`2,`105.00"), "TOTALS_MISMATCH", 8),
        (lambda t: t.replace("`5,`2,`105.00", "`five,`2,`105.00"), "BAD_AMOUNT", 8),
        (lambda t: t.replace(",支出笔数,支出金额", "").replace(",`3,`90.60", ""), "MISSING_TOTALS", 7),
        (lambda t: t.rsplit("资金流水总笔数", 1)[0], "MISSING_TOTALS", 6),
        (lambda t: t.rsplit("`5,", 1)[0], "MISSING_TOTALS", 7),
        (lambda t: t.replace("`5,`2,`105.00,", "`5,`2,`105.00,`1,"), "COLUMN_COUNT", 8),
        (lambda t: t + "`1,`2\n", "TRAILING_DATA", 9),
        (lambda t: t.replace("`100.00,", "`100.001,", 1), "AMOUNT_PRECISION", 2),
        (lambda t: t.replace("`100.00,", "`-100.00,", 1), "BAD_AMOUNT", 2),
        (lambda t: t.replace("`100.00,", "`1e2,", 1), "BAD_AMOUNT", 2),
        (lambda t: t.replace("`100.00,`200.00", "`100.00,`2OO.00", 1), "BAD_AMOUNT", 2),
        (lambda t: t.replace("`收入", "`入账", 1), "BAD_VALUE", 2),
        (lambda t: t.replace("`2026-11-01 10:00:01", "`2026-13-01 10:00:01", 1), "BAD_DATE", 2),
        (lambda t: t.replace("`营销补贴,", "`营销,补贴,", 1), "COLUMN_COUNT", 6),
        (lambda t: t.replace(",收支类型,", ",类型,", 1), "MISSING_COLUMN", 1),
        (lambda t: t.replace("记账时间", "交易时间", 1), "WRONG_KIND", 1),
        (lambda t: "日期,金额\n", "WRONG_KIND", 1),
        (lambda t: '{"code":"NO_STATEMENT_EXIST","message":"请求的账单文件不存在"}', "CHANNEL_ERROR", 1),
        (lambda t: "<xml><return_code><![CDATA[FAIL]]></return_code></xml>", "CHANNEL_ERROR", 1),
        (lambda t: "", "EMPTY_FILE", None),
    ],
)
def test_broken_bills_are_rejected_whole_with_code_and_line(edit, code: str, line: int | None) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(edit(text()).encode())
    assert (caught.value.code, caught.value.where.line) == (code, line)
    assert caught.value.where.file == "fundflow.csv"


def test_invalid_bytes_and_truncated_gzip_are_clear_errors() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(b"\xff\xfe\xfd" * 10)
    assert caught.value.code == "BAD_ENCODING"
    data = gzip.compress(fund_bill(FLOWS))
    with pytest.raises(InputRejected) as caught:
        parse(data[: len(data) // 2])
    assert caught.value.code == "CORRUPT_GZIP"


def test_bad_currency_setting_is_rejected() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(fund_bill(FLOWS), ParseContext(source="x", options={"currency": "RMB1"}, file_name="f.csv"))
    assert caught.value.code == "BAD_CURRENCY"


def test_the_bad_corpus_gives_its_manifest_codes() -> None:
    manifest = tomllib.loads((CORPUS / "MANIFEST.toml").read_text(encoding="utf-8"))
    assert len(manifest) >= 10
    for name, code in manifest.items():
        ctx = ParseContext(source="wechat_fund", file_name=name)
        with pytest.raises(InputRejected) as caught:
            parse((CORPUS / name).read_bytes(), ctx)
        assert caught.value.code == code, name


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=2000))
def test_any_bytes_give_records_or_a_clear_error(data: bytes) -> None:
    try:
        parse(data)
    except InputRejected as exc:
        assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("`,0123456789.-\n收入支出资金流水总笔数交易退款 ")), max_size=600))
def test_bill_like_text_gives_records_or_a_clear_error(tail: str) -> None:
    try:
        parse((HEADER_V3 + "\n" + tail).encode())
    except InputRejected as exc:
        assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_mutated_bills_give_records_or_a_clear_error(draw) -> None:
    data = bytearray(fund_bill(FLOWS))
    for _ in range(draw.draw(st.integers(1, 6))):
        data[draw.draw(st.integers(0, len(data) - 1))] = draw.draw(st.sampled_from(b"`,0.19\n-x\xe6"))
    try:
        parse(bytes(data))
    except InputRejected as exc:
        assert exc.code.isupper()
