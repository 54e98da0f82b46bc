"""import_path: a bill imported straight from its file is the same bill as its bytes imported."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tally.errors import InputRejected
from tally.ingest.models import Bill, Source
from tally.services.importing import import_bill, import_path
from tally.services.workspace import archive
from tally.synthetic import Txn, wechat_bill

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 11, 1, 10, 0)


def bill(count: int) -> bytes:
    return gzip.compress(wechat_bill([Txn(f"A{i}", 100 + i, DAY + timedelta(seconds=i)) for i in range(count)]))


def test_a_gzip_bill_from_a_file_is_archived_whole_and_normalized(tmp_path: Path, tally_home: Path) -> None:
    Source.objects.create(name="wechat", kind="wechatpay", spec={"timezone": "Asia/Shanghai"})
    data = bill(2000)
    path = tmp_path / "wx.csv.gz"
    path.write_bytes(data)
    done = import_path(path, "wechat")
    assert (done.already, done.bill.name, done.bill.rows, done.bill.size_bytes) == (
        False, "pay_wechat_20261101_01.csv.gz", 2000, len(data))
    assert archive().get(done.bill.sha256) == data
    (parquet,) = (tally_home / "lake").rglob("*.parquet")
    assert pq.read_table(parquet).column("line_no").to_pylist() == list(range(2, 2002))
    assert import_bill(data, "wechat", file_name="again.csv.gz").already


def test_a_broken_bill_from_a_file_keeps_nothing(tmp_path: Path, tally_home: Path) -> None:
    Source.objects.create(name="wechat", kind="wechatpay", spec={"timezone": "Asia/Shanghai"})
    path = tmp_path / "wx.csv"
    path.write_bytes(wechat_bill([Txn("A1", 100, DAY)]).replace(b"`1.00,", b"`1.001,", 1))
    with pytest.raises(InputRejected) as caught:
        import_path(path, "wechat")
    assert (caught.value.code, caught.value.where.file, caught.value.where.line) == ("AMOUNT_PRECISION", str(path), 2)
    assert Bill.objects.get().status == "rejected"
    assert not list(tally_home.rglob("*.parquet"))
    assert not (tally_home / "archive").exists() or not [p for p in (tally_home / "archive").rglob("*") if p.is_file()]


def test_a_channel_that_does_not_stream_reads_the_file_whole(tmp_path: Path) -> None:
    Source.objects.create(name="shop", kind="table", spec={
        "kind": "table", "format": "csv", "currency": "CNY", "timezone": "Asia/Shanghai",
        "columns": {"order_no": "order_no", "amount_minor": "amount", "occurred_at": "paid_at"}})
    path = tmp_path / "shop_20261101.csv"
    path.write_bytes(b"order_no,amount,paid_at\nA1,12.34,2026-11-01 10:00:00\n")
    assert import_path(path, "shop").bill.rows == 1
