"""Scanning a real inbox folder: imported files go to done/, rejected ones to rejected/ with their error."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tally.ingest.models import Bill, FetchAttempt
from tally.services.inbox import scan

from .factories import csv_bill, table_source

pytestmark = pytest.mark.django_db
DAY = date(2024, 8, 20)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    table_source("drop", {"transport": "inbox", "path": str(path), "pattern": "bank_{yyyymmdd}.csv",
                          "min_age_s": 0})
    return path


def test_good_files_go_to_done_and_bad_ones_to_rejected_with_the_error(folder: Path) -> None:
    (folder / "bank_20240820.csv").write_bytes(csv_bill(DAY, ("A1", "12.34")))
    (folder / "bank_20240821.csv").write_bytes(csv_bill(date(2024, 8, 21), ("A2", "1.2.3")))
    (folder / "notes.txt").write_text("not a bill")
    results = scan("drop")
    assert [(r.file, r.outcome) for r in results] == [("bank_20240820.csv", "imported"),
                                                      ("bank_20240821.csv", "rejected")]
    assert (folder / "done" / "bank_20240820.csv").exists()
    assert (folder / "rejected" / "bank_20240821.csv").exists()
    error = (folder / "rejected" / "bank_20240821.csv.error.txt").read_text()
    assert error.startswith("error[BAD_AMOUNT]")
    assert "bank_20240821.csv" in error
    assert sorted(p.name for p in folder.iterdir()) == ["done", "notes.txt", "rejected"]

    bill = Bill.objects.get(status="imported")
    assert (bill.business_day, bill.rows, bill.original_name) == (DAY, 1, "bank_20240820.csv")
    attempts = {(a.business_day, a.outcome, a.transport) for a in FetchAttempt.objects.all()}
    assert attempts == {(DAY, "imported", "inbox"), (date(2024, 8, 21), "rejected", "inbox")}
    assert scan("drop") == []


def test_the_same_bytes_again_are_one_bill(folder: Path) -> None:
    data = csv_bill(DAY, ("A1", "12.34"))
    (folder / "bank_20240820.csv").write_bytes(data)
    scan("drop")
    (folder / "bank_20240820.csv").write_bytes(data)
    [again] = scan("drop")
    assert again.outcome == "already"
    assert again.moved_to == folder / "done" / "bank_20240820.1.csv"
    assert Bill.objects.filter(status="imported").count() == 1
