"""UnionPay ZM bills: the real vendor sample, hand-made zips and packages, RD totals, bad input, any bytes."""

from __future__ import annotations

import base64
import tomllib
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, get
from tally.errors import InputRejected
from tally.records import SCHEMA

from .archives import make_zip

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "unionpay"
SAMPLE_ZIP = "802310048993424_20150905.zip"
SAMPLE_ZM = "INN15090588ZM_802310048993424"
SAMPLE_RD = "RD201015090501_802310048993424"
# Byte widths of the 42 ZM fields, as FORMATS.md §3.3 gives them (one space follows each field).
WIDTHS = (3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15,
          32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98)
# 1-based field numbers used below.
CODE, TIME, AMOUNT, QUERY_ID, ORDER, FEE, SETTLE, TXN_TYPE, SUB_NAME, NET, DISCOUNT, ORIG_ORDER = (
    1, 5, 7, 10, 12, 16, 17, 20, 31, 33, 36, 41)


def ctx(file_name: str = SAMPLE_ZIP, **options) -> ParseContext:
    return ParseContext(source="unionpay", options={"timezone": "Asia/Shanghai", **options}, bill_sha256="c" * 64,
                        file_name=file_name)


def parse(data: bytes, context: ParseContext | None = None) -> list[dict]:
    batches = list(get("unionpay").parse(data, context or ctx()))
    return pa.Table.from_batches(batches, schema=SCHEMA).to_pylist()


def zm_line(values: dict[int, bytes | str]) -> bytes:
    """One ZM line: every field left-aligned and space-padded to its width; values are str (GBK) or bytes."""
    defaults: dict[int, bytes | str] = {
        CODE: "S56", 2: "88022900", 3: "00049993", 4: "190624", TIME: "1101112203", 6: "622609******0048",
        AMOUNT: "000000010000", 8: "4899", 9: "07", QUERY_ID: "202611011122031906248", 11: "01", ORDER: "A1",
        13: "01", FEE: "D000000000060", SETTLE: "C000000009940", 18: "0001", TXN_TYPE: "01", 22: "000201",
        28: "802310048993424", 30: "000000000000000", 32: " 000000000000", NET: "C000000009940", 34: "01080209",
        DISCOUNT: " 000000000000", 37: " 000000000000", 38: " 00000000000", 40: "7",
    }
    cells = []
    for number, width in enumerate(WIDTHS, start=1):
        value = {**defaults, **values}.get(number, b"")
        raw = value.encode("gbk") if isinstance(value, str) else value
        assert len(raw) <= width, (number, raw)
        cells.append(raw.ljust(width))
    line = b" ".join(cells)
    assert len(line) == 607
    return line


def rd_report(count: int, amounts: tuple[str, ...], *, settle: str = "20261101", currency: str = "人民币") -> bytes:
    total = f"总计{count:>25}" + "".join(f"{a:>16}" for a in amounts)
    return "\r\n".join([
        " " * 70 + "中国银联全渠道商户交易汇总表", "",
        f"商户代码:802310048993424{' ' * 40}清算币种:{currency}",
        f"收单机构:88022900{' ' * 47}清算日期:{settle}",
        f"商户名称:测试商户{' ' * 47}生成日期:20261102", "", "",
        "交易类型            交易笔数               交易金额                         费用"
        "                              资金清算差额",
        "                                         借              贷              借              贷"
        "               借                  贷",
        "_" * 136, total, "_" * 136, "",
    ]).encode("gbk") + b"\r\n"


def bill(lines: list[bytes], rd: bytes | None, *, zm_name: str = "INN26110188ZM_802310048993424",
         extra: dict[str, bytes] | None = None) -> bytes:
    members = {zm_name: b"".join(line + b"\r\n" for line in lines)}
    if rd is not None:
        members["RD201026110101_802310048993424"] = rd
    return make_zip({**members, **(extra or {})})


PAYMENT = zm_line({})
REFUND = zm_line({CODE: "S30", TIME: "1101150000", AMOUNT: "000000004000", QUERY_ID: "202611011500001906249",
                  ORDER: "RA1", FEE: "C000000000024", SETTLE: "D000000003976", TXN_TYPE: "04",
                  NET: "D000000003976", ORIG_ORDER: "A1"})
CANCEL = zm_line({CODE: "S31", AMOUNT: "000000001000", ORDER: "C1", FEE: "C000000000006", SETTLE: "D000000000994",
                  TXN_TYPE: "31", NET: "D000000000994", ORIG_ORDER: "A0"})
MIXED_RD = rd_report(3, ("50.00", "100.00", "0.60", "0.30", "49.70", "99.40"))


def test_the_real_vendor_zip_parses_to_eight_payments_that_match_its_rd_report(samples: Path) -> None:
    records = parse((samples / "unionpay" / SAMPLE_ZIP).read_bytes())
    assert len(records) == 8
    assert records[0] == {
        "source": "unionpay", "business_day": date(2015, 9, 5), "record_kind": "payment", "order_no": "10078087",
        "refund_no": None, "channel_txn_id": "201509061122031906248", "amount_minor": 476800, "fee_minor": 2861,
        "discount_minor": 0, "currency": "CNY", "occurred_at": datetime(2015, 9, 6, 3, 22, 3, tzinfo=UTC),
        "status": "S56", "item": None, "quantity": None, "bill_sha256": "c" * 64, "line_no": 1,
    }
    last = records[-1]
    assert (last["order_no"], last["channel_txn_id"], last["amount_minor"], last["fee_minor"], last["line_no"],
            last["occurred_at"]) == ("10078086", "201509061113391889928", 133300, 800, 8,
                                     datetime(2015, 9, 6, 3, 13, 39, tzinfo=UTC))
    assert sum(r["amount_minor"] for r in records) == 1322700  # RD: 交易金额 贷 13227.00
    assert sum(r["fee_minor"] for r in records) == 7936  # RD: 费用 借 79.36
    assert {r["business_day"] for r in records} == {date(2015, 9, 5)}  # settled the day before (test data)
    assert get("unionpay").extension((samples / "unionpay" / SAMPLE_ZIP).read_bytes(), ctx()) == "zip"


def test_the_bare_zm_sample_under_its_own_name_gives_the_same_records(samples: Path) -> None:
    from_zip = parse((samples / "unionpay" / SAMPLE_ZIP).read_bytes())
    bare = parse((samples / "unionpay" / SAMPLE_ZM).read_bytes(), ctx(f"/inbox/{SAMPLE_ZM}"))
    assert bare == from_zip
    dated = parse((samples / "unionpay" / SAMPLE_ZM).read_bytes(), ctx("802310048993424_20150905.txt"))
    assert dated == from_zip
    assert get("unionpay").extension(b"S56 ", ctx()) == "txt"


def test_the_file_transfer_package_is_unpacked(samples: Path) -> None:
    zipped = (samples / "unionpay" / SAMPLE_ZIP).read_bytes()
    expected = parse(zipped)
    package = base64.b64encode(zlib.compress(zipped))
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw_package = base64.encodebytes(raw.compress(zipped) + raw.flush())
    assert parse(package, ctx("fileContent.txt")) == expected
    assert parse(raw_package, ctx("fileContent.txt")) == expected
    assert get("unionpay").extension(package, ctx()) == "b64"
    zm_only = base64.b64encode(zlib.compress((samples / "unionpay" / SAMPLE_ZM).read_bytes()))
    assert parse(zm_only, ctx(SAMPLE_ZM)) == expected


def test_lines_are_the_zm_members_lines(samples: Path) -> None:
    lines = get("unionpay").lines((samples / "unionpay" / SAMPLE_ZIP).read_bytes(), ctx())
    assert len(lines) == 8
    assert lines[0].startswith("S56 88022900    00049993    190624 0906112203")
    assert len(lines[0]) == 607


def test_refunds_and_cancellations_take_money_out_and_give_the_fee_back() -> None:
    payment, refund, cancel = parse(bill([PAYMENT, REFUND, CANCEL], MIXED_RD))
    assert (payment["record_kind"], payment["amount_minor"], payment["fee_minor"], payment["order_no"]) == (
        "payment", 10000, 60, "A1")
    assert (refund["record_kind"], refund["amount_minor"], refund["fee_minor"], refund["order_no"],
            refund["refund_no"], refund["status"]) == ("refund", -4000, -24, "A1", "RA1", "S30")
    assert (cancel["record_kind"], cancel["amount_minor"], cancel["fee_minor"], cancel["refund_no"]) == (
        "refund", -1000, -6, "C1")
    assert {r["business_day"] for r in (payment, refund, cancel)} == {date(2026, 11, 1)}


def test_unknown_transaction_types_follow_the_settlement_direction() -> None:
    adjustment = zm_line({CODE: "E74", TXN_TYPE: "99", FEE: " 000000000000", NET: "D000000010000"})
    rd = rd_report(1, ("100.00", "0.00", "0.00", "0.00", "100.00", "0.00"))
    (record,) = parse(bill([adjustment], rd))
    assert (record["record_kind"], record["amount_minor"], record["fee_minor"]) == ("other", -10000, 0)


def test_gbk_text_inside_a_field_does_not_shift_the_fields_after_it() -> None:
    line = zm_line({SUB_NAME: "淘在路上测试商户", DISCOUNT: "C000000000500"})
    rd = rd_report(1, ("0.00", "100.00", "0.60", "0.00", "0.00", "99.40"))
    (record,) = parse(bill([line], rd))
    assert (record["amount_minor"], record["discount_minor"]) == (10000, 500)


@pytest.mark.parametrize(
    ("settle", "stamp", "expected"),
    [
        ("270101", "1231235959", datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)),
        ("261231", "0101000001", datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC)),
        ("261101", "1031230000", datetime(2026, 10, 31, 15, 0, tzinfo=UTC)),
        ("240301", "0229120000", datetime(2024, 2, 29, 4, 0, tzinfo=UTC)),
    ],
)
def test_the_transmission_year_is_the_one_nearest_the_settlement_date(settle: str, stamp: str,
                                                                      expected: datetime) -> None:
    data = bill([zm_line({TIME: stamp})], None, zm_name=f"INN{settle}88ZM_802310048993424")
    (record,) = parse(data)
    assert record["occurred_at"] == expected
    assert record["business_day"] == date(2000 + int(settle[:2]), int(settle[2:4]), int(settle[4:]))


def test_trailing_spaces_trimmed_from_lines_and_empty_zme_members_are_accepted() -> None:
    data = bill([PAYMENT.rstrip()], None, extra={"INN26110188ZME_802310048993424": b""})
    assert parse(data)[0]["amount_minor"] == 10000


def test_without_an_rd_report_the_rows_stand_alone_and_an_empty_day_is_empty() -> None:
    assert len(parse(bill([PAYMENT], None))) == 1
    assert parse(bill([], rd_report(0, ("0.00",) * 6))) == []


def test_currency_comes_from_the_source_and_must_agree_with_the_rd_report() -> None:
    assert parse(bill([PAYMENT], None), ctx(currency="HKD"))[0]["currency"] == "HKD"
    with pytest.raises(InputRejected) as caught:
        parse(bill([PAYMENT], MIXED_RD), ctx(currency="USD"))
    assert (caught.value.code, caught.value.where.field) == ("BAD_CURRENCY", "清算币种")


def replaced(line: bytes, field: int, value: bytes) -> bytes:
    start = sum(WIDTHS[: field - 1]) + field - 1
    return line[:start] + value.ljust(WIDTHS[field - 1]) + line[start + WIDTHS[field - 1]:]


@pytest.mark.parametrize(
    ("second", "code", "field"),
    [
        (PAYMENT[:300], "COLUMN_COUNT", None),
        (PAYMENT + b"  extra", "COLUMN_COUNT", None),
        (PAYMENT[:3] + b"X" + PAYMENT[4:], "COLUMN_COUNT", "交易代码"),
        (b" " + PAYMENT[:-1], "COLUMN_COUNT", "交易代码"),
        (replaced(PAYMENT, AMOUNT, b"00000001000O"), "BAD_AMOUNT", "交易金额"),
        (replaced(PAYMENT, AMOUNT, b"-00000001000"), "BAD_AMOUNT", "交易金额"),
        (replaced(PAYMENT, FEE, b"X000000000060"), "BAD_AMOUNT", "商户手续费"),
        (replaced(PAYMENT, NET, b""), "BAD_AMOUNT", "清算净额"),
        (replaced(PAYMENT, SETTLE, b"C00000000994O"), "BAD_AMOUNT", "结算金额"),
        (replaced(PAYMENT, DISCOUNT, b"C0000000005"), "BAD_AMOUNT", "优惠金额"),
        (replaced(PAYMENT, TIME, b"1332112203"), "BAD_DATE", "交易传输时间"),
        (replaced(PAYMENT, TIME, b""), "BAD_DATE", "交易传输时间"),
        (replaced(PAYMENT, CODE, b""), "BAD_VALUE", "交易代码"),
        (replaced(PAYMENT, ORDER, b"A\xff\xfe"), "BAD_ENCODING", "商户订单号"),
    ],
)
def test_broken_zm_lines_are_rejected_with_line_and_field(second: bytes, code: str, field: str | None) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(bill([PAYMENT, second], None))
    assert (caught.value.code, caught.value.where.line) == (code, 2)
    assert caught.value.where.field == field
    assert caught.value.where.file == SAMPLE_ZIP


@pytest.mark.parametrize(
    ("rd", "code", "line"),
    [
        (rd_report(4, ("50.00", "100.00", "0.60", "0.30", "49.70", "99.40")), "TOTALS_MISMATCH", 11),
        (rd_report(3, ("50.00", "100.01", "0.60", "0.30", "49.70", "99.40")), "TOTALS_MISMATCH", 11),
        (rd_report(3, ("50.00", "100.00", "0.61", "0.30", "49.70", "99.40")), "TOTALS_MISMATCH", 11),
        (rd_report(3, ("50.00", "100.00", "0.60", "0.30", "49.70", "99.41")), "TOTALS_MISMATCH", 11),
        (rd_report(3, ("50.00", "100.00", "0.60", "0.30", "49.70")), "COLUMN_COUNT", 11),
        (rd_report(3, ("50.00", "100.00", "0.60", "0.30", "49.70", "9g.40")), "BAD_AMOUNT", 11),
        (rd_report(3, ("50.00", "100.00", "0.60", "0.30", "49.70", "99.40"), settle="20261102"), "BAD_DATE", 4),
        (rd_report(3, ("50.00", "100.00", "0.60", "0.30", "49.70", "99.40"), settle="20261132"), "BAD_DATE", 4),
        (MIXED_RD.replace("总计".encode("gbk"), "合计".encode("gbk")), "MISSING_TOTALS", None),
        (b"\xff\xfe" * 10, "BAD_ENCODING", None),
    ],
)
def test_rd_reports_that_disagree_with_the_detail_are_rejected(rd: bytes, code: str, line: int | None) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(bill([PAYMENT, REFUND, CANCEL], rd))
    assert (caught.value.code, caught.value.where.line) == (code, line)
    assert caught.value.where.file == f"{SAMPLE_ZIP}/RD201026110101_802310048993424"


def test_the_real_rd_report_catches_a_missing_detail_line(samples: Path) -> None:
    zm = (samples / "unionpay" / SAMPLE_ZM).read_bytes()
    data = make_zip({SAMPLE_ZM: zm[609:], SAMPLE_RD: (samples / "unionpay" / SAMPLE_RD).read_bytes()})
    with pytest.raises(InputRejected) as caught:
        parse(data)
    assert (caught.value.code, caught.value.where.line, caught.value.where.field) == ("TOTALS_MISMATCH", 13,
                                                                                      "交易笔数")


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (make_zip({"RD201026110101_1": MIXED_RD}), SAMPLE_ZIP, "MISSING_MEMBER"),
        (make_zip({"INN26110188ZM_1": PAYMENT, "INN26110288ZM_1": PAYMENT}), SAMPLE_ZIP, "EXTRA_MEMBER"),
        (bill([PAYMENT], None, extra={"INN26110188ZME_1": b"E74 " + b" " * 300}), SAMPLE_ZIP, "UNSUPPORTED_MEMBER"),
        (bill([PAYMENT], None, zm_name="INN26133188ZM_1"), SAMPLE_ZIP, "BAD_DATE"),
        (PAYMENT + b"\r\n", "upload.txt", "MISSING_SETTLE_DATE"),
        (base64.b64encode(b"not deflate at all, really"), "fileContent.txt", "CORRUPT_PACKAGE"),
        (b"  \r\n", SAMPLE_ZIP, "EMPTY_FILE"),
        (make_zip({"../INN26110188ZM_1": PAYMENT}), SAMPLE_ZIP, "ZIP_SLIP"),
    ],
)
def test_bad_packages_are_rejected(data: bytes, name: str, code: str) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(data, ctx(name))
    assert caught.value.code == code


def test_the_bad_corpus_gives_its_manifest_codes() -> None:
    manifest = tomllib.loads((CORPUS / "MANIFEST.toml").read_text(encoding="utf-8"))
    assert len(manifest) >= 10
    for name, code in manifest.items():
        with pytest.raises(InputRejected) as caught:
            parse((CORPUS / name).read_bytes(), ctx(name))
        assert caught.value.code == code, name


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=2000))
def test_any_bytes_give_records_or_a_clear_error(data: bytes) -> None:
    for candidate in (data, b"PK\x03\x04" + data, PAYMENT[:20] + data):
        try:
            parse(candidate, ctx(SAMPLE_ZM))
        except InputRejected as exc:
            assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_mutated_bills_give_records_or_a_clear_error(draw) -> None:
    data = bytearray(b"".join(line + b"\r\n" for line in (PAYMENT, REFUND, CANCEL)))
    for _ in range(draw.draw(st.integers(1, 6))):
        data[draw.draw(st.integers(0, len(data) - 1))] = draw.draw(st.sampled_from(b" CD09\nX\xb2"))
    for candidate in (bytes(data), bill([bytes(data)], MIXED_RD)):
        try:
            parse(candidate, ctx(SAMPLE_ZM))
        except InputRejected as exc:
            assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_mutated_sample_zips_give_records_or_a_clear_error(draw) -> None:
    data = bytearray(bill([PAYMENT, REFUND, CANCEL], MIXED_RD))
    for _ in range(draw.draw(st.integers(1, 4))):
        data[draw.draw(st.integers(0, len(data) - 1))] = draw.draw(st.integers(0, 255))
    try:
        parse(bytes(data))
    except InputRejected as exc:
        assert exc.code.isupper()
