"""The day's statement: 应收/实收/手续费 from the lake, 长款/短款/错账 and 挂账 from breaks, statuses,
aging at the bucket edges, trends; and the exports (CSV/XLSX) with formula-like cells neutralized."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from tally.breaks.models import Break, DayResult, Plan, Run
from tally.ingest.models import Source
from tally.services import report_export, reports
from tally.services.importing import import_bill
from tally.services.running import run_plan

pytestmark = pytest.mark.django_db
DAY = dt.date(2024, 5, 10)
_seq = itertools.count(1)


def source(name: str) -> None:
    Source.objects.create(name=name, kind="table", spec={
        "kind": "table", "format": "csv", "currency": "CNY", "timezone": "Asia/Shanghai",
        "columns": {"order_no": "order_no", "amount_minor": "amount", "fee_minor": "fee", "occurred_at": "paid_at"}})


def bill(name: str, day: dt.date, *rows: tuple[str, str, str]) -> None:
    lines = ["order_no,amount,fee,paid_at"] + [f"{o},{a},{fee},{day} 10:00:00" for o, a, fee in rows]
    import_bill(("\n".join(lines) + "\n").encode(), name, file_name=f"{name}_{day}.csv", day=day)


def make_plan(name: str = "wechat_vs_shop") -> Plan:
    return Plan.objects.create(name=name, spec={"ours": "shop", "theirs": "wechat", "carry_over_days": 0})


def make_break(plan: Plan, day: dt.date, kind: str, ours: int | None, theirs: int | None, *,
               status: str = "open", resolved_at: dt.datetime | None = None, **fields: Any) -> Break:
    return Break.objects.create(
        plan=plan, identity=f"id-{next(_seq)}", day=day, detected_on=day, kind=kind, status=status,
        record_kind="payment", order_no=fields.pop("order_no", f"O{next(_seq)}"),
        currency=fields.pop("currency", "CNY"),
        ours_amount_minor=ours, theirs_amount_minor=theirs, reason="amount_mismatch", resolved_at=resolved_at, **fields)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_statement_from_the_lake_and_the_breaks() -> None:
    source("shop")
    source("wechat")
    make_plan()
    bill("shop", DAY, ("A", "100.00", "0"), ("B", "20.00", "0"), ("C", "5.00", "0"))
    bill("wechat", DAY, ("A", "100.00", "0.60"), ("B", "19.00", "0.11"), ("D", "7.00", "0.04"))
    run_plan("wechat_vs_shop", DAY, DAY)
    st = reports.statement("wechat_vs_shop", DAY)
    assert (st.channel, st.ours, st.matched) == ("wechat", "shop", 1)
    [line] = st.lines
    assert (line.currency, line.expected.count, line.expected.amount_minor) == ("CNY", 3, 12500)
    assert (line.received.count, line.received.amount_minor, line.fees_minor) == (3, 12600, 75)
    assert line.difference_minor == -100
    assert {k: (f.count, f.amount_minor) for k, f in line.kinds.items()} == {
        "long": (1, 700), "short": (1, 500), "mismatch": (1, 100)}
    assert (line.carried_in.count, line.carried_out.count, line.carried_out.amount_minor) == (0, 3, 1300)
    assert st.statuses["open"] == {"CNY": reports.Figure(3, 1300)}
    assert st.aging["0-1"] == {"CNY": reports.Figure(3, 1300)}


def test_carried_in_and_out_follow_resolution_dates() -> None:
    plan = make_plan()
    before = DAY - dt.timedelta(days=3)
    make_break(plan, before, "short", 1000, None)  # still open: carried in and out
    make_break(plan, before, "long", None, 200, status="resolved", resolved_at=at(DAY))  # settled during D
    make_break(plan, before, "long", None, 300, status="resolved", resolved_at=at(DAY - dt.timedelta(days=1)))
    make_break(plan, DAY, "mismatch", 500, 450, status="resolved", resolved_at=at(DAY + dt.timedelta(days=1)))
    make_break(plan, DAY + dt.timedelta(days=1), "short", 7, None)  # a later day: neither
    st = reports.statement(plan, DAY)
    [line] = st.lines
    assert (line.carried_in.count, line.carried_in.amount_minor) == (2, 1200)
    assert (line.carried_out.count, line.carried_out.amount_minor) == (2, 1050)
    assert st.statuses["resolved"] == {"CNY": reports.Figure(1, 50)}
    assert st.statuses["open"] == {}
    assert st.matched is None  # the day was not run


def test_a_day_processed_later_closes_when_its_run_ended() -> None:
    plan = make_plan()
    run = Run.objects.create(plan=plan, first_day=DAY, last_day=DAY, status="done", engine="duckdb",
                             finished_at=at(DAY + dt.timedelta(days=5)))
    DayResult.objects.create(plan=plan, day=DAY, run=run, short=2)
    make_break(plan, DAY, "short", 100, None, status="resolved", resolved_at=at(DAY + dt.timedelta(days=4)))
    make_break(plan, DAY, "short", 30, None, status="resolved", resolved_at=at(DAY + dt.timedelta(days=6)))
    [line] = reports.statement(plan, DAY).lines
    assert (line.carried_out.count, line.carried_out.amount_minor) == (1, 30)
    [next_day] = reports.statement(plan, DAY + dt.timedelta(days=1)).lines
    assert (next_day.carried_in.count, next_day.carried_in.amount_minor) == (1, 30)


@pytest.mark.parametrize(("age", "bucket"), [
    (0, "0-1"), (1, "0-1"), (2, "2-7"), (7, "2-7"), (8, "8-30"), (30, "8-30"), (31, ">30"), (400, ">30")])
def test_aging_bucket_edges(age: int, bucket: str) -> None:
    assert reports.age_bucket(age) == bucket
    plan = make_plan(f"p{age}")
    make_break(plan, DAY - dt.timedelta(days=age), "short", 100, None)
    assert reports.statement(plan, DAY).aging[bucket] == {"CNY": reports.Figure(1, 100)}


def test_currencies_are_never_added_together() -> None:
    plan = make_plan()
    make_break(plan, DAY, "short", 100, None)
    make_break(plan, DAY, "short", 300, None, currency="USD")
    st = reports.statement(plan, DAY)
    assert [(line.currency, line.kinds["short"].amount_minor) for line in st.lines] == [("CNY", 100), ("USD", 300)]


def test_trend_over_thirty_days_in_the_main_currency() -> None:
    plan = make_plan()
    make_break(plan, DAY, "long", None, 250)
    make_break(plan, DAY, "short", 100, None)
    make_break(plan, DAY - dt.timedelta(days=29), "mismatch", 100, 90)
    make_break(plan, DAY - dt.timedelta(days=30), "short", 999, None)  # outside the window
    currency, days = reports.trend(plan, DAY)
    assert currency == "CNY"
    assert len(days) == 30
    assert (days[0].day, days[0].mismatch_minor) == (DAY - dt.timedelta(days=29), 10)
    assert (days[-1].long_minor, days[-1].short_minor, days[-1].matched) == (250, 100, None)


def test_exports_neutralize_formula_like_cells(tmp_path: Path) -> None:
    plan = make_plan()
    make_break(plan, DAY, "short", 100, None, order_no="=HYPERLINK(\"http://x\")")
    make_break(plan, DAY, "long", None, 50, order_no="@SUM(A1)")
    st = reports.statement(plan, DAY)
    path = tmp_path / "r.csv"
    report_export.write_csv(st, path)
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    short = next(r for r in rows if r["item"] == "短款 short")
    assert (short["count"], short["amount"], short["amount_minor"]) == ("1", "1.00", "100")
    xlsx = tmp_path / "r.xlsx"
    report_export.write_xlsx(st, xlsx, report_export.breaks_of(plan.name, DAY))
    book = CalamineWorkbook.from_path(str(xlsx))
    listed = book.get_sheet_by_name("breaks").to_python()
    orders = sorted(row[listed[0].index("order_no")] for row in listed[1:])
    assert orders == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]
    statement = book.get_sheet_by_name("statement").to_python()
    assert any(row[:2] == ["statement", "长款 long"] for row in statement)


def test_json_and_text() -> None:
    plan = make_plan()
    make_break(plan, DAY, "short", 100, None)
    st = reports.statement(plan, DAY)
    data = report_export.as_json(st)
    assert data["currencies"]["CNY"]["short_minor"] == 100
    assert data["aging"]["0-1"] == {"CNY": {"count": 1, "amount_minor": 100}}
    assert "短款 short" in report_export.text(st)
