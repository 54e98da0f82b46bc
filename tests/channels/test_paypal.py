"""PayPal STL and TRR reports: hand-made files (no public sample exists), every footer, any bytes.

The files below follow FORMATS.md §4: row types in column 1, CH names, unsigned hundredths with
CR/DR columns, dates with the reporting window's offset. Their SF/RF/SC/RC/FF values were worked
out by hand from the rows, not by the parser.
"""

from __future__ import annotations

import csv
import io
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, get
from tally.errors import InputRejected
from tally.records import SCHEMA

CTX = ParseContext(source="paypal", bill_sha256="e" * 64, file_name="STL-20260310.01.009.CSV")
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "paypal"

STL_CH = (
    '"CH","Transaction ID","Invoice ID","PayPal Reference ID","PayPal Reference ID Type","Transaction Event Code",'
    '"Transaction Initiation Date","Transaction Completion Date","Transaction Debit or Credit",'
    '"Gross Transaction Amount","Gross Transaction Currency","Fee Debit or Credit","Fee Amount","Fee Currency",'
    '"Custom Field","Consumer ID","Payment Tracking ID","Store ID","Bank Reference ID","Credit Transactional Fee",'
    '"Credit Promotional Fee","Credit Term"'
)
# Two sections (two accounts), USD + EUR in the first, JPY in the second; payments, refunds
# (one with part of its fee given back), a withdrawal, a chargeback fee and a reserve hold.
STL_LINES = [
    '"RH",2026/03/11 03:12:45 -0700,"A","QWERTY12345",009,',
    '"FH",01',
    '"SH",2026/03/10 00:00:00 -0700,2026/03/10 23:59:59 -0700,"","QWERTY12345",""',
    STL_CH,
    '"SB","5TY05013RG002845M","ORD-10041","","","T0006",2026/03/10 09:15:02 -0700,2026/03/10 09:15:04 -0700,'
    '"CR",12900,"USD","DR",404,"USD","","buyer-1@example.com","","","","",,,',
    '"SB","8MC585209K746392H","ORD-10042","","","T0006",2026/03/10 23:58:40 -0700,2026/03/10 23:58:41 -0700,'
    '"CR",5000,"USD","DR",175,"USD","cust-7","buyer-2@example.com","","","","",,,',
    '"SB","0DG48571SL1028334","ORD-10041","5TY05013RG002845M","TXN","T1107",2026/03/10 11:02:13 -0700,'
    '2026/03/10 11:02:13 -0700,"DR",2500,"USD","CR",87,"USD","","buyer-1@example.com","","","","",,,',
    '"SB","3JX41873VB623711E","","","","T0006",2026/03/10 12:30:00 -0700,2026/03/10 12:30:02 -0700,'
    '"CR",8000,"EUR","DR",307,"EUR","ORD-10043","acheteur@example.fr","","","","",,,',
    '"SB","9AB12345CD678901E","","","","T0400",2026/03/10 15:00:00 -0700,2026/03/10 15:00:00 -0700,'
    '"DR",10000,"USD","",,"","","","","","BR-20260310-01",,,',
    '"SB","6KP98765QR432109Z","","0DG48571SL1028334","TXN","T0106",2026/03/10 16:45:10 -0700,'
    '2026/03/10 16:45:10 -0700,"DR",2000,"USD","",,"","","","","","",,,',
    '"SF","USD",17900,14500,87,579,50000,"CR",52908,"CR"',
    '"SF","EUR",8000,0,0,307',
    '"SC",6',
    '"SH",2026/03/10 00:00:00 -0700,2026/03/10 23:59:59 -0700,"","QWERTY67890",""',
    STL_CH,
    '"SB","1JP00000AA111111A","ORD-J1","","","T0006",2026/03/10 08:00:00 -0700,2026/03/10 08:00:01 -0700,'
    '"CR",1500000,"JPY","DR",59700,"JPY","","kaimono@example.jp","","","","",,,',
    '"SB","1JP00000AA222222B","ORD-J1","1JP00000AA111111A","TXN","T1107",2026/03/10 20:10:00 -0700,'
    '2026/03/10 20:10:00 -0700,"DR",300000,"JPY","",,"JPY","","kaimono@example.jp","","","","",,,',
    '"SB","1JP00000AA333333C","","","","T2103",2026/03/10 21:00:00 -0700,2026/03/10 21:00:00 -0700,'
    '"DR",100000,"JPY","",,"","","","","","",,,',
    '"SF","JPY",1500000,400000,0,59700,2000000,"CR",3040300,"CR"',
    '"SC",3',
    '"RF","USD",17900,14500,87,579,50000,"CR",52908,"CR"',
    '"RF","EUR",8000,0,0,307',
    '"RF","JPY",1500000,400000,0,59700,2000000,"CR",3040300,"CR"',
    '"RC",9',
    '"FF",9',
]
STL = "\n".join(STL_LINES) + "\n"

# A TRR as PayPal writes it: UTF-8 with BOM, CRLF, the double-spaced "Transaction  Debit or
# Credit" header, a Transactional Status column, a note with a comma and doubled quotes, and
# events that moved no money (a pending authorization, a denied payment).
TRR_LINES = [
    '"RH",2026/03/12 05:30:11 +0000,"R","TRRACCT001",011,',
    '"FH",01',
    '"SH",2026/03/11 00:00:00 +0000,2026/03/11 23:59:59 +0000,"TRRACCT001",""',
    '"CH","Transaction ID","Invoice ID","PayPal Reference ID","PayPal Reference ID Type","Transaction Event Code",'
    '"Transaction Initiation Date","Transaction Completion Date","Transaction  Debit or Credit",'
    '"Gross Transaction Amount","Gross Transaction Currency","Fee Debit or Credit","Fee Amount","Fee Currency",'
    '"Transactional Status","Insurance Amount","Sales Tax Amount","Shipping Amount","Transaction Subject",'
    '"Transaction Note","Payer\'s Account ID","Payer Address Status","Item Name","Item ID","Custom Field",'
    '"Consumer ID"',
    '"SB","2KL77712AB9012345","INV-2026-0311","","","T0006",2026/03/11 01:05:00 +0000,2026/03/11 01:05:03 +0000,'
    '"CR",4999,"GBP","DR",190,"GBP","S",0,0,450,"Order INV-2026-0311","Gift, please wrap ""blue""",'
    '"buyer@example.co.uk","Y","Tea set","TS-01","","ZXCV1234"',
    '"SB","4RF00011CD2223334","INV-2026-0311","2KL77712AB9012345","TXN","T1107",2026/03/11 23:59:30 +0000,'
    '2026/03/11 23:59:31 +0000,"DR",4999,"GBP","CR",190,"GBP","S",0,0,0,"","Refund for INV-2026-0311",'
    '"buyer@example.co.uk","Y","","","","ZXCV1234"',
    '"SB","7AU12121EF3334445","INV-2026-0312","","","T1300",2026/03/11 10:00:00 +0000,,"CR",2000,"GBP","",,"",'
    '"P",0,0,0,"","","buyer3@example.co.uk","N","Mug","MG-02","",""',
    '"SB","8DN99999GH4445556","INV-2026-0313","","","T0006",2026/03/11 11:30:00 +0000,2026/03/11 11:30:01 +0000,'
    '"CR",1200,"GBP","",,"","D",0,0,0,"","","buyer4@example.co.uk","N","Mug","MG-02","",""',
    '"SB","5US55555IJ5556667","INV-2026-0314","","","T0006",2026/03/11 14:00:00 +0000,2026/03/11 14:00:02 +0000,'
    '"CR",2500,"USD","DR",103,"USD","S",0,0,0,"","","buyer5@example.com","Y","Tea","T-03","",""',
    '"SF","GBP",8199,4999,190,190',
    '"SF","USD",2500,0,0,103',
    '"SC",5',
    '"RF","GBP",8199,4999,190,190',
    '"RF","USD",2500,0,0,103',
    '"RC",5',
    '"FF",5',
]
TRR = "\ufeff" + "\r\n".join(TRR_LINES) + "\r\n"


def parse(data: bytes, ctx: ParseContext = CTX) -> list[dict]:
    return pa.Table.from_batches(list(get("paypal").parse(data, ctx)), schema=SCHEMA).to_pylist()


def test_stl_golden_first_and_last_record_counts_and_sums() -> None:
    records = parse(STL.encode())
    assert len(records) == 9
    assert records[0] == {
        "source": "paypal", "business_day": date(2026, 3, 10), "record_kind": "payment", "order_no": "ORD-10041",
        "refund_no": None, "channel_txn_id": "5TY05013RG002845M", "amount_minor": 12900, "fee_minor": 404,
        "discount_minor": 0, "currency": "USD", "occurred_at": datetime(2026, 3, 10, 16, 15, 2, tzinfo=UTC),
        "status": "T0006", "item": None, "quantity": None, "bill_sha256": "e" * 64, "line_no": 5,
    }
    assert records[-1] == {
        "source": "paypal", "business_day": date(2026, 3, 10), "record_kind": "adjustment", "order_no": None,
        "refund_no": None, "channel_txn_id": "1JP00000AA333333C", "amount_minor": -1000, "fee_minor": 0,
        "discount_minor": 0, "currency": "JPY", "occurred_at": datetime(2026, 3, 11, 4, 0, tzinfo=UTC),
        "status": "T2103", "item": None, "quantity": None, "bill_sha256": "e" * 64, "line_no": 18,
    }
    sums: dict[str, tuple[int, int]] = {}
    for r in records:
        amount, fee = sums.get(r["currency"], (0, 0))
        sums[r["currency"]] = (amount + r["amount_minor"], fee + r["fee_minor"])
    # USD: 129.00 + 50.00 − 25.00 − 100.00 − 20.00; fees 4.04 + 1.75 − 0.87. JPY in yen.
    assert sums == {"USD": (3400, 492), "EUR": (8000, 307), "JPY": (11000, 597)}


def test_t_codes_map_to_record_kinds_and_signs_follow_cr_dr() -> None:
    records = parse(STL.encode())
    assert [(r["status"], r["record_kind"], r["amount_minor"]) for r in records] == [
        ("T0006", "payment", 12900), ("T0006", "payment", 5000), ("T1107", "refund", -2500),
        ("T0006", "payment", 8000), ("T0400", "payout", -10000), ("T0106", "fee", -2000),
        ("T0006", "payment", 15000), ("T1107", "refund", -3000), ("T2103", "adjustment", -1000),
    ]
    refund = records[2]
    assert (refund["order_no"], refund["fee_minor"]) == ("ORD-10041", -87)  # a CR fee is given back


def test_order_number_falls_back_to_the_custom_field_and_is_configurable() -> None:
    records = parse(STL.encode())
    assert records[3]["order_no"] == "ORD-10043"  # Invoice ID blank, Custom Field set
    custom = ParseContext(source="paypal", options={"order_no_column": "Custom Field"})
    assert [r["order_no"] for r in parse(STL.encode(), custom)][:4] == [None, "cust-7", None, "ORD-10043"]


def test_business_day_is_the_local_date_in_the_reports_zone_not_the_utc_date() -> None:
    late = parse(STL.encode())[1]  # paid 23:58:40 -0700, which is 06:58:40 UTC the next day
    assert late["business_day"] == date(2026, 3, 10)
    assert late["occurred_at"] == datetime(2026, 3, 11, 6, 58, 40, tzinfo=UTC)


def test_jpy_hundredths_become_yen_unless_the_report_writes_minor_units() -> None:
    yen = [r for r in parse(STL.encode()) if r["currency"] == "JPY"]
    assert [(r["amount_minor"], r["fee_minor"]) for r in yen] == [(15000, 597), (-3000, 0), (-1000, 0)]
    iso = ParseContext(source="paypal", options={"amount_exponent": "iso"})
    assert [r["amount_minor"] for r in parse(STL.encode(), iso) if r["currency"] == "JPY"] == [
        1500000, -300000, -100000]
    odd = STL.replace('"CR",1500000,"JPY"', '"CR",1500050,"JPY"').replace("1500000,400000", "1500050,400000")
    with pytest.raises(InputRejected) as caught:
        parse(odd.encode())
    assert (caught.value.code, caught.value.where.line) == ("AMOUNT_PRECISION", 16)


def test_trr_with_bom_crlf_double_spaced_header_and_statuses() -> None:
    records = parse(TRR.encode())
    assert records[0] == {
        "source": "paypal", "business_day": date(2026, 3, 11), "record_kind": "payment",
        "order_no": "INV-2026-0311", "refund_no": None, "channel_txn_id": "2KL77712AB9012345",
        "amount_minor": 4999, "fee_minor": 190, "discount_minor": 0, "currency": "GBP",
        "occurred_at": datetime(2026, 3, 11, 1, 5, tzinfo=UTC), "status": "S", "item": None, "quantity": None,
        "bill_sha256": "e" * 64, "line_no": 5,
    }
    assert [(r["record_kind"], r["status"], r["amount_minor"], r["fee_minor"]) for r in records] == [
        ("payment", "S", 4999, 190), ("refund", "S", -4999, -190), ("other", "P", 2000, 0),
        ("other", "D", 1200, 0), ("payment", "S", 2500, 103),
    ]
    # The authorization has no completion date: its business day is its initiation date.
    assert records[2]["business_day"] == date(2026, 3, 11)


def test_trr_downloaded_tab_separated_gives_the_same_records() -> None:
    rows = csv.reader(io.StringIO(TRR.removeprefix("\ufeff")))
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(rows)
    assert parse(out.getvalue().encode()) == parse(TRR.encode())


def test_legacy_utf16_report_with_unspaced_headers_gives_the_same_records() -> None:
    legacy = TRR.replace(TRR_LINES[3], TRR_LINES[3].replace(" ", ""))
    assert parse(legacy.encode("utf-16")) == parse(TRR.encode())
    assert parse(legacy.removeprefix("\ufeff").encode("utf-16-le")) == parse(TRR.encode())


def _swap(old: str, new: str, count: int = 1):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)
    return edit


BROKEN = [
    # every footer total, each alone
    ("sf_gross_credit", _swap('"SF","USD",17900,', '"SF","USD",17901,'), "TOTALS_MISMATCH", 11),
    ("sf_gross_debit", _swap('"SF","USD",17900,14500,', '"SF","USD",17900,14400,'), "TOTALS_MISMATCH", 11),
    ("sf_fee_credit", _swap('"SF","USD",17900,14500,87,', '"SF","USD",17900,14500,88,'), "TOTALS_MISMATCH", 11),
    ("sf_fee_debit", _swap('14500,87,579,50000,"CR",52908,"CR"', '14500,87,580,50000,"CR",52908,"CR"'),
     "TOTALS_MISMATCH", 11),
    ("sf_ending_balance", _swap('50000,"CR",52908,"CR"', '50000,"CR",52909,"CR"'), "TOTALS_MISMATCH", 11),
    ("sf_other_currency", _swap('"SF","EUR",8000,0,0,307', '"SF","EUR",8000,0,0,306'), "TOTALS_MISMATCH", 12),
    ("sc_count", _swap('"SC",6', '"SC",5'), "TOTALS_MISMATCH", 13),
    ("rf_gross_credit", _swap('"RF","JPY",1500000,', '"RF","JPY",1500001,'), "TOTALS_MISMATCH", 23),
    ("rf_ending_balance", _swap('"RF","USD",17900,14500,87,579,50000,"CR",52908,"CR"',
                                '"RF","USD",17900,14500,87,579,50000,"CR",52908,"DR"'), "TOTALS_MISMATCH", 21),
    ("rc_count", _swap('"RC",9', '"RC",10'), "TOTALS_MISMATCH", 24),
    ("ff_count", _swap('"FF",9', '"FF",8'), "TOTALS_MISMATCH", 25),
    ("sf_currency_missing", _swap('"SF","EUR",8000,0,0,307\n', ""), "MISSING_TOTALS", 12),
    ("rf_currency_missing", _swap('"RF","EUR",8000,0,0,307\n', ""), "MISSING_TOTALS", 23),
    ("sc_missing", _swap('"SC",6\n', ""), "MISSING_TOTALS", 13),
    ("rc_missing", _swap('"RC",9\n', ""), "MISSING_TOTALS", 24),
    ("truncated", lambda t: t.split('"RF"')[0], "MISSING_TOTALS", 20),
    ("truncated_in_section", lambda t: t.split('"SF","JPY"')[0], "MISSING_TOTALS", 18),
    ("sf_duplicate", _swap('"SF","EUR",8000,0,0,307', '"SF","EUR",8000,0,0,307\n"SF","EUR",0,0,0,0'),
     "BAD_VALUE", 13),
    ("sf_short", _swap('"SF","EUR",8000,0,0,307', '"SF","EUR",8000,0'), "COLUMN_COUNT", 12),
    ("sf_signed", _swap('"SF","EUR",8000,0,0,307', '"SF","EUR",8000,-0,0,307'), "BAD_AMOUNT", 12),
    ("after_footer", lambda t: t + '"SB","X"\n', "TRAILING_DATA", 26),
    ("not_paypal", lambda t: "Date,Time,Name,Gross\n" + t, "WRONG_KIND", 1),
    ("html_error", lambda t: "<html><body>Service unavailable</body></html>\n", "WRONG_KIND", 1),
    ("unknown_row", _swap('"FH",01', '"XX",01'), "BAD_VALUE", 2),
    ("row_out_of_order", _swap('"SC",6', '"RF","USD",0,0,0,0'), "MISSING_TOTALS", 13),
    ("data_after_sf", _swap('"SF","EUR",8000,0,0,307', '"SF","EUR",8000,0,0,307\n' + STL_LINES[4]),
     "BAD_VALUE", 13),
    ("no_ch", _swap(STL_CH + "\n", "", 1), "MISSING_COLUMN", 4),
    ("ch_missing_column", _swap('"Gross Transaction Currency",', '"Currency",'), "MISSING_COLUMN", 4),
    ("signed_amount", _swap('"CR",12900,"USD"', '"CR",-12900,"USD"'), "BAD_AMOUNT", 5),
    ("decimal_amount", _swap('"CR",12900,"USD"', '"CR",129.00,"USD"'), "BAD_AMOUNT", 5),
    ("huge_amount", _swap('"CR",12900,"USD"', '"CR",123456789012345678901,"USD"'), "BAD_AMOUNT", 5),
    ("bad_sign", _swap('"CR",12900,"USD"', '"C",12900,"USD"'), "BAD_VALUE", 5),
    ("fee_without_sign", _swap('"DR",404,"USD"', '"",404,"USD"'), "BAD_VALUE", 5),
    ("bad_date", _swap("2026/03/10 09:15:02 -0700", "2026-03-10T09:15:02Z"), "BAD_DATE", 5),
    ("bad_currency", _swap('"CR",12900,"USD"', '"CR",12900,"US$"'), "BAD_CURRENCY", 5),
    ("fee_currency_differs", _swap('"DR",404,"USD"', '"DR",404,"EUR"'), "BAD_CURRENCY", 5),
    ("bad_tcode", _swap('"T0006"', '"PAY"'), "BAD_VALUE", 5),
    ("extra_cell", _swap('"",,,\n"SB","8MC', '"",,,"x"\n"SB","8MC'), "COLUMN_COUNT", 5),
    ("unclosed_quote", _swap('"ORD-10042",', '"ORD-10042,'), "BAD_CSV", 6),
    ("empty", lambda t: "", "EMPTY_FILE", None),
    ("blank_lines", lambda t: "\n\n  \n", "EMPTY_FILE", None),
]


@pytest.mark.parametrize(("name", "edit", "code", "line"), BROKEN, ids=[case[0] for case in BROKEN])
def test_broken_reports_are_rejected_whole_with_code_and_line(name: str, edit, code: str, line: int | None) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(edit(STL).encode())
    assert (caught.value.code, caught.value.where.line) == (code, line), caught.value
    assert caught.value.where.file == CTX.file_name


def test_invalid_utf8_is_a_clear_error() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(STL.encode().replace(b"buyer-2", b"buyer\xff2"))
    assert caught.value.code == "BAD_ENCODING"


def test_the_named_field_is_reported() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(STL.replace('"CR",12900,"USD"', '"CR",12900,"US$"').encode())
    assert caught.value.where.field == "Gross Transaction Currency"


def test_lines_are_the_text_lines_the_records_point_at() -> None:
    lines = get("paypal").lines(TRR.encode(), CTX)
    assert lines[4].startswith('"SB","2KL77712AB9012345"')
    assert get("paypal").extension(TRR.encode(), CTX) == "csv"
    assert get("paypal").category == "fund"


def test_every_file_of_the_bad_corpus_gives_its_code() -> None:
    manifest = tomllib.loads((CORPUS / "MANIFEST.toml").read_text())
    assert len(manifest) >= 25
    for name, code in manifest.items():
        with pytest.raises(InputRejected) as caught:
            parse((CORPUS / name).read_bytes())
        assert caught.value.code == code, name


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=2000))
def test_any_bytes_give_records_or_a_clear_error(data: bytes) -> None:
    try:
        parse(data)
    except InputRejected as exc:
        assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(st.integers(0, len(STL) - 1), st.sampled_from(list('",\n0123456789CRDSBFHT -/'))),
                max_size=8))
def test_mutated_reports_give_records_or_a_clear_error(edits: list[tuple[int, str]]) -> None:
    text = list(STL)
    for position, char in edits:
        text[position] = char
    try:
        parse("".join(text).encode())
    except InputRejected as exc:
        assert exc.code.isupper()
