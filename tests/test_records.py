"""The normalized record's Arrow helpers."""

from datetime import UTC, date, datetime

import pyarrow as pa

from tally.records import SCHEMA, as_rows


def test_as_rows_gives_what_pyarrow_gives_dates_times_and_missing_values_included() -> None:
    table = pa.Table.from_pylist([
        {"source": "alipay", "business_day": date(2026, 11, 1), "record_kind": "payment", "order_no": "O1",
         "refund_no": None, "channel_txn_id": None, "amount_minor": -9_007_199_254_740_993, "fee_minor": 0,
         "discount_minor": 0, "currency": "CNY", "occurred_at": datetime(2026, 10, 31, 16, 0, 0, 123456, tzinfo=UTC),
         "status": None, "item": None, "quantity": None, "bill_sha256": "a" * 64, "line_no": 2},
        {"source": "alipay", "business_day": date(1900, 1, 1), "record_kind": "refund", "order_no": None,
         "refund_no": "R1", "channel_txn_id": "T", "amount_minor": 1, "fee_minor": 2, "discount_minor": 3,
         "currency": "JPY", "occurred_at": None, "status": "SUCCESS", "item": "sku", "quantity": 4,
         "bill_sha256": "b" * 64, "line_no": 3},
    ], schema=SCHEMA)

    rows = as_rows(table)

    assert rows == table.to_pylist()
    assert rows[0]["occurred_at"].utcoffset().total_seconds() == 0
    assert rows[0]["amount_minor"] == -9_007_199_254_740_993  # past float's exact integers: never through a float
    assert [type(row["business_day"]) for row in rows] == [date, date]


def test_as_rows_of_no_rows_is_empty() -> None:
    assert as_rows(SCHEMA.empty_table()) == []
