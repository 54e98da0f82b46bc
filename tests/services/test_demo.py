"""The demo scenario end to end: exact counts per day, breaks as planted, idempotent re-runs."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tally.breaks.models import Break, DayResult
from tally.ingest.models import Bill
from tally.services import demo
from tally.services.importing import import_bill
from tally.services.running import run_plan

pytestmark = pytest.mark.django_db

EXPECTED = {
    # day: (matched, pending, short, long, mismatch)
    date(2026, 11, 1): (22, 3, 0, 0, 1),
    date(2026, 11, 2): (23, 2, 1, 1, 0),
    date(2026, 11, 3): (22, 0, 1, 1, 0),
}
PLANTED = {
    ("mismatch", "payment", "MISMATCH-0001", "", date(2026, 11, 1), date(2026, 11, 1), 10000, 9900),
    ("short", "payment", "SHORT-0001", "", date(2026, 11, 1), date(2026, 11, 2), 4200, None),
    ("long", "refund", "D202611010005", "RL-0001", date(2026, 11, 1), date(2026, 11, 2), None, -1000),
    ("long", "payment", "LONG-0001", "", date(2026, 11, 2), date(2026, 11, 3), None, 6600),
    ("short", "refund", "D202611020005", "RS-0001", date(2026, 11, 2), date(2026, 11, 3), -1500, None),
}


def counts() -> dict[date, tuple[int, ...]]:
    return {r.day: (r.matched, r.pending, r.short, r.long, r.mismatch) for r in DayResult.objects.all()}


def breaks() -> set[tuple]:
    return {(b.kind, b.record_kind, b.order_no, b.refund_no, b.day, b.detected_on, b.ours_amount_minor,
             b.theirs_amount_minor) for b in Break.objects.all()}


def test_demo_gives_exact_counts_per_day_and_the_planted_breaks() -> None:
    outcomes = demo.build(3)
    assert [(o.day, o.matched, o.pending) for o in outcomes] == [(d, c[0], c[1]) for d, c in EXPECTED.items()]
    assert counts() == EXPECTED
    assert breaks() == PLANTED
    assert set(Break.objects.values_list("status", flat=True)) == {"open"}


def test_rerunning_days_keeps_the_same_breaks_not_duplicates() -> None:
    demo.build(3)
    before = dict(Break.objects.values_list("identity", "pk"))
    run_plan(demo.PLAN, date(2026, 11, 2), date(2026, 11, 3))  # catch-up from day 2
    run_plan(demo.PLAN, date(2026, 11, 1), date(2026, 11, 3))
    assert dict(Break.objects.values_list("identity", "pk")) == before
    assert counts() == EXPECTED


def test_building_the_demo_twice_imports_nothing_new() -> None:
    demo.build(3)
    bills = list(Bill.objects.values_list("name", "sha256"))
    demo.build(3)
    assert list(Bill.objects.values_list("name", "sha256")) == bills
    assert breaks() == PLANTED


def test_reimporting_the_same_bytes_is_one_bill(tally_home) -> None:
    demo.build(3)
    data = (tally_home / "demo" / "bills" / "wechat_tradebill_ALL_20261101.csv").read_bytes()
    again = import_bill(data, "wechat", file_name="copy.csv")
    assert again.already
    assert again.bill.name == "pay_wechat_20261101_01.csv"
    assert Bill.objects.filter(source__name="wechat").count() == 3


def test_archive_keeps_the_raw_bytes_under_the_standard_name(tally_home) -> None:
    demo.build(3)
    bill = Bill.objects.get(name="pay_wechat_20261102_01.csv")
    named = tally_home / "archive" / "named" / "wechat" / bill.name
    assert named.read_bytes() == (tally_home / "demo" / "bills" / "wechat_tradebill_ALL_20261102.csv").read_bytes()
    assert not named.stat().st_mode & 0o222  # write-once: read-only


def test_running_from_a_past_day_catches_up_every_later_day(capsys) -> None:
    from tally.cli import main

    demo.build(3)
    assert main(["run", demo.PLAN, "--from", "2026-11-02", "--json"]) == 0
    days = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["day"], d["matched"], d["pending"]) for d in days] == [("2026-11-02", 23, 2), ("2026-11-03", 22, 0)]
    assert counts() == EXPECTED
