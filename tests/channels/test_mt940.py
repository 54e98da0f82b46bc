"""MT940: the public samples (WoLpH/mt940 fixtures, BSD/MIT), hand-made statements, balances, any bytes."""

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

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "mt940"
CTX = ParseContext(source="bank", bill_sha256="9" * 64, file_name="s.sta")


def parse(data: bytes | str, ctx: ParseContext = CTX) -> list[dict]:
    raw = data.encode() if isinstance(data, str) else data
    return pa.Table.from_batches(list(get("mt940").parse(raw, ctx)), schema=SCHEMA).to_pylist()


def rejected(data: bytes | str) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        parse(data)
    assert caught.value.where.file == "s.sta"
    return caught.value


def record(**fields: object) -> dict:
    base = {"source": "bank", "record_kind": "other", "refund_no": None, "fee_minor": 0, "discount_minor": 0,
            "occurred_at": None, "status": "BOOK", "item": None, "quantity": None, "bill_sha256": "9" * 64}
    return base | fields


def test_sepa_sample_with_reversals_balances_every_message(samples: Path) -> None:
    records = parse((samples / "mt940" / "betterplace_sepa_mt9401.sta").read_bytes())
    assert len(records) == 97
    assert sum(r["amount_minor"] for r in records) == -926913590
    assert records[0] == record(business_day=date(2007, 9, 4), order_no="TFNr 40005 MSGID",
                                channel_txn_id="0724710345313905", amount_minor=30000, currency="EUR", line_no=5)
    assert records[-1] == record(business_day=date(2007, 9, 4), order_no=None, channel_txn_id="0724710290648274",
                                 amount_minor=5005, currency="EUR", line_no=586)
    # RC (reversal of a credit) takes money out: WoLpH/mt940 #130 returns it positive.
    reversals = [r for r in records if r["record_kind"] == "adjustment"]
    assert [(r["line_no"], r["amount_minor"]) for r in reversals] == [(19, -20488), (101, -20488)]


def test_cmxl_sample_three_statements_three_currencies(samples: Path) -> None:
    records = parse((samples / "mt940" / "cmxl_mt940.sta").read_bytes())
    assert [r["currency"] for r in records] == ["DEM"] * 11 + ["EUR"] * 2 + ["PLN"] * 3
    assert records[0] == record(business_day=date(2013, 10, 17), order_no="16703074", channel_txn_id=None,
                                amount_minor=-680000, currency="DEM", line_no=5)
    assert records[-1] == record(business_day=date(2003, 10, 20), order_no=None, channel_txn_id="8327000090031791",
                                 amount_minor=4000, currency="PLN", line_no=70)
    # no entry date: the value date is the business day, even outside the statement's dates
    assert records[3]["business_day"] == date(2013, 10, 15)
    assert records[11]["business_day"] == date(2002, 11, 2)  # value 021101, entry 1102
    assert sum(r["amount_minor"] for r in records if r["currency"] == "DEM") == 8443704 - 8434974


def test_abnamro_sample_does_not_balance_and_is_refused(samples: Path) -> None:
    error = rejected((samples / "mt940" / "jejik_abnamro.sta").read_bytes())
    assert (error.code, error.where.line, error.where.field) == ("TOTALS_MISMATCH", 27, ":62F:")
    assert "says 876.84" in error.message
    assert "add up to 2914.84" in error.message


def test_abnamro_sample_with_balances_that_add_up(samples: Path) -> None:
    text = (samples / "mt940" / "jejik_abnamro.sta").read_text()
    fixed = text.replace(":62F:C110523EUR876,84", ":62F:C110523EUR2914,84").replace(
        ":62M:C110524EUR1849,75", ":62M:C110524EUR2852,35")
    records = parse(fixed)
    assert len(records) == 10
    assert records[0] == record(business_day=date(2011, 5, 24), order_no=None, channel_txn_id=None,
                                amount_minor=-900, currency="EUR", line_no=8)
    assert records[1]["business_day"] == date(2011, 5, 23)  # entry date 0523, value date 110521
    assert records[-1] == record(business_day=date(2011, 5, 24), order_no=None, channel_txn_id=None,
                                 amount_minor=-1500, currency="EUR", line_no=38)


def test_ing_sample_does_not_balance_and_is_refused(samples: Path) -> None:
    error = rejected((samples / "mt940" / "jejik_ing.sta").read_bytes())
    assert (error.code, error.where.line) == ("TOTALS_MISMATCH", 26)


def test_ing_sample_envelope_and_trailing_summary(samples: Path) -> None:
    text = (samples / "mt940" / "jejik_ing.sta").read_text()
    records = parse(text.replace(":62F:C100723EUR3,47", ":62F:D100723EUR45,59"))
    assert [r["amount_minor"] for r in records] == [-2503, -303, -111, -2000, -110, 368, 100]
    assert records[2]["order_no"] == "TMG TANGO"
    assert records[-1]["business_day"] == date(2010, 7, 23)


def test_amount_formats_sample_is_a_fragment_and_its_amounts_read_exactly(samples: Path) -> None:
    raw = (samples / "mt940" / "betterplace_amount_formats.sta").read_text()
    error = rejected(raw)
    assert (error.code, error.where.line) == ("BAD_VALUE", 1)
    # Each opening balance, closed by a balance written canonically: it passes only when read exactly.
    expected = [38011512, 38011510, 38011500, 12, 12, 112]
    for line, minor in zip(raw.splitlines(), expected, strict=True):
        closing = f":62F:C100318EUR{minor // 100},{minor % 100:02d}"
        assert parse(f":20:X\n:25:1\n{line}\n{closing}\n-\n") == []
        off = f":62F:C100318EUR{(minor + 1) // 100},{(minor + 1) % 100:02d}"
        assert rejected(f":20:X\n:25:1\n{line}\n{off}\n").code == "TOTALS_MISMATCH"


STATEMENT = """{1:F01TALLDEFFAXXX0000000000}{2:O9401200260105TALLDEFFAXXX00000000002601051200N}{4:
:20:STMT20260102
:25:DE44500105175407324931
:28C:1/1
:60F:C251231EUR1000,00
:61:2512310102C250,00NTRFORD-7781//BANKREF-1
/OCMT/EUR250,00/
:86:166?00GUTSCHRIFT?20EREF+ORD-7781?32Anna Schmidt
:61:2601021231D1,50NCHGNONREF//BANKREF-2
:86:805?00ENTGELT
:61:260102RD40,00NRTINONREF//BANKREF-3
:86:109?00RUECKLASTSCHRIFT
:62F:C260102EUR1288,50
-}
"""


def test_swift_envelope_year_boundary_fees_and_reversals() -> None:
    payment, fee, reversal = parse(STATEMENT)
    assert payment == record(business_day=date(2026, 1, 2), order_no="ORD-7781", channel_txn_id="BANKREF-1",
                             amount_minor=25000, currency="EUR", line_no=6)
    assert (fee["business_day"], fee["record_kind"], fee["amount_minor"]) == (date(2025, 12, 31), "fee", -150)
    assert (reversal["record_kind"], reversal["amount_minor"]) == ("adjustment", 4000)  # RD puts money back


def test_cp1252_text_and_declared_encoding() -> None:
    data = STATEMENT.replace("Anna Schmidt", "Zoë Müller").encode("cp1252")
    assert len(parse(data)) == 3
    assert "Zoë Müller" in get("mt940").lines(data, CTX)[7]
    latin = ParseContext(source="bank", options={"encoding": "latin-1"}, file_name="s.sta")
    assert len(parse(data, latin)) == 3
    assert get("mt940").extension(data, CTX) == "sta"


def test_intermediate_statements_must_chain() -> None:
    first = ":20:A\n:25:ACC\n:28C:1/1\n:60F:C260101EUR10,00\n:61:260101C5,00NTRFNONREF\n:62M:C260101EUR15,00\n-\n"
    second = ":20:A\n:25:ACC\n:28C:1/2\n:60M:C260101EUR15,00\n:61:260101C1,00NTRFNONREF\n:62F:C260101EUR16,00\n-\n"
    assert len(parse(first + second)) == 2
    error = rejected(first + second.replace(":60M:C260101EUR15,00", ":60M:C260101EUR14,00").replace(
        ":62F:C260101EUR16,00", ":62F:C260101EUR15,00"))
    assert (error.code, error.where.line) == ("TOTALS_MISMATCH", 11)


def test_jpy_statement_has_no_minor_unit() -> None:
    (only,) = parse(":20:J\n:25:1\n:60F:C260105JPY1000,\n:61:260105D300,NTRFNONREF\n:62F:C260105JPY700,\n")
    assert (only["currency"], only["amount_minor"]) == ("JPY", -300)
    assert rejected(":20:J\n:25:1\n:60F:C260105JPY1000,5\n:62F:C260105JPY1000,5\n").code == "AMOUNT_PRECISION"


@pytest.mark.parametrize(
    ("old", "new", "code", "line"),
    [
        (":62F:C260102EUR1288,50", ":62F:C260102EUR1288,51", "TOTALS_MISMATCH", 13),
        (":62F:C260102EUR1288,50", ":62F:C260102USD1288,50", "BAD_CURRENCY", 13),
        (":62F:C260102EUR1288,50\n", "", "MISSING_TOTALS", 2),
        (":60F:C251231EUR1000,00\n", "", "BAD_VALUE", 5),
        (":60F:C251231EUR1000,00", ":60F:C251231EUR1000.00", "BAD_AMOUNT", 5),
        (":60F:C251231EUR1000,00", ":60F:C251331EUR1000,00", "BAD_DATE", 5),
        (":60F:C251231EUR1000,00", ":60F:C251231EU1000,00", "BAD_AMOUNT", 5),
        ("C250,00NTRF", "C250,001NTRF", "AMOUNT_PRECISION", 6),
        ("C250,00NTRF", "C250.00NTRF", "BAD_VALUE", 6),
        (":61:2512310102C", ":61:2512311302C", "BAD_DATE", 6),
        (":61:2512310102C", ":61:2513310102C", "BAD_DATE", 6),
        (":61:2512310102C", ":61:2512310102X", "BAD_VALUE", 6),
        (":28C:1/1", ":99:1/1", "BAD_VALUE", 4),
        (":20:STMT20260102\n", "", "BAD_VALUE", 2),
        ("-}\n", "-}\n:61:260102C1,00NTRFNONREF\n", "BAD_VALUE", 15),
        ("-}\n", ":61:260102C1,00NTRFNONREF\n-}\n", "BAD_VALUE", 14),
    ],
)
def test_broken_statements_are_rejected_with_code_and_line(old: str, new: str, code: str, line: int) -> None:
    assert old in STATEMENT
    error = rejected(STATEMENT.replace(old, new, 1))
    assert (error.code, error.where.line) == (code, line)


@pytest.mark.parametrize(("data", "code"), [(b"", "EMPTY_FILE"), (b"hello\nworld\n", "WRONG_KIND"),
                                            (b"\xff\xfe\x00:", "BAD_ENCODING")])
def test_not_a_statement(data: bytes, code: str) -> None:
    error = rejected(data)
    assert error.code == code


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
@given(st.text(alphabet=st.sampled_from(list(":0123456789CDRNTF,/-\n{}EURX ")), max_size=400))
def test_statement_like_text_gives_records_or_a_clear_error(tail: str) -> None:
    try:
        parse(":20:X\n:25:1\n:60F:C260101EUR1,00\n" + tail)
    except InputRejected as exc:
        assert exc.code.isupper()
