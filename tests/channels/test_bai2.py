"""BAI2: the public samples (ministryofjustice/bai2 fixtures, MIT), hand-made reports, trailers, any bytes."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, get
from tally.errors import InputRejected
from tally.records import SCHEMA

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "bai2"
CTX = ParseContext(source="bank", bill_sha256="b" * 64, file_name="r.bai2")


def parse(data: bytes | str, ctx: ParseContext = CTX) -> list[dict]:
    raw = data.encode() if isinstance(data, str) else data
    return pa.Table.from_batches(list(get("bai2").parse(raw, ctx)), schema=SCHEMA).to_pylist()


def rejected(data: bytes | str, ctx: ParseContext = CTX) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        parse(data, ctx)
    assert caught.value.where.file == "r.bai2"
    return caught.value


def record(**fields: object) -> dict:
    base = {"source": "bank", "record_kind": "other", "refund_no": None, "fee_minor": 0, "discount_minor": 0,
            "occurred_at": None, "status": "BOOK", "item": None, "quantity": None, "bill_sha256": "b" * 64}
    return base | fields


def test_svb_sample_two_groups(samples: Path) -> None:
    records = parse((samples / "bai2" / "svb_us_example.bai2").read_bytes())
    assert records == [
        record(business_day=date(2022, 2, 1), order_no=None, channel_txn_id="172629", amount_minor=490196,
               currency="USD", line_no=7),
        record(business_day=date(2022, 2, 2), order_no=None, channel_txn_id="150675", amount_minor=905800,
               currency="USD", line_no=16),
    ]


def test_citi_sample_value_dated_funds(samples: Path) -> None:
    (only,) = parse((samples / "bai2" / "citi_example.bai2").read_bytes())
    assert only == record(business_day=date(2015, 7, 15), order_no="RP12312312312312", channel_txn_id="1234567890",
                          amount_minor=1, currency="GBP", line_no=4)


def test_nwb_sample_account_currency_and_text_continuations(samples: Path) -> None:
    records = parse((samples / "bai2" / "nwb_example.bai2").read_bytes())
    assert [(r["line_no"], r["amount_minor"]) for r in records] == [(5, -971), (7, -100), (9, -123), (11, -1571),
                                                                    (13, 89)]
    assert records[0] == record(business_day=date(2009, 12, 16), order_no=None, channel_txn_id=None,
                                amount_minor=-971, currency="GBP", line_no=5)
    assert sum(r["amount_minor"] for r in records) == -2676


def test_blank_account_trailer_amount_means_no_activity(samples: Path) -> None:
    assert parse((samples / "bai2" / "account_trailer_amount_blank_example.bai2").read_bytes()) == []


def build(groups: list[tuple[str, list[tuple[str, list[str]]]]], *, header: str = "01,TALLYBANK,SHOP,260303,0600,7,,,2/"
          ) -> str:
    """A BAI2 file whose trailers are computed from its records: (02 line, [(03 line, [16/88 lines])])."""
    lines, file_total, file_records = [header], 0, 1
    for group_line, accounts in groups:
        lines.append(group_line)
        group_total, group_records = 0, 1
        for account_line, details in accounts:
            body = [account_line, *details]
            total = sum(int(f) for f in _amounts(account_line, details))
            lines += [*body, f"49,{total},{len(body) + 1}/"]
            group_total += total
            group_records += len(body) + 1
        lines.append(f"98,{group_total},{len(accounts)},{group_records + 1}/")
        file_total += group_total
        file_records += group_records + 1
    lines.append(f"99,{file_total},{len(groups)},{file_records + 1}/")
    return "\n".join(lines) + "\n"


def _amounts(account_line: str, details: list[str]) -> list[str]:
    summaries = account_line.rstrip("/").split(",")[3:]
    amounts = [summaries[i + 1] for i in range(0, len(summaries) - 1, 4) if summaries[i]]
    return [a or "0" for a in amounts] + [d.split(",")[2] for d in details if d.startswith("16,")]


USD = ("02,SHOP,TALLYBANK,1,260303,2400,USD,2/", [
    ("03,4000123,,010,+100000,,,015,+118810,,/", [
        "16,165,25000,0,B-1,ORD-9001,ACH CREDIT",
        "16,698,1190,Z,B-2,,ACCOUNT FEES/",
        "16,555,5000,V,260303,1200,B-3,ORD-8812,/",
        "88,DEPOSITED ITEM RETURNED",
        "16,258,1000,S,500,300,200,B-4,,/",
        "16,890,0,,B-5,,NOTE: STATEMENT CYCLE CHANGES/",
    ]),
])
JPY = ("02,SHOP,TALLYBANK,1,260303,,,2/", [
    ("03,9900777,JPY,010,1000000,,,015,1030000,,,/", [
        "16,142,50000,D,2,0,30000,1,20000,B-9,JP-77/",
        "16,475,20000,,B-10,CHK-5/",
    ]),
])


def test_hand_made_report_two_currencies_fees_returns_funds_types() -> None:
    records = parse(build([USD, JPY]))
    assert [(r["currency"], r["record_kind"], r["amount_minor"], r["order_no"], r["channel_txn_id"])
            for r in records] == [
        ("USD", "other", 25000, "ORD-9001", "B-1"),
        ("USD", "fee", -1190, None, "B-2"),
        ("USD", "adjustment", -5000, "ORD-8812", "B-3"),
        ("USD", "adjustment", 1000, None, "B-4"),
        ("USD", "other", 0, None, "B-5"),
        ("JPY", "other", 50000, "JP-77", "B-9"),
        ("JPY", "other", -20000, "CHK-5", "B-10"),
    ]
    assert records[0] == record(business_day=date(2026, 3, 3), order_no="ORD-9001", channel_txn_id="B-1",
                                amount_minor=25000, currency="USD", line_no=4)
    assert records[3]["line_no"] == 8  # the 88 continuation before it counts as a line, not a record


def test_group_currency_defaults_and_the_option() -> None:
    group = ("02,SHOP,TALLYBANK,1,260303,,,/", [("03,1,/", ["16,142,100,,R,C/"])])
    assert parse(build([group]))[0]["currency"] == "USD"
    eur = ParseContext(source="bank", options={"currency": "EUR"}, file_name="r.bai2")
    assert parse(build([group]), eur)[0]["currency"] == "EUR"


def test_interim_and_correction_groups_carry_their_status() -> None:
    interim = ("02,SHOP,TALLYBANK,1,260303,1200,USD,3/", [("03,1,USD/", ["16,142,100,,R,C/"])])
    correction = ("02,SHOP,TALLYBANK,3,260303,,USD,2/", [("03,1,USD/", ["16,142,100,,R,C/"])])
    assert [r["status"] for r in parse(build([interim, correction]))] == ["INTERIM", "CORRECTION"]


def test_bank_defined_type_codes_need_a_mapping() -> None:
    custom = ("02,SHOP,TALLYBANK,1,260303,,USD,2/", [("03,1,USD/", ["16,901,700,,R,C/"])])
    error = rejected(build([custom]))
    assert (error.code, error.where.line, error.where.field) == ("BAD_VALUE", 4, "type code")
    mapped = ParseContext(source="bank", options={"bai2_type_codes": {"901": "debit"}}, file_name="r.bai2")
    assert parse(build([custom]), mapped)[0]["amount_minor"] == -700


def test_padded_fixed_length_records_and_crlf() -> None:
    text = build([USD]).replace("\n", "    \r\n")
    assert len(parse(text)) == 5
    assert get("bai2").lines(text.encode(), CTX)[0] == "01,TALLYBANK,SHOP,260303,0600,7,,,2/    "
    assert get("bai2").extension(b"", CTX) == "bai2"


GOOD = build([USD, JPY])


@pytest.mark.parametrize(
    ("old", "new", "code", "line"),
    [
        ("49,251000,8/", "49,251001,8/", "TOTALS_MISMATCH", 10),
        ("49,251000,8/", "49,251000,9/", "TOTALS_MISMATCH", 10),
        ("98,251000,1,10/", "98,251000,2,10/", "TOTALS_MISMATCH", 11),
        ("98,251000,1,10/", "98,250999,1,10/", "TOTALS_MISMATCH", 11),
        ("99,2351000,2,18/", "99,2351000,2,17/", "TOTALS_MISMATCH", 18),
        ("99,2351000,2,18/", "99,2351000,3,18/", "TOTALS_MISMATCH", 18),
        ("99,2351000,2,18/\n", "", "MISSING_TOTALS", None),
        ("99,2351000,2,18/\n", "99,2351000,2,18/\n01,X,Y,260303,0600,8,,,2/\n", "TRAILING_DATA", 19),
        ("16,165,25000,", "16,165,250.00,", "BAD_AMOUNT", 4),
        ("16,165,25000,", "16,165,-25000,", "BAD_AMOUNT", 4),
        ("16,165,25000,", "16,165,,", "BAD_AMOUNT", 4),
        ("16,165,25000,0,", "16,165,25000,X,", "BAD_VALUE", 4),
        ("16,165,", "16,065,", "BAD_VALUE", 4),
        ("16,165,", "16,1A5,", "BAD_VALUE", 4),
        ("16,890,0,", "16,890,5,", "BAD_AMOUNT", 9),
        ("010,+100000,", "010,+1000.00,", "BAD_AMOUNT", 3),
        ("03,4000123,,", "03,4000123,DOLLAR,", "BAD_CURRENCY", 3),
        (",1,260303,2400,", ",1,260230,2400,", "BAD_DATE", 2),
        (",1,260303,2400,", ",4,260303,2400,", "BAD_VALUE", 2),
        (",1,260303,2400,", ",2,260303,2400,", "BAD_VALUE", 2),
        ("01,TALLYBANK,SHOP,260303,0600,7,,,2/", "01,TALLYBANK,SHOP,260303,0600,7,,,1/", "WRONG_KIND", 1),
        ("01,TALLYBANK", "02,TALLYBANK", "WRONG_KIND", 1),
        ("03,4000123,", "16,4000123,", "BAD_VALUE", 3),
        ("03,4000123,", "77,4000123,", "BAD_VALUE", 3),
        ("01,TALLYBANK", "88,TALLYBANK", "BAD_VALUE", 1),
        ("98,251000,1,10/", "49,0,1/", "BAD_VALUE", 11),
    ],
)
def test_broken_reports_are_rejected_with_code_and_line(old: str, new: str, code: str, line: int | None) -> None:
    assert old in GOOD, old
    error = rejected(GOOD.replace(old, new, 1))
    assert (error.code, error.where.line) == (code, line)


@pytest.mark.parametrize(("data", "code"), [(b"", "EMPTY_FILE"), (b"\n \n", "EMPTY_FILE"),
                                            ("01,A".encode("utf-16"), "BAD_ENCODING"), (b"hello", "BAD_VALUE")])
def test_not_a_report(data: bytes, code: str) -> None:
    assert rejected(data).code == code


MANIFEST = tomllib.loads((CORPUS / "MANIFEST.toml").read_text())


@pytest.mark.parametrize(("name", "code"), sorted(MANIFEST.items()))
def test_bad_corpus_file_gives_its_code(name: str, code: str) -> None:
    assert rejected((CORPUS / name).read_bytes()).code == code


def test_manifest_lists_every_corpus_file() -> None:
    assert sorted(MANIFEST) == sorted(p.name for p in CORPUS.iterdir() if p.name != "MANIFEST.toml")


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=1500))
def test_any_bytes_give_records_or_a_clear_error(data: bytes) -> None:
    try:
        parse(data)
    except InputRejected as exc:
        assert exc.code.isupper()


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_mutated_reports_give_records_or_a_clear_error(data: st.DataObject) -> None:
    raw = bytearray(GOOD.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at:at + data.draw(st.integers(0, 6))] = data.draw(st.binary(max_size=6).map(
            lambda b: bytes(c % 64 + 32 for c in b)))
    try:
        parse(bytes(raw))
    except InputRejected as exc:
        assert exc.code.isupper()
