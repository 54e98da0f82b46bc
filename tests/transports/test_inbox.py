"""File name patterns with day placeholders, and the inbox folder transport (real folders)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from tally.errors import ConfigError
from tally.transports import get, inbox
from tally.transports.base import Outcome
from tally.transports.pattern import compile_pattern

DAY = date(2024, 8, 20)


@pytest.mark.parametrize(("pattern", "name", "day"), [
    ("STL-{yyyymmdd}.*.CSV", "STL-20240820.01.009.CSV", DAY),
    ("STL-{yyyymmdd}.*.CSV", "STL-20240820.CSV", False),  # `.*.` needs two dots
    ("STL-{yyyymmdd}.*.CSV", "TRR-20240820.01.009.CSV", False),
    ("STL-{yyyymmdd}.*.CSV", "STL-20241399.01.009.CSV", False),  # no such day
    ("stmt_{yyyy-mm-dd}.xml", "stmt_2024-08-20.xml", DAY),
    ("stmt_{yyyy-mm-dd}.xml", "stmt_20240820.xml", False),
    ("*.csv", "anything.csv", None),
    ("?.csv", "ab.csv", False),
    ("a+b[1].csv", "a+b[1].csv", None),  # regex characters are literal
])
def test_pattern_day_of(pattern: str, name: str, day: object) -> None:
    assert compile_pattern(pattern).day_of(name) == day


def test_a_pattern_without_placeholder_selects_by_a_date_in_the_name() -> None:
    pattern = compile_pattern("*.csv")
    assert pattern.selects("bill_20240820.csv", DAY)
    assert pattern.selects("bill-2024-08-20.csv", DAY)
    assert not pattern.selects("bill_20240821.csv", DAY)
    assert not pattern.selects("bill.csv", DAY)


@pytest.mark.parametrize("text", ["STL-{yyyymm}.CSV", "out/STL-{yyyymmdd}.CSV", ""])
def test_bad_patterns_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError) as raised:
        compile_pattern(text)
    assert raised.value.code == "BAD_PATTERN"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    for name, data in [("bank_20240820.csv", b"a"), ("bank_20240819.csv", b"b"), (".hidden.csv", b"c"),
                       ("bank_20240820.csv.part", b"d"), ("readme.txt", b"e")]:
        (path / name).write_bytes(data)
    (path / "done").mkdir()
    return path


def test_waiting_files_skip_hidden_partial_unmatched_and_fresh_ones(folder: Path) -> None:
    settings = {"path": str(folder), "pattern": "bank_{yyyymmdd}.csv", "min_age_s": 0}
    assert [(f.name, f.day) for f in inbox.waiting(settings)] == [
        ("bank_20240819.csv", date(2024, 8, 19)), ("bank_20240820.csv", DAY)]
    written = os.stat(folder / "bank_20240820.csv").st_mtime
    os.utime(folder / "bank_20240819.csv", (written - 60, written - 60))
    fresh = written + 5
    assert [f.name for f in inbox.waiting({**settings, "min_age_s": 10}, now=fresh)] == ["bank_20240819.csv"]


def test_settle_moves_to_done_or_rejected_with_the_error_beside_it(folder: Path) -> None:
    settings = {"path": str(folder), "pattern": "bank_{yyyymmdd}.csv", "min_age_s": 0}
    first, second = inbox.waiting(settings)
    assert inbox.settle(first) == folder / "done" / "bank_20240819.csv"
    moved = inbox.settle(second, error="error[TOTALS_MISMATCH]: the rows add up to 3 (bank_20240820.csv:9)")
    assert moved == folder / "rejected" / "bank_20240820.csv"
    assert (folder / "rejected" / "bank_20240820.csv.error.txt").read_text().startswith("error[TOTALS_MISMATCH]")
    assert [f.name for f in inbox.waiting(settings)] == []
    (folder / "bank_20240819.csv").write_bytes(b"sent again")
    [again] = inbox.waiting(settings)
    assert inbox.settle(again) == folder / "done" / "bank_20240819.1.csv"


def test_fetch_reads_the_days_files_and_leaves_them(folder: Path) -> None:
    settings = {"path": str(folder), "pattern": "bank_{yyyymmdd}.csv", "min_age_s": 0}
    [answer] = get("inbox").fetch("bank", settings, DAY)
    assert (answer.outcome, answer.file_name, answer.data) == (Outcome.FETCHED, "bank_20240820.csv", b"a")
    assert (folder / "bank_20240820.csv").exists()
    [none] = get("inbox").fetch("bank", settings, date(2024, 8, 21))
    assert none.outcome == Outcome.NOT_READY


def test_a_missing_inbox_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        get("inbox").fetch("bank", {"path": str(tmp_path / "nowhere")}, DAY)
    assert raised.value.code == "INBOX_NOT_FOUND"
