"""Looking at bills: the archive is write-once and content-addressed, the raw bytes come back
verified, lines are numbered as the parser numbered them, and a line leads to its records."""

from __future__ import annotations

import gzip
import hashlib
import stat
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tally.errors import InputRejected, OperationFailed
from tally.ingest.models import Bill, Source
from tally.services import bills
from tally.services.importing import import_bill
from tally.services.workspace import archive
from tally.synthetic import Txn, wechat_bill

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 1, 10, 0)  # Beijing time, as WeChat writes it


def wechat_source(name: str = "wechat") -> Source:
    return Source.objects.create(name=name, kind="wechatpay", spec={"timezone": "Asia/Shanghai"})


def big_gzip_bill(count: int = 250) -> bytes:
    """A gzip WeChat bill: header, ``count`` payments (lines 2…count+1), totals header and totals."""
    txns = [Txn(f"A{n:04d}", 100 + n, AT + timedelta(seconds=n)) for n in range(1, count + 1)]
    return gzip.compress(wechat_bill(txns), mtime=0)


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_archive_blob_is_read_only_and_the_same_bytes_twice_keep_one_blob(samples: Path) -> None:
    wechat_source()
    data = (samples / "wechatpay" / "tradebill_ALL_20210128.csv.gz").read_bytes()
    first = import_bill(data, "wechat", file_name="tradebill_ALL_20210128.csv.gz")
    blob = archive().blob_path(first.bill.sha256)
    named = archive().named_path("wechat", first.bill.name)
    assert first.bill.name == "pay_wechat_20210128_01.csv.gz"
    assert blob.read_bytes() == data
    assert named.read_bytes() == data
    for path in (blob, named):
        assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, f"{path} is writable"
    assert named.stat().st_ino == blob.stat().st_ino  # one copy of the bytes, two names

    again = import_bill(data, "wechat", file_name="copy-of-the-same-file.csv.gz")
    assert again.already
    assert again.bill.pk == first.bill.pk
    blobs = files_under(archive().root / "blobs")
    assert blobs == [blob]
    assert files_under(archive().root / "named") == [named]
    assert Bill.objects.filter(sha256=first.bill.sha256).count() == 1


def test_the_same_bytes_for_two_sources_are_still_one_blob(samples: Path) -> None:
    wechat_source("wechat")
    wechat_source("wechat_hk")
    data = (samples / "wechatpay" / "tradebill_ALL_20210128.csv.gz").read_bytes()
    one = import_bill(data, "wechat", file_name="a.csv.gz").bill
    two = import_bill(data, "wechat_hk", file_name="a.csv.gz").bill
    assert one.pk != two.pk
    assert one.sha256 == two.sha256
    assert len(files_under(archive().root / "blobs")) == 1
    assert len(files_under(archive().root / "named")) == 2


def test_raw_file_gives_the_exact_bytes_verified(samples: Path) -> None:
    wechat_source()
    data = (samples / "wechatpay" / "tradebill_ALL_20210128.csv.gz").read_bytes()
    bill = import_bill(data, "wechat", file_name="bill.csv.gz").bill
    with bills.raw_file(bill) as handle:
        assert handle.read() == data
    assert hashlib.sha256(data).hexdigest() == bill.sha256


def test_raw_file_refuses_altered_missing_and_rejected_bytes(samples: Path) -> None:
    wechat_source()
    data = (samples / "wechatpay" / "tradebill_ALL_20210128.csv.gz").read_bytes()
    bill = import_bill(data, "wechat", file_name="bill.csv.gz").bill
    blob = archive().blob_path(bill.sha256)
    blob.chmod(0o644)
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(OperationFailed) as altered:
        bills.raw_file(bill)
    assert altered.value.code == "ARCHIVE_ALTERED"
    blob.unlink()
    with pytest.raises(OperationFailed) as missing:
        bills.raw_file(bill)
    assert missing.value.code == "ARCHIVE_MISSING"

    rejected = Bill.objects.create(source=bill.source, name="bad.csv", sha256="0" * 64, status="rejected",
                                   error_code="TOTALS_MISMATCH", error="error[TOTALS_MISMATCH]: x")
    with pytest.raises(OperationFailed) as refused:
        bills.raw_file(rejected)
    assert refused.value.code == "BILL_NOT_ARCHIVED"


def test_lines_are_numbered_as_records_and_paged_by_one_hundred() -> None:
    wechat_source()
    bill = import_bill(big_gzip_bill(250), "wechat", file_name="big.csv.gz").bill
    assert bill.rows == 250
    first = bills.line_page(bill, 1)
    assert (first.first, first.last, first.total) == (1, 100, 253)
    assert first.previous is None
    assert first.next == 101
    assert first.lines[0][0] == 1
    assert first.lines[0][1].startswith("交易时间,")
    assert first.lines[1] == (2, bills.raw_line(bill.sha256, 2))
    assert "`A0001," in first.lines[1][1]
    last = bills.line_page(bill, bills.page_start(253))
    assert (last.first, last.last, last.previous, last.next) == (201, 253, 101, None)
    assert last.lines[-1][1].startswith("`250,")  # the totals line: 总交易单数
    # Out of range asks are brought back into the bill.
    assert bills.line_page(bill, 999).first == 253
    assert bills.line_page(bill, 0).first == 1


@pytest.mark.parametrize(("line", "page"), [(1, 1), (100, 1), (101, 101), (200, 101), (201, 201), (0, 1)])
def test_page_start(line: int, page: int) -> None:
    assert bills.page_start(line) == page


def test_records_at_a_line_are_read_from_the_lake() -> None:
    wechat_source()
    bill = import_bill(big_gzip_bill(250), "wechat", file_name="big.csv.gz").bill
    (record,) = bills.records_at(bill, 151)
    assert record["order_no"] == "A0150"
    assert (record["amount_minor"], record["currency"], record["line_no"]) == (250, "CNY", 151)
    assert record["bill_sha256"] == bill.sha256
    assert record["business_day"] == date(2026, 11, 1)
    assert bills.records_at(bill, 1) == []      # the header
    assert bills.records_at(bill, 253) == []    # the totals
    assert bills.records_at(bill, 9999) == []


def test_records_of_a_bill_over_two_days_come_from_both_files() -> None:
    wechat_source()
    # 23:59 and 00:01 Beijing time: two business days, two Parquet files, one per day.
    late, early = datetime(2026, 11, 1, 23, 59), datetime(2026, 11, 2, 0, 1)
    bill = import_bill(wechat_bill([Txn("A1", 100, late), Txn("A2", 200, early)]), "wechat",
                       file_name="two.csv").bill
    assert bill.days == ["2026-11-01", "2026-11-02"]
    assert [r["order_no"] for r in bills.records_at(bill, 2)] == ["A1"]
    assert [r["order_no"] for r in bills.records_at(bill, 3)] == ["A2"]


def test_records_at_says_when_the_lake_lost_a_file() -> None:
    wechat_source()
    bill = import_bill(big_gzip_bill(3), "wechat", file_name="b.csv.gz").bill
    for path in (archive().root.parent / "lake").rglob("*.parquet"):
        path.unlink()
    with pytest.raises(OperationFailed) as caught:
        bills.records_at(bill, 2)
    assert caught.value.code == "LAKE_MISSING"


def test_a_rejected_import_keeps_its_error_in_parts(samples: Path) -> None:
    wechat_source()
    data = (samples / "wechatpay" / "tradebill_ALL_20210128.csv").read_bytes().replace(b"`3,`0.03", b"`4,`0.03")
    with pytest.raises(InputRejected):
        import_bill(data, "wechat", file_name="tradebill_ALL_20210128.csv")
    bill = Bill.objects.get(status="rejected")
    error = bills.error_of(bill)
    assert error is not None
    assert error.code == bill.error_code == "TOTALS_MISMATCH"
    assert (error.where.file, error.where.line) == ("tradebill_ALL_20210128.csv", 6)
    assert "4" in error.message
    assert "3" in error.message
    assert files_under(archive().root) == []  # nothing of a rejected bill is kept


def make_rejected(error: str, code: str = "BAD_AMOUNT", original: str = "dir/my bill (2).csv") -> Bill:
    source = Source.objects.get_or_create(name="shop", kind="table")[0]
    return Bill(source=source, name=original, original_name=original, sha256="1" * 64, status="rejected",
                error_code=code, error=error)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("error[BAD_AMOUNT]: amount '1.234' has too many decimals (in.csv:12, field 金额)\n  hint: fix it",
         ("BAD_AMOUNT", "amount '1.234' has too many decimals", "in.csv", 12, "金额", "fix it")),
        ("error[BAD_AMOUNT]: bad (/up/dir/my bill (2).csv)",
         ("BAD_AMOUNT", "bad", "/up/dir/my bill (2).csv", None, None, None)),
        ("error[BAD_AMOUNT]: bad (line 7)", ("BAD_AMOUNT", "bad", None, 7, None, None)),
        ("error[BAD_AMOUNT]: bad (field amount)", ("BAD_AMOUNT", "bad", None, None, "amount", None)),
        # The bill's own file name may hold parentheses.
        ("error[BAD_AMOUNT]: bad (x) (dir/my bill (2).csv:3, field a (b))",
         ("BAD_AMOUNT", "bad (x)", "dir/my bill (2).csv", 3, "a (b)", None)),
        ("error[BAD_AMOUNT]: bad (/in/c:/x.zip!in.csv:4)", ("BAD_AMOUNT", "bad", "/in/c:/x.zip!in.csv", 4, None, None)),
        # Parentheses that close the message are not a place.
        ("error[BAD_AMOUNT]: amount (too many decimals)",
         ("BAD_AMOUNT", "amount (too many decimals)", None, None, None, None)),
        ("something else went wrong", ("BAD_AMOUNT", "something else went wrong", None, None, None, None)),
    ],
)
def test_error_of_splits_what_tally_error_wrote(text: str, parts: tuple) -> None:
    error = bills.error_of(make_rejected(text))
    assert error is not None
    assert (error.code, error.message, error.where.file, error.where.line, error.where.field, error.hint) == parts
