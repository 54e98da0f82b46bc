"""OFX: the public samples (jseutter/ofxparse fixtures, MIT), hand-made 1.x SGML and 2.x XML, any bytes."""

from __future__ import annotations

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

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "ofx"
CTX = ParseContext(source="bank", bill_sha256="0" * 64, file_name="s.ofx")


def parse(data: bytes | str, ctx: ParseContext = CTX) -> list[dict]:
    raw = data.encode("cp1252") if isinstance(data, str) else data
    return pa.Table.from_batches(list(get("ofx").parse(raw, ctx)), schema=SCHEMA).to_pylist()


def rejected(data: bytes | str) -> InputRejected:
    with pytest.raises(InputRejected) as caught:
        parse(data)
    assert caught.value.where.file == "s.ofx"
    return caught.value


def record(**fields: object) -> dict:
    base = {"source": "bank", "record_kind": "other", "refund_no": None, "order_no": None, "fee_minor": 0,
            "discount_minor": 0, "status": "BOOK", "item": None, "quantity": None, "bill_sha256": "0" * 64}
    return base | fields


def test_checking_sample_sgml_1_02(samples: Path) -> None:
    records = parse((samples / "ofx" / "checking.ofx").read_bytes())
    assert records[0] == record(business_day=date(2011, 3, 31), channel_txn_id="0000486", amount_minor=1,
                                currency="USD", occurred_at=datetime(2011, 3, 31, 12, 0, tzinfo=UTC), line_no=46)
    assert records[-1] == record(business_day=date(2011, 4, 7), channel_txn_id="0000488", amount_minor=-2500,
                                 currency="USD", occurred_at=datetime(2011, 4, 7, 12, 0, tzinfo=UTC), line_no=62)
    assert len(records) == 3
    assert sum(r["amount_minor"] for r in records) == -5950


def test_suncorp_sample_xml_2_00(samples: Path) -> None:
    (only,) = parse((samples / "ofx" / "suncorp.ofx").read_bytes())
    assert only == record(business_day=date(2013, 12, 15), channel_txn_id="1", amount_minor=-1685, currency="AUD",
                          occurred_at=None, line_no=35)


def test_lines_match_record_line_numbers(samples: Path) -> None:
    for name in ("checking.ofx", "suncorp.ofx"):
        data = (samples / "ofx" / name).read_bytes()
        lines = get("ofx").lines(data, CTX)
        assert all(lines[r["line_no"] - 1].strip() == "<STMTTRN>" for r in parse(data))
    assert get("ofx").extension(b"", CTX) == "ofx"


SGML = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<DTSERVER>20260304080000[-5:EST]<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>USD
<BANKACCTFROM><BANKID>121000358<ACCTID>000123456789<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20260301<DTEND>20260304
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20260302120000.000[-5:EST]<TRNAMT>1250.00<FITID>F-1001
<REFNUM>ORD-1001<NAME>Café Zoë €<MEMO></STMTTRN>
<STMTTRN><TRNTYPE>SRVCHG<DTPOSTED>20260303<TRNAMT>-12,50<FITID>F-1002<NAME>MONTHLY SERVICE FEE</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260303235959[+8:CST]<TRNAMT>-99.99<FITID>F-1003
<CORRECTFITID>F-0999<CORRECTACTION>REPLACE<CURRENCY><CURRATE>1.0850<CURSYM>EUR</CURRENCY></STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>10452.01<DTASOF>20260304080000</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""


def test_hand_made_sgml_cp1252_fee_correction_time_zones() -> None:
    credit, fee, correction = parse(SGML)
    assert credit == record(business_day=date(2026, 3, 2), order_no="ORD-1001", channel_txn_id="F-1001",
                            amount_minor=125000, currency="USD", occurred_at=datetime(2026, 3, 2, 17, tzinfo=UTC),
                            line_no=18)
    assert (fee["record_kind"], fee["amount_minor"], fee["occurred_at"]) == ("fee", -1250, None)
    # posted late on the 3rd in UTC+8: the business day is the date the bank wrote
    assert (correction["business_day"], correction["occurred_at"]) == (date(2026, 3, 3),
                                                                      datetime(2026, 3, 3, 15, 59, 59, tzinfo=UTC))
    assert (correction["record_kind"], correction["currency"]) == ("adjustment", "EUR")
    assert "Café Zoë €" in get("ofx").lines(SGML.encode("cp1252"), CTX)[18]


def test_one_line_header_and_utf8_charset() -> None:
    text = SGML.replace("\nDATA:", " DATA:").replace("CHARSET:1252", "CHARSET:NONE").replace(
        "ENCODING:USASCII", "ENCODING:UTF-8")
    records = parse(text.encode())
    assert len(records) == 3
    assert records[0]["line_no"] == 17


XML = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX>
  <SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
    <DTSERVER>20260304080000.000[0:GMT]</DTSERVER><LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1>
  <CREDITCARDMSGSRSV1>
    <CCSTMTTRNRS><TRNUID>2</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
      <CCSTMTRS><CURDEF>GBP</CURDEF><CCACCTFROM><ACCTID>4111111111111111</ACCTID></CCACCTFROM>
        <BANKTRANLIST><DTSTART>20260301</DTSTART><DTEND>20260304</DTEND>
          <STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20260302</DTPOSTED><TRNAMT>-45.00</TRNAMT>
            <FITID>CC-1</FITID><NAME>Tube &amp; Rail</NAME></STMTTRN>
          <STMTTRN><TRNTYPE>FEE</TRNTYPE><DTPOSTED>20260303</DTPOSTED><TRNAMT>-2.95</TRNAMT>
            <FITID>CC-2</FITID><NAME>FX FEE</NAME></STMTTRN>
        </BANKTRANLIST>
        <LEDGERBAL><BALAMT>-47.95</BALAMT><DTASOF>20260304</DTASOF></LEDGERBAL>
      </CCSTMTRS>
    </CCSTMTTRNRS>
  </CREDITCARDMSGSRSV1>
</OFX>
"""


def test_hand_made_xml_credit_card_statement() -> None:
    purchase, fee = parse(XML.encode())
    assert purchase == record(business_day=date(2026, 3, 2), channel_txn_id="CC-1", amount_minor=-4500,
                              currency="GBP", occurred_at=None, line_no=10)
    assert (fee["record_kind"], fee["amount_minor"], fee["line_no"]) == ("fee", -295, 12)


@pytest.mark.parametrize(
    ("old", "new", "code", "line"),
    [
        ("<TRNUID>1<STATUS><CODE>0", "<TRNUID>1<STATUS><CODE>2000", "CHANNEL_ERROR", 14),
        ("<LEDGERBAL><BALAMT>10452.01<DTASOF>20260304080000</LEDGERBAL>\n", "", "MISSING_TOTALS", 15),
        ("<BALAMT>10452.01", "<BALAMT>10,452.01", "BAD_AMOUNT", 24),
        ("<DTASOF>20260304080000", "<DTASOF>2026-03-04", "BAD_DATE", 24),
        ("<FITID>F-1002", "<FITID>F-1001", "BAD_VALUE", 20),
        ("<TRNAMT>1250.00", "", "MISSING_COLUMN", 18),
        ("<TRNAMT>1250.00", "<TRNAMT>1.250,00", "BAD_AMOUNT", 18),
        ("<TRNAMT>1250.00", "<TRNAMT>1e3", "BAD_AMOUNT", 18),
        ("<TRNAMT>1250.00", "<TRNAMT>1250.001", "AMOUNT_PRECISION", 18),
        ("<DTPOSTED>20260302120000.000[-5:EST]", "<DTPOSTED>20260230", "BAD_DATE", 18),
        ("<DTPOSTED>20260302120000.000[-5:EST]", "<DTPOSTED>yesterday", "BAD_DATE", 18),
        ("<CURDEF>USD", "<CURDEF>DOLLARS", "BAD_CURRENCY", 15),
        ("<STMTRS><CURDEF>USD", "<STMTRS>", "BAD_CURRENCY", 15),
        ("<CURSYM>EUR", "<CURSYM>EURO", "BAD_CURRENCY", 21),
        ("CHARSET:1252", "CHARSET:KLINGON", "BAD_ENCODING", 1),
        ("</STMTRS>", "</STMTRS></FOO>", "BAD_XML", 25),
        ("</OFX>\n", "", "BAD_XML", 25),
        ("<STMTRS>", "<INVSTMTRS>", "BAD_XML", 25),
    ],
)
def test_broken_sgml_is_rejected_with_code_and_line(old: str, new: str, code: str, line: int | None) -> None:
    assert old in SGML, old
    error = rejected(SGML.replace(old, new, 1))
    assert (error.code, error.where.line) == (code, line)


@pytest.mark.parametrize(
    ("old", "new", "code", "line"),
    [
        ("<OFX>\n", '<!DOCTYPE OFX [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<OFX>\n', "XML_ENTITIES", 3),
        ("</CCSTMTRS>", "</CCSTMTRS", "BAD_XML", 17),
        ("CCSTMTRS>", "INVSTMTRS>", "WRONG_KIND", None),
        ("<TRNAMT>-45.00</TRNAMT>", "<TRNAMT>-45.00</TRNAMT><TRNAMT>1</TRNAMT>", None, None),
    ],
)
def test_broken_xml_is_rejected(old: str, new: str, code: str | None, line: int | None) -> None:
    text = XML.replace(old, new, 2)
    if code is None:  # a repeated leaf: the first one counts, like the spec's single occurrence
        assert parse(text.encode())[0]["amount_minor"] == -4500
        return
    error = rejected(text.encode())
    assert (error.code, error.where.line) == (code, line)


@pytest.mark.parametrize(("data", "code"), [(b"", "EMPTY_FILE"), (b"Date,Amount\n", "WRONG_KIND"),
                                            (b"OFXHEADER:100\n\nno body", "WRONG_KIND"),
                                            (b"OFXHEADER:100\n\n<OFX></OFX>", "WRONG_KIND")])
def test_not_a_statement(data: bytes, code: str) -> None:
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
def test_mutated_statements_give_records_or_a_clear_error(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from([SGML.encode("cp1252"), XML.encode()])))
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at:at + data.draw(st.integers(0, 8))] = data.draw(st.binary(max_size=8))
    try:
        parse(bytes(raw))
    except InputRejected as exc:
        assert exc.code.isupper()
