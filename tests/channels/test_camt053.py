"""camt.053: hand-written statements (no public sample may be copied), batches, reversals, totals, any bytes."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.channels import ParseContext, get
from tally.errors import InputRejected
from tally.records import SCHEMA

DATA = Path(__file__).resolve().parents[1] / "corpus" / "good" / "camt053"
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "bad" / "camt053"
V02 = (DATA / "stmt_v02_batch_reversal_fee.xml").read_text()
V08 = (DATA / "stmt_v08_two_accounts.xml").read_text()
CTX = ParseContext(source="bank", options={"timezone": "Europe/Berlin"}, bill_sha256="c" * 64, file_name="s.xml")


def parse(data: bytes | str, ctx: ParseContext = CTX) -> list[dict]:
    raw = data.encode() if isinstance(data, str) else data
    return pa.Table.from_batches(list(get("camt053").parse(raw, ctx)), schema=SCHEMA).to_pylist()


def line_of(text: str, marker: str, start: str = "") -> int:
    """1-based line of the first ``marker`` after ``start``."""
    offset = text.index(start) if start else 0
    return text[: text.index(marker, offset)].count("\n") + 1


def record(**fields: object) -> dict:
    base = {"source": "bank", "business_day": date(2026, 3, 3), "refund_no": None, "fee_minor": 0,
            "discount_minor": 0, "occurred_at": None, "status": "BOOK", "item": None, "quantity": None,
            "bill_sha256": "c" * 64}
    return base | fields


def test_v02_statement_gives_batch_lines_reversal_and_fee() -> None:
    records = parse(V02)
    assert len(records) == 6
    assert records[0] == record(record_kind="other", order_no="INV-2026-0117", channel_txn_id="2026030300017714",
                                amount_minor=-75425, currency="EUR", line_no=line_of(V02, "<TxDtls>"))
    assert [(r["order_no"], r["amount_minor"], r["channel_txn_id"]) for r in records[1:4]] == [
        ("ORD-20260302-0001", 50000, "2026030300017802-1"),
        ("ORD-20260302-0002", 45000, "2026030300017802-2"),
        (None, 30000, "2026030300017802-3"),  # EndToEndId NOTPROVIDED is no reference
    ]
    reversal = records[4]
    assert (reversal["record_kind"], reversal["amount_minor"], reversal["order_no"]) == ("adjustment", 12000,
                                                                                        "INV-2026-0098")
    assert records[-1] == record(record_kind="fee", order_no=None, channel_txn_id="2026030300019001",
                                 amount_minor=-250, currency="EUR", line_no=line_of(V02, '<Amt Ccy="EUR">2.50') - 1)
    assert sum(r["amount_minor"] for r in records) == 61325  # closing 10613.25 - opening 10000.00


def test_v08_statements_in_two_currencies() -> None:
    records = parse(V08)
    assert [(r["currency"], r["amount_minor"], r["record_kind"]) for r in records] == [
        ("EUR", 300000, "other"), ("EUR", -1500, "fee"),
        ("JPY", 100000, "other"), ("JPY", 25000, "other"), ("JPY", -30000, "other"),
    ]
    first = records[0]
    assert first == record(record_kind="other", order_no="ORD-1001", channel_txn_id="ABN-0303-000311",
                           amount_minor=300000, currency="EUR", occurred_at=datetime(2026, 3, 3, 8, 15, tzinfo=UTC),
                           line_no=line_of(V08, "<TxDtls>"))
    assert records[-1] == record(record_kind="other", order_no="PAYOUT-7", channel_txn_id="MUFG-20260303-91",
                                 amount_minor=-30000, currency="JPY",
                                 line_no=line_of(V08, "<TxDtls>", "MUFG-20260303-91"))


def test_lines_are_the_ones_records_point_at() -> None:
    lines = get("camt053").lines(V02.encode(), CTX)
    for rec in parse(V02):
        assert lines[rec["line_no"] - 1].strip() in ("<TxDtls>", "<Ntry>")
    assert get("camt053").extension(b"", CTX) == "xml"
    assert get("camt053").category == "stmt"


def statement(entries: str, opening: str = "100.00", closing: str = "100.00", summary: str = "") -> str:
    return f"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr>
<Stmt><Id>S</Id>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
{summary}{entries}
</Stmt></BkToCstmrStmt></Document>
"""


def entry(amount: str, cdi: str, extra: str = "", details: str = "", status: str = "BOOK",
          booked: str = "<BookgDt><Dt>2026-03-05</Dt></BookgDt>") -> str:
    return (f"<Ntry>\n<Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>{cdi}</CdtDbtInd>{extra}<Sts>{status}</Sts>{booked}"
            f"<AcctSvcrRef>R{amount}</AcctSvcrRef>{details}</Ntry>")


def test_reversal_written_with_the_original_direction_needs_the_source_option() -> None:
    doc = statement(entry("30.00", "DBIT") + entry("30.00", "DBIT", "<RvslInd>true</RvslInd>"), closing="100.00")
    with pytest.raises(InputRejected) as caught:
        parse(doc)
    assert caught.value.code == "TOTALS_MISMATCH"
    assert "reversal_sign" in (caught.value.hint or "")
    inverted = ParseContext(source="bank", options={"reversal_sign": "inverted"}, bill_sha256="c" * 64,
                            file_name="s.xml")
    debit, reversal = parse(doc, inverted)
    assert (debit["amount_minor"], debit["record_kind"]) == (-3000, "other")
    assert (reversal["amount_minor"], reversal["record_kind"]) == (3000, "adjustment")


def test_pending_entries_are_records_but_not_in_the_booked_balance() -> None:
    pending = entry("7.00", "CRDT", status="PDNG", booked="<ValDt><Dt>2026-03-06</Dt></ValDt>")
    booked, waiting = parse(statement(entry("5.00", "CRDT") + pending, closing="105.00"))
    assert (booked["status"], booked["business_day"]) == ("BOOK", date(2026, 3, 5))
    assert (waiting["status"], waiting["business_day"], waiting["amount_minor"]) == ("PDNG", date(2026, 3, 6), 700)


def test_batch_without_amounts_per_transaction_is_one_record() -> None:
    details = ("<NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch><TxDtls><Refs><EndToEndId>A</EndToEndId></Refs></TxDtls>"
               "<TxDtls><Refs><EndToEndId>B</EndToEndId></Refs></TxDtls></NtryDtls>")
    doc = statement(entry("40.00", "CRDT", details=details), closing="140.00")
    (only,) = parse(doc)
    assert (only["amount_minor"], only["order_no"], only["channel_txn_id"]) == (4000, None, "R40.00")
    assert only["line_no"] == line_of(doc, "<Ntry>")


def test_fee_and_return_codes_on_transactions() -> None:
    details = ("<NtryDtls><TxDtls><Refs><EndToEndId>X</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy=\"EUR\">3.00</Amt>"
               "</TxAmt></AmtDtls><RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls></NtryDtls>")
    fee = "<BkTxCd><Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>FEES</SubFmlyCd></Fmly></Domn></BkTxCd>"
    returned, charge = parse(statement(entry("3.00", "DBIT", details=details) + entry("1.00", "DBIT", fee),
                                       closing="96.00"))
    assert (returned["record_kind"], returned["order_no"]) == ("adjustment", "X")
    assert charge["record_kind"] == "fee"


def test_summary_counts_sums_and_net_are_checked() -> None:
    summary = ("<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><Sum>8.00</Sum><TtlNetNtry><Amt>2.00</Amt>"
               "<CdtDbtInd>CRDT</CdtDbtInd></TtlNetNtry></TtlNtries><TtlCdtNtries><NbOfNtries>1</NbOfNtries>"
               "<Sum>5.00</Sum></TtlCdtNtries><TtlDbtNtries><NbOfNtries>1</NbOfNtries><Sum>3.00</Sum></TtlDbtNtries>"
               "</TxsSummry>")
    good = statement(entry("5.00", "CRDT") + entry("3.00", "DBIT"), closing="102.00", summary=summary)
    assert len(parse(good)) == 2
    for right, wrong in (("<Sum>8.00<", "<Sum>8.01<"), ("<Amt>2.00<", "<Amt>2.01<"),
                         ("<NbOfNtries>2<", "<NbOfNtries>3<"), ("<Sum>3.00<", "<Sum>3.50<")):
        with pytest.raises(InputRejected) as caught:
            parse(good.replace(right, wrong, 1))
        assert caught.value.code == "TOTALS_MISMATCH"


def edit(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    def apply(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)
    return apply


@pytest.mark.parametrize(
    ("change", "code", "marker"),
    [
        (edit(">10613.25<", ">10613.26<"), "TOTALS_MISMATCH", ("<Bal>", "OPBD")),
        (edit(">450.00<", ">451.00<"), "TOTALS_MISMATCH", ("<Ntry>", "2026030300017714")),
        (edit("<NbOfTxs>3<", "<NbOfTxs>4<"), "TOTALS_MISMATCH", "<NbOfTxs>"),
        (edit('<TtlAmt Ccy="EUR">1250.00', '<TtlAmt Ccy="EUR">1250.50'), "TOTALS_MISMATCH", "<TtlAmt"),
        (edit("<NbOfNtries>4<", "<NbOfNtries>5<"), "TOTALS_MISMATCH", "<TtlNtries>"),
        (edit("<Sum>1370.00<", "<Sum>1370.10<"), "TOTALS_MISMATCH", "<TtlCdtNtries>"),
        (edit("<TtlNetNtryAmt>613.25<", "<TtlNetNtryAmt>613.20<"), "TOTALS_MISMATCH", "<TtlNtries>"),
        (edit('<TxAmt><Amt Ccy="EUR">754.25', '<TxAmt><Amt Ccy="EUR">754.20'), "TOTALS_MISMATCH", "<TxDtls>"),
        (edit("<Cd>CLBD</Cd>", "<Cd>CLSG</Cd>"), "MISSING_TOTALS", "<Stmt>"),
        (edit("<Cd>CLAV</Cd>", "<Cd>OPBD</Cd>"), "BAD_VALUE", ("<Bal>", "<Cd>CLBD")),
        (edit(">754.25<", ">754.255<"), "AMOUNT_PRECISION", "754.25"),
        (edit(">754.25<", ">-754.25<"), "BAD_AMOUNT", "754.25"),
        (edit(">754.25<", ">7.5e2<"), "BAD_AMOUNT", ">7.5e2<"),
        (edit(">DBIT<", ">DEBIT<"), "BAD_VALUE", "<Ntry>"),
        (edit('Ccy="EUR">754.25', 'Ccy="USD">754.25'), "BAD_CURRENCY", "754.25"),
        (edit('Ccy="EUR">754.25', 'Ccy="EURO">754.25'), "BAD_CURRENCY", "754.25"),
        (edit("<BookgDt><Dt>2026-03-03", "<BookgDt><Dt>2026-02-30"), "BAD_DATE", "<BookgDt>"),
        (edit("<BookgDt><Dt>2026-03-03</Dt></BookgDt>", ""), "BAD_DATE", "<Ntry>"),
        (edit("BkToCstmrStmt>", "BkToCstmrAcctRpt>", 2), "WRONG_KIND", "<BkToCstmr"),
        (edit("Document", "Doc", 2), "WRONG_KIND", "<Doc"),
        (lambda t: t[: t.index("<Ntry>")], "BAD_XML", None),
        (lambda t: t.replace("<Document", "<!DOCTYPE Document>\n<Document", 1), "XML_ENTITIES", "<!DOCTYPE"),
    ],
)
def test_broken_statements_are_rejected_with_code_and_line(change, code: str, marker) -> None:
    text = change(V02)
    with pytest.raises(InputRejected) as caught:
        parse(text)
    assert caught.value.code == code
    assert caught.value.where.file == "s.xml"
    if marker is not None:  # the error's line is the first `marker` (after `start` when a pair is given)
        assert caught.value.where.line == line_of(text, *((marker, "") if isinstance(marker, str) else marker))


def test_a_document_without_statements_is_refused() -> None:
    with pytest.raises(InputRejected) as caught:
        parse('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr/>'
              "</BkToCstmrStmt></Document>")
    assert caught.value.code == "MISSING_TOTALS"


def test_jpy_amounts_with_decimals_are_refused() -> None:
    with pytest.raises(InputRejected) as caught:
        parse(V08.replace('<Amt Ccy="JPY">30000</Amt>', '<Amt Ccy="JPY">30000.5</Amt>', 1))
    assert caught.value.code == "AMOUNT_PRECISION"


MANIFEST = tomllib.loads((CORPUS / "MANIFEST.toml").read_text())


@pytest.mark.parametrize(("name", "code"), sorted(MANIFEST.items()))
def test_bad_corpus_file_gives_its_code(name: str, code: str) -> None:
    with pytest.raises(InputRejected) as caught:
        parse((CORPUS / name).read_bytes())
    assert caught.value.code == code


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
    raw = bytearray(V02.encode())
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at:at + data.draw(st.integers(0, 8))] = data.draw(st.binary(max_size=8))
    try:
        parse(bytes(raw))
    except InputRejected as exc:
        assert exc.code.isupper()
