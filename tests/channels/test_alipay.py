"""Alipay trade-detail bills: hand-made GBK zips and CSVs, trailer and summary totals, bad input, any bytes."""

from __future__ import annotations

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

from .archives import encrypted_zip, make_zip

CTX = ParseContext(source="alipay", options={"timezone": "Asia/Shanghai"}, bill_sha256="a" * 64,
                   file_name="20880211096256330156_20261101.csv.zip")
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "alipay"
DETAIL_NAME = "20880211096256330156_20261101_业务明细.csv"
SUMMARY_NAME = "20880211096256330156_20261101_业务明细(汇总).csv"
HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
          "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
          "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")
T = "\t"


@dataclass(frozen=True)
class Row:
    trade_no: str
    order_no: str
    kind: str  # 交易 | 退款
    amount: str  # 订单金额, signed as Alipay writes it
    received: str  # 商家实收
    finished: str
    red_packet: str = "0.00"
    merchant_discount: str = "0.00"
    fee: str = "0.00"
    refund_batch: str = ""
    store: str = "alipay_store"

    def line(self) -> str:
        cells = [f"{self.trade_no}{T}", f"{self.order_no}{T}", f"{self.kind}{T}", "下单测试", "2026-11-01 10:55:16",
                 self.finished, f"{self.store}{T}", f"{self.store}{T}", f"alipay{T}", T, f"*津水(602***@qq.com){T}",
                 self.amount, self.received, self.red_packet, "0.00", "0.00", self.merchant_discount, "0.00", "",
                 f"0.00{T}", "0.00", f"{self.refund_batch}{T}", self.fee, "0.00", "下单测试"]
        return ",".join(cells)


ROWS = [
    Row("2026110122001458860515315453", "service_1001", "交易", "100.00", "99.00", "2026-11-01 10:55:23",
        red_packet="1.00", merchant_discount="1.00", fee="-0.60"),
    Row("2026110122001458860515315454", "service_1002", "交易", "20.00", "20.00", "2026-11-01 23:59:59", fee="-0.12"),
    Row("2026110122001458860515315453", "service_1001", "退款", "-30.00", "-30.00", "2026-11-01 11:56:48",
        fee="0.18", refund_batch="re_1001_1"),
]


def money(values) -> str:
    return str(sum((Decimal(v) for v in values), Decimal("0.00")))


def trailers(rows: list[Row]) -> list[str]:
    trades = [r for r in rows if r.kind == "交易"]
    refunds = [r for r in rows if r.kind == "退款"]
    return [
        f"#交易合计：{len(trades)}笔，商家实收共{money(r.received for r in trades)}元，"
        f"商家优惠共{money(r.merchant_discount for r in trades)}元",
        f"#退款合计：{len(refunds)}笔，商家实收退款共{money(r.received for r in refunds)}元，"
        f"商家优惠退款共{money(r.merchant_discount for r in refunds)}元",
    ]


def detail(rows: list[Row], *, tail: list[str] | None = None) -> str:
    lines = ["#支付宝业务明细查询", "#账号：[20880211096256330156]",
             "#起始日期：[2026年11月01日 00:00:00]   终止日期：[2026年11月02日 00:00:00]",
             "#-----------------------------------------业务明细列表----------------------------------------",
             HEADER, *(r.line() for r in rows),
             "#-----------------------------------------业务明细列表结束------------------------------------",
             *(trailers(rows) if tail is None else tail), "#导出时间：[2026年11月02日 05:46:49]"]
    return "\r\n".join(lines) + "\r\n"


def summary(rows: list[Row], *, total: list[str] | None = None) -> str:
    cells = total or ["合计", "", str(sum(r.kind == "交易" for r in rows)), str(sum(r.kind == "退款" for r in rows)),
                      money(r.amount for r in rows), money(r.received for r in rows), "0.00",
                      money(r.merchant_discount for r in rows), "0.00", money(r.fee for r in rows), "0.00", "0.00"]
    return "\r\n".join([
        "#支付宝业务汇总查询", "#账号：[20880211096256330156]",
        "#-----------------------------------------业务汇总列表----------------------------------------",
        "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,"
        "服务费（元）,分润（元）,实收净额（元）",
        "alipay_store,alipay_store," + ",".join(cells[2:]), ",".join(cells),
        "#----------------------------------------业务汇总列表结束-------------------------------------",
        "#导出时间：[2026年11月02日 05:46:49]",
    ]) + "\r\n"


def bill_zip(rows: list[Row] = ROWS, *, detail_text: str | None = None, summary_text: str | None = None) -> bytes:
    return make_zip({DETAIL_NAME: (detail_text or detail(rows)).encode("gbk"),
                     SUMMARY_NAME: (summary_text or summary(rows)).encode("gbk")})


def parse(data: bytes, ctx: ParseContext = CTX) -> list[dict]:
    return pa.Table.from_batches(list(get("alipay").parse(data, ctx)), schema=SCHEMA).to_pylist()


def test_the_zip_with_gbk_member_names_parses_to_signed_records() -> None:
    records = parse(bill_zip())
    assert len(records) == 3
    assert records[0] == {
        "source": "alipay", "business_day": date(2026, 11, 1), "record_kind": "payment",
        "order_no": "service_1001", "refund_no": None, "channel_txn_id": "2026110122001458860515315453",
        "amount_minor": 10000, "fee_minor": 60, "discount_minor": 100, "currency": "CNY",
        "occurred_at": datetime(2026, 11, 1, 2, 55, 23, tzinfo=UTC), "status": "交易", "item": None,
        "quantity": None, "bill_sha256": "a" * 64, "line_no": 6,
    }
    last = records[-1]
    assert (last["record_kind"], last["amount_minor"], last["fee_minor"], last["refund_no"], last["order_no"],
            last["line_no"]) == ("refund", -3000, -18, "re_1001_1", "service_1001", 8)
    assert sum(r["amount_minor"] for r in records) == 9000
    assert records[1]["business_day"] == date(2026, 11, 1)  # 23:59:59 Beijing is 15:59:59 UTC, same day


def test_the_bare_detail_csv_gives_the_same_records() -> None:
    assert parse(detail(ROWS).encode("gbk")) == parse(bill_zip())
    assert get("alipay").extension(bill_zip(), CTX) == "csv.zip"
    assert get("alipay").extension(b"#", CTX) == "csv"


def test_fee_sign_does_not_matter_fee_is_a_cost_on_trades_and_returned_on_refunds() -> None:
    positive = [Row("1", "o1", "交易", "10.00", "10.00", "2026-11-01 10:00:00", fee="0.06"),
                Row("1", "o1", "退款", "-10.00", "-10.00", "2026-11-01 11:00:00", fee="-0.06", refund_batch="r1")]
    assert [r["fee_minor"] for r in parse(detail(positive).encode("gbk"))] == [6, -6]


def test_lines_are_the_detail_members_lines() -> None:
    lines = get("alipay").lines(bill_zip(), CTX)
    assert lines[0] == "#支付宝业务明细查询"
    assert lines[5].startswith("2026110122001458860515315453\t,service_1001\t,交易\t,")


def test_members_are_found_by_content_whatever_their_names() -> None:
    data = make_zip({"a.csv": summary(ROWS).encode("gbk"), "b.csv": detail(ROWS).encode("gbk"), "readme.txt": b"x"})
    assert len(parse(data)) == 3


def test_a_utf8_detail_and_a_day_without_trades_are_accepted() -> None:
    assert len(parse(detail(ROWS).encode("utf-8"))) == 3
    assert parse(bill_zip([])) == []


def test_unknown_business_types_are_other_and_unchecked_by_trailers() -> None:
    rows = [*ROWS, Row("9", "o9", "冻结", "5.00", "5.00", "2026-11-01 12:00:00")]
    data = detail(rows, tail=trailers(ROWS)).encode("gbk")
    assert parse(data)[-1]["record_kind"] == "other"


def test_newer_header_variants_are_mapped_by_name() -> None:
    text = detail(ROWS).replace("集分宝（元）", "集分宝抵扣（元）").replace(",备注", ",备注,实收净额（元）")
    text = "\r\n".join(line + ",1.00" if line.startswith("2026") else line for line in text.split("\r\n"))
    assert len(parse(text.encode("gbk"))) == 3


def bad_detail(edit) -> bytes:
    return edit(detail(ROWS)).encode("gbk")


@pytest.mark.parametrize(
    ("edit", "code", "line"),
    [
        (lambda t: t.replace("#交易合计：2笔", "#交易合计：3笔"), "TOTALS_MISMATCH", 10),
        (lambda t: t.replace("商家实收共119.00元", "商家实收共119.01元"), "TOTALS_MISMATCH", 10),
        (lambda t: t.replace("商家优惠共1.00元", "商家优惠共0.00元"), "TOTALS_MISMATCH", 10),
        (lambda t: t.replace("商家实收退款共-30.00元", "商家实收退款共30.00元"), "TOTALS_MISMATCH", 11),
        (lambda t: t.replace("#退款合计：1笔", "#退款合计：0笔"), "TOTALS_MISMATCH", 11),
        (lambda t: t.replace("#退款合计：1笔", "#退款合计：一笔"), "BAD_VALUE", 11),
        (lambda t: t.replace("商家实收共119.00元", "商家实收共1,19.00元"), "BAD_AMOUNT", 10),
        (lambda t: t.split("#交易合计")[0], "MISSING_TOTALS", 9),
        (lambda t: t.split("#退款合计")[0], "MISSING_TOTALS", 10),
        (lambda t: t.split("#-----------------------------------------业务明细列表结束")[0], "MISSING_TOTALS", 8),
        (lambda t: t.replace(",100.00,99.00,", ",100.001,99.00,"), "AMOUNT_PRECISION", 6),
        (lambda t: t.replace(",100.00,99.00,", ",1e2,99.00,"), "BAD_AMOUNT", 6),
        (lambda t: t.replace(",0.00,下单测试", ",x,下单测试", 1), "BAD_AMOUNT", 6),
        (lambda t: t.replace("2026-11-01 10:55:23", "2026-11-31 10:55:23"), "BAD_DATE", 6),
        (lambda t: t.replace("2026-11-01 10:55:23", ""), "BAD_DATE", 6),
        (lambda t: t.replace(",下单测试,2026-11-01 10:55:16", ",下单,测试,2026-11-01 10:55:16", 1), "COLUMN_COUNT", 6),
        (lambda t: t.replace(",商家实收（元）,", ",实收,"), "MISSING_COLUMN", 5),
        (lambda t: t.replace("#导出时间", "stray,row\r\n#导出时间"), "TRAILING_DATA", 12),
        (lambda t: t.replace("#支付宝业务明细查询", "#支付宝业务汇总查询"), "WRONG_KIND", 1),
        (lambda t: t.replace("#支付宝业务明细查询", "#支付宝账务明细查询"), "WRONG_KIND", 1),
        (lambda t: "交易号,金额\r\n1,2\r\n", "WRONG_KIND", 1),
        (lambda t: "<html><body>下载超时,请重新下载</body></html>", "CHANNEL_ERROR", 1),
        (lambda t: "#支付宝业务明细查询\r\n#账号：[1]\r\n", "MISSING_COLUMN", 2),
        (lambda t: "\r\n \r\n", "EMPTY_FILE", None),
    ],
)
def test_broken_details_are_rejected_whole_with_code_and_line(edit, code: str, line: int | None) -> None:
    ctx = ParseContext(source="alipay", file_name="detail.csv")
    with pytest.raises(InputRejected) as caught:
        parse(bad_detail(edit), ctx)
    assert (caught.value.code, caught.value.where.line) == (code, line)
    assert caught.value.where.file == "detail.csv"


def test_the_summary_member_totals_are_checked() -> None:
    total = summary(ROWS).split("\r\n")[5].split(",")
    for column, value in ((2, "3"), (3, "2"), (4, "90.01"), (5, "88.99"), (9, "0.00")):
        wrong = total.copy()
        wrong[column] = value
        with pytest.raises(InputRejected) as caught:
            parse(bill_zip(summary_text=summary(ROWS, total=wrong)))
        assert (caught.value.code, caught.value.where.line) == ("TOTALS_MISMATCH", 6)
        assert caught.value.where.file == f"{CTX.file_name}/{SUMMARY_NAME}"


def test_a_summary_without_its_total_row_or_with_bad_cells_is_rejected() -> None:
    no_total = "\r\n".join(line for line in summary(ROWS).split("\r\n") if not line.startswith("合计"))
    broken = summary(ROWS).replace("合计,,2,1,", "合计,,2,1,x,")
    for text, code in ((no_total, "MISSING_TOTALS"), (broken, "COLUMN_COUNT")):
        with pytest.raises(InputRejected) as caught:
            parse(bill_zip(summary_text=text))
        assert caught.value.code == code


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (make_zip({"readme.txt": b"hello"}), "MISSING_MEMBER"),
        (make_zip({"a.csv": detail(ROWS).encode("gbk"), "b.csv": detail(ROWS).encode("gbk")}), "EXTRA_MEMBER"),
        (make_zip({"2088_账务明细.csv": "#支付宝账务明细查询\r\n".encode("gbk")}), "WRONG_KIND"),
        (encrypted_zip("alipay_record_20261101.csv"), "ZIP_ENCRYPTED"),
        (make_zip({"../业务明细.csv": detail(ROWS).encode("gbk")}), "ZIP_SLIP"),
        (bill_zip()[:200], "CORRUPT_ZIP"),
        (make_zip({DETAIL_NAME: b"\x81\x20\xff" * 20}), "BAD_ENCODING"),
    ],
)
def test_bad_zips_are_rejected(data: bytes, code: str) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(data)
    assert caught.value.code == code


def test_the_bad_corpus_gives_its_manifest_codes() -> None:
    manifest = tomllib.loads((CORPUS / "MANIFEST.toml").read_text(encoding="utf-8"))
    assert len(manifest) >= 10
    for name, code in manifest.items():
        with pytest.raises(InputRejected) as caught:
            parse((CORPUS / name).read_bytes(), ParseContext(source="alipay", file_name=name))
        assert caught.value.code == code, name


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=2000))
def test_any_bytes_give_records_or_a_clear_error(data: bytes) -> None:
    for candidate in (data, b"PK\x03\x04" + data):
        try:
            parse(candidate)
        except InputRejected as exc:
            assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("#,0123456789.-\t\r\n交易退款合计笔共元商家实收明细列表结束 ")),
               max_size=600))
def test_bill_like_text_gives_records_or_a_clear_error(tail: str) -> None:
    try:
        parse(("#支付宝业务明细查询\r\n" + HEADER + "\r\n" + tail).encode("gbk"))
    except InputRejected as exc:
        assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_mutated_bills_give_records_or_a_clear_error(draw) -> None:
    data = bytearray(detail(ROWS).encode("gbk"))
    for _ in range(draw.draw(st.integers(1, 6))):
        data[draw.draw(st.integers(0, len(data) - 1))] = draw.draw(st.sampled_from(b"#,0.19\n\t-x\xb1"))
    try:
        parse(bytes(data))
    except InputRejected as exc:
        assert exc.code.isupper()
