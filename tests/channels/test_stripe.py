"""Stripe itemized reports and API balance transactions: hand-made files, row checks, any bytes.

No official sample CSV exists in the corpus; these follow FORMATS.md §5 (column names of the
report types, major units, lower-case currencies, BOM/CRLF and quoted descriptions seen in real
exports) and the API's balance_transaction object (minor units, Unix seconds).
"""

from __future__ import annotations

import csv
import io
import json
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

NY = {"timezone": "America/New_York"}
CTX = ParseContext(source="stripe", options=NY, bill_sha256="d" * 64, file_name="balance.csv")
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "stripe"

# balance_change_from_activity.itemized.3, run with timezone=America/New_York and a column set
# that includes metadata: UTF-8 BOM, CRLF, commas and doubled quotes inside a description.
BALANCE = "\ufeff" + "\r\n".join([
    "balance_transaction_id,created_utc,created,available_on_utc,available_on,currency,gross,fee,net,"
    "reporting_category,source_id,description,customer_facing_amount,customer_facing_currency,customer_id,"
    "payment_intent_id,payment_metadata[order_id],refund_metadata[refund_id]",
    "txn_3PaA1,2026-04-02 03:30:00,2026-04-01 23:30:00,2026-04-04 00:00:00,2026-04-03 20:00:00,usd,100.00,3.20,"
    "96.80,charge,ch_3PaA1,Order A-1001,100.00,usd,cus_Q1,pi_3PaA1,A-1001,",
    "txn_3PaB2,2026-04-02 14:05:10,2026-04-02 10:05:10,2026-04-09 00:00:00,2026-04-08 20:00:00,eur,49.90,2.09,47.81,"
    'charge,ch_3PaB2,"Acme, Inc. ""monthly"" plan",49.90,eur,cus_Q2,pi_3PaB2,A-1002,',
    "txn_3PaC3,2026-04-02 15:00:00,2026-04-02 11:00:00,2026-04-06 00:00:00,2026-04-05 20:00:00,jpy,5000,175,4825,"
    "charge,ch_3PaC3,Order A-1003,5000,jpy,cus_Q3,pi_3PaC3,A-1003,",
    "txn_3PaD4,2026-04-02 16:20:00,2026-04-02 12:20:00,2026-04-04 00:00:00,2026-04-03 20:00:00,usd,-40.00,0.00,"
    "-40.00,refund,re_3PaD4,Refund order A-1001,-40.00,usd,cus_Q1,pi_3PaA1,A-1001,R-1001-1",
    "txn_3PaE5,2026-04-02 18:00:00,2026-04-02 14:00:00,2026-04-02 18:00:00,2026-04-02 14:00:00,usd,-100.00,15.00,"
    "-115.00,dispute,dp_3PaE5,Chargeback for A-1004,-100.00,usd,cus_Q4,pi_3PaE5,A-1004,",
    "txn_3PaF6,2026-04-02 20:00:00,2026-04-02 16:00:00,2026-04-02 20:00:00,2026-04-02 16:00:00,usd,-25.00,0.00,"
    "-25.00,fee,,Radar for Fraud Teams (Mar 2026),,,,,,",
    "txn_3PaG7,2026-04-02 21:00:00,2026-04-02 17:00:00,2026-04-02 21:00:00,2026-04-02 17:00:00,usd,-1000.00,0.00,"
    "-1000.00,payout,po_3PaG7,STRIPE PAYOUT,,,,,,",
    "txn_3PaH8,2026-04-02 22:00:00,2026-04-02 18:00:00,2026-04-02 22:00:00,2026-04-02 18:00:00,usd,-10.00,0.00,"
    "-10.00,transfer,tr_3PaH8,Transfer to acct_1X,,,,,,",
]) + "\r\n"

# payout_reconciliation.itemized.5 with its default-ish columns, UTC run, no metadata columns.
PAYOUT = "\n".join([
    "automatic_payout_id,automatic_payout_effective_at_utc,automatic_payout_effective_at,balance_transaction_id,"
    "created_utc,created,available_on_utc,available_on,currency,gross,fee,net,reporting_category,source_id,"
    "description",
    "po_1QxYz8Ab2Cd3Ef4G,2026-09-18 00:00:00,2026-09-18 00:00:00,txn_3Q1,2026-09-14 10:02:11,2026-09-14 10:02:11,"
    "2026-09-16 00:00:00,2026-09-16 00:00:00,eur,600.00,8.70,591.30,charge,ch_3Q1,Order 1041",
    "po_1QxYz8Ab2Cd3Ef4G,2026-09-18 00:00:00,2026-09-18 00:00:00,txn_3Q3,2026-09-15 09:12:45,2026-09-15 09:12:45,"
    "2026-09-17 00:00:00,2026-09-17 00:00:00,eur,-20.00,0.00,-20.00,refund,re_3Q3,Refund order 1041",
]) + "\n"


def _bt(txn: str, amount: int, fee: int, currency: str, category: str, source: object, created: int) -> dict:
    return {"id": txn, "object": "balance_transaction", "amount": amount, "fee": fee, "net": amount - fee,
            "currency": currency, "created": created, "available_on": created - created % 86400 + 2 * 86400,
            "reporting_category": category, "type": category, "description": None, "source": source,
            "status": "pending", "fee_details": []}


CHARGE = {"id": "ch_9", "object": "charge", "metadata": {"order_id": "A-2001"}}
REFUND = {"id": "re_9", "object": "refund", "metadata": {"refund_id": "R-2001-1", "order_id": "A-2001"}}
# What a fetcher writes for GET /v1/balance_transactions?expand[]=data.source: one list page
# per line; then a single object on its own line.
API = json.dumps({"object": "list", "url": "/v1/balance_transactions", "has_more": False, "data": [
    _bt("txn_9A", 123456, 3610, "jpy", "charge", {**CHARGE, "id": "ch_8"}, 1775100000),
    _bt("txn_9B", 2590, 105, "usd", "charge", CHARGE, 1775103600),
]}) + "\n" + json.dumps(_bt("txn_9C", -1000, 0, "usd", "refund", REFUND, 1775107200)) + "\n"


def parse(data: bytes, ctx: ParseContext = CTX) -> list[dict]:
    return pa.Table.from_batches(list(get("stripe").parse(data, ctx)), schema=SCHEMA).to_pylist()


def ctx(**options: object) -> ParseContext:
    return ParseContext(source="stripe", options={**NY, **options}, file_name="balance.csv")


def test_balance_report_golden_first_and_last_record_counts_and_sums() -> None:
    records = parse(BALANCE.encode())
    assert len(records) == 8
    assert records[0] == {
        "source": "stripe", "business_day": date(2026, 4, 1), "record_kind": "payment", "order_no": "A-1001",
        "refund_no": None, "channel_txn_id": "txn_3PaA1", "amount_minor": 10000, "fee_minor": 320,
        "discount_minor": 0, "currency": "USD", "occurred_at": datetime(2026, 4, 2, 3, 30, tzinfo=UTC),
        "status": "charge", "item": None, "quantity": None, "bill_sha256": "d" * 64, "line_no": 2,
    }
    assert records[-1] == {
        "source": "stripe", "business_day": date(2026, 4, 2), "record_kind": "other", "order_no": None,
        "refund_no": None, "channel_txn_id": "txn_3PaH8", "amount_minor": -1000, "fee_minor": 0,
        "discount_minor": 0, "currency": "USD", "occurred_at": datetime(2026, 4, 2, 22, 0, tzinfo=UTC),
        "status": "transfer", "item": None, "quantity": None, "bill_sha256": "d" * 64, "line_no": 9,
    }
    sums: dict[str, tuple[int, int]] = {}
    for r in records:
        amount, fee = sums.get(r["currency"], (0, 0))
        sums[r["currency"]] = (amount + r["amount_minor"], fee + r["fee_minor"])
    assert sums == {"USD": (-107500, 1820), "EUR": (4990, 209), "JPY": (5000, 175)}


def test_reporting_categories_map_to_record_kinds() -> None:
    records = parse(BALANCE.encode())
    assert [(r["status"], r["record_kind"]) for r in records] == [
        ("charge", "payment"), ("charge", "payment"), ("charge", "payment"), ("refund", "refund"),
        ("dispute", "adjustment"), ("fee", "fee"), ("payout", "payout"), ("transfer", "other"),
    ]
    refund = records[3]
    assert (refund["order_no"], refund["refund_no"], refund["amount_minor"]) == ("A-1001", "R-1001-1", -4000)
    assert records[2]["amount_minor"] == 5000  # JPY: major units are yen, no decimals
    assert records[4]["fee_minor"] == 1500  # the dispute fee is a cost


def test_business_day_is_the_local_date_of_created_or_the_chosen_day_column() -> None:
    first = parse(BALANCE.encode())[0]  # 03:30 UTC is 23:30 the day before in New York
    assert first["business_day"] == date(2026, 4, 1)
    available = parse(BALANCE.encode(), ctx(business_day_column="available_on"))[0]
    assert available["business_day"] == date(2026, 4, 3)  # as the report wrote it in its own zone
    payout = parse(PAYOUT.encode(), ctx(business_day_column="automatic_payout_effective_at"))
    assert [r["business_day"] for r in payout] == [date(2026, 9, 18), date(2026, 9, 18)]


def test_unsuffixed_created_is_read_in_the_sources_time_zone() -> None:
    rows = list(csv.reader(io.StringIO(BALANCE.removeprefix("\ufeff"))))
    out = io.StringIO()
    csv.writer(out).writerows(row[:1] + row[2:] for row in rows)  # without created_utc
    first = parse(out.getvalue().encode())[0]
    assert (first["business_day"], first["occurred_at"]) == (date(2026, 4, 1), datetime(2026, 4, 2, 3, 30, tzinfo=UTC))


def test_order_number_column_and_pattern_are_configurable() -> None:
    payout = parse(PAYOUT.encode())  # no metadata column: the description is the default
    assert [r["order_no"] for r in payout] == ["Order 1041", "Refund order 1041"]
    numbers = parse(PAYOUT.encode(), ctx(order_no_pattern=r"order (\d+)$"))
    assert [r["order_no"] for r in numbers] == [None, "1041"]
    case = parse(PAYOUT.encode(), ctx(order_no_column="description", order_no_pattern=r"(?i)order (\d+)"))
    assert [r["order_no"] for r in case] == ["1041", "1041"]
    by_source = parse(BALANCE.encode(), ctx(order_no_column="source_id"))
    assert by_source[0]["order_no"] == "ch_3PaA1"


def test_decimal_comma_reports_need_the_separator_option() -> None:
    comma = PAYOUT.replace("600.00,8.70,591.30", '"600,00","8,70","591,30"').replace(
        "-20.00,0.00,-20.00", '"-20,00","0,00","-20,00"')
    assert parse(comma.encode(), ctx(decimal_separator=",")) == parse(PAYOUT.encode(), ctx())
    with pytest.raises(InputRejected) as caught:
        parse(comma.encode(), ctx())
    assert (caught.value.code, caught.value.where.line, caught.value.where.field) == ("BAD_AMOUNT", 2, "gross")


def test_api_balance_transactions_are_minor_units() -> None:
    records = parse(API.encode())
    assert [(r["channel_txn_id"], r["amount_minor"], r["fee_minor"], r["currency"], r["line_no"]) for r in records] == [
        ("txn_9A", 123456, 3610, "JPY", 1), ("txn_9B", 2590, 105, "USD", 1), ("txn_9C", -1000, 0, "USD", 2)]
    assert records[1]["order_no"] == "A-2001"  # the expanded charge's metadata
    assert (records[2]["record_kind"], records[2]["refund_no"]) == ("refund", "R-2001-1")
    assert records[0]["occurred_at"] == datetime.fromtimestamp(1775100000, UTC)
    assert get("stripe").extension(API.encode(), CTX) == "jsonl"
    assert get("stripe").extension(BALANCE.encode(), CTX) == "csv"


def test_gross_minus_fee_must_equal_net_on_every_row() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(BALANCE.replace("96.80,charge", "96.79,charge").encode())
    assert (caught.value.code, caught.value.where.line, caught.value.where.field) == ("TOTALS_MISMATCH", 2, "net")
    assert "txn_3PaA1" in caught.value.message
    broken = API.replace('"net": 2485', '"net": 2490')
    with pytest.raises(InputRejected) as caught:
        parse(broken.encode())
    assert (caught.value.code, caught.value.where.line) == ("TOTALS_MISMATCH", 1)


def _swap(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


BROKEN = [
    ("net_mismatch", _swap("47.81,charge", "47.18,charge"), "TOTALS_MISMATCH", 3),
    ("dashboard_export", lambda t: '"id","Type","Source","Amount","Fee","Net","Currency","Created (UTC)"\n'
     '"txn_1","charge","ch_1","10.00","0.59","9.41","usd","2026-04-02 03:30"\n', "WRONG_KIND", 1),
    ("summary_report", lambda t: "category,description,net_amount,currency\ncharge,Charges,100.00,usd\n",
     "WRONG_KIND", 1),
    ("no_net_column", _swap(",gross,fee,net,", ",gross,fee,net_amount,"), "MISSING_COLUMN", 1),
    ("no_created", _swap("created_utc,created,", "createdat_utc,createdat,"), "MISSING_COLUMN", 1),
    ("extra_cell", _swap("Order A-1001,", "Order, A-1001,"), "COLUMN_COUNT", 2),
    ("unclosed_quote", _swap('""monthly"" plan",', '""monthly"" plan,'), "BAD_CSV", 3),
    ("text_amount", _swap("usd,100.00,", "usd,$100.00,"), "BAD_AMOUNT", 2),
    ("float_amount", _swap("usd,100.00,", "usd,1e2,"), "BAD_AMOUNT", 2),
    ("huge_amount", _swap("usd,100.00,3.20,96.80", "usd,99999999999999999999.00,3.20,96.80"), "BAD_AMOUNT", 2),
    ("jpy_decimals", _swap("jpy,5000,175,4825", "jpy,5000.5,175,4825.5"), "AMOUNT_PRECISION", 4),
    ("usd_three_decimals", _swap("usd,100.00,3.20,", "usd,100.005,3.205,"), "AMOUNT_PRECISION", 2),
    ("bad_currency", _swap("usd,100.00,", "dollars,100.00,"), "BAD_CURRENCY", 2),
    ("bad_date", _swap("2026-04-02 03:30:00", "04/02/2026 03:30"), "BAD_DATE", 2),
    ("empty", lambda t: "", "EMPTY_FILE", None),
    ("bom_only", lambda t: "\ufeff\r\n", "EMPTY_FILE", None),
    ("api_not_json", lambda t: '{"object": "balance_transaction", "id": \n', "BAD_JSON", 1),
    ("api_charge_object", lambda t: json.dumps(CHARGE) + "\n", "WRONG_KIND", 1),
    ("api_decimal_amount", lambda t: API.replace('"amount": 2590', '"amount": 25.9'), "BAD_AMOUNT", 1),
    ("api_bad_created", lambda t: API.replace('"created": 1775107200', '"created": "yesterday"'), "BAD_DATE", 2),
    ("api_no_currency", lambda t: API.replace('"currency": "jpy"', '"currency": null'), "BAD_VALUE", 1),
    ("api_deep_nesting", lambda t: "{" + '"a":[' * 5000 + "]" * 5000 + "}\n", "BAD_JSON", 1),
]


@pytest.mark.parametrize(("name", "edit", "code", "line"), BROKEN, ids=[case[0] for case in BROKEN])
def test_broken_reports_are_rejected_whole_with_code_and_line(name: str, edit, code: str, line: int | None) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(edit(BALANCE).encode())
    assert (caught.value.code, caught.value.where.line) == (code, line), caught.value
    assert caught.value.where.file == CTX.file_name


@pytest.mark.parametrize(("options", "code"), [
    ({"order_no_column": "payment_metadata[order_number]"}, "MISSING_COLUMN"),
    ({"business_day_column": "paid_at"}, "BAD_VALUE"),
    ({"order_no_pattern": "(unclosed"}, "BAD_VALUE"),
])
def test_bad_options_are_clear_errors(options: dict, code: str) -> None:
    with pytest.raises(InputRejected) as caught:
        parse(BALANCE.encode(), ctx(**options))
    assert caught.value.code == code


def test_invalid_utf8_is_a_clear_error() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(BALANCE.encode().replace(b"Radar", b"R\xe9dar"))
    assert caught.value.code == "BAD_ENCODING"


def test_every_file_of_the_bad_corpus_gives_its_code() -> None:
    manifest = tomllib.loads((CORPUS / "MANIFEST.toml").read_text())
    assert len(manifest) >= 20
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
@given(st.sampled_from([BALANCE, PAYOUT, API]),
       st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(list('",\n{}[]:0123456789.- abcusd'))), max_size=8))
def test_mutated_reports_give_records_or_a_clear_error(text: str, edits: list[tuple[int, str]]) -> None:
    chars = list(text)
    for position, char in edits:
        chars[position % len(chars)] = char
    try:
        parse("".join(chars).encode())
    except InputRejected as exc:
        assert exc.code.isupper()
