"""apply_rules over a plan's open breaks: dry run, resolutions through the workflow (rule and
version recorded, audited), order, FX rates from the table, and the automatic pass after a run day."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest

from tally.breaks.models import Action, AuditEvent, Break, DayResult, FxRate, Plan
from tally.errors import InputRejected
from tally.ingest.models import Source
from tally.services.fxrates import import_rates
from tally.services.importing import import_bill
from tally.services.rules import apply_rules
from tally.services.running import run_plan

pytestmark = pytest.mark.django_db
DAY = dt.date(2024, 5, 1)
_seq = itertools.count(1)


def record(source: str, order_no: str, amount: int, **fields: Any) -> dict[str, Any]:
    return {"source": source, "business_day": DAY.isoformat(), "record_kind": "payment", "order_no": order_no,
            "refund_no": None, "amount_minor": amount, "fee_minor": 0, "discount_minor": 0, "currency": "CNY",
            "status": "SUCCESS", "bill_sha256": "ab" * 32, "line_no": next(_seq), **fields}


def make_plan(*rules: dict[str, Any], **spec: Any) -> Plan:
    return Plan.objects.create(name=f"plan-{next(_seq)}",
                               spec={"ours": "shop", "theirs": "wechat", "rules": list(rules), **spec})


def make_break(plan: Plan, ours: dict[str, Any] | None, theirs: dict[str, Any] | None, **fields: Any) -> Break:
    side = ours or theirs or {}
    values: dict[str, Any] = {
        "identity": f"id-{next(_seq)}", "day": DAY, "detected_on": DAY,
        "kind": "mismatch" if ours and theirs else "short" if ours else "long", "status": "open",
        "record_kind": "payment", "order_no": side["order_no"], "currency": side["currency"],
        "ours_amount_minor": (ours or {}).get("amount_minor"),
        "theirs_amount_minor": (theirs or {}).get("amount_minor"),
        "reason": "amount_mismatch", "ours": ours, "theirs": theirs, **fields}
    return Break.objects.create(plan=plan, **values)


def pair(plan: Plan, order_no: str, ours: int, theirs: int, **theirs_fields: Any) -> Break:
    return make_break(plan, record("shop", order_no, ours), record("wechat", order_no, theirs, **theirs_fields))


def test_dry_run_lists_what_would_be_resolved_and_changes_nothing() -> None:
    plan = make_plan({"rule": "rounding", "tolerance_minor": 1})
    near = pair(plan, "A", 1000, 999)
    pair(plan, "B", 1000, 998)  # two minor units: not explained
    result = apply_rules(plan.name, dry_run=True)
    assert result.examined == 2
    assert [o.brk.pk for o in result.resolved] == [near.pk]
    assert result.resolved[0].finding is not None
    assert result.resolved[0].finding.rule == "rounding"
    assert not result.resolved[0].applied
    assert set(Break.objects.values_list("status", flat=True)) == {"open"}
    assert not Action.objects.exists()


def test_apply_resolves_through_the_workflow_with_rule_and_version() -> None:
    plan = make_plan({"rule": "cross_day"}, {"rule": "fee", "rate_bp": 60}, {"rule": "rounding"})
    fee = pair(plan, "F", 9940, 10000, fee_minor=60)  # ours books the net of a 0.6 % fee
    late = make_break(plan, record("shop", "L", 1000), record("wechat", "L", 999, business_day="2024-05-02"))
    result = apply_rules(plan)
    assert {o.brk.pk: o.finding.rule for o in result.resolved if o.finding} == {fee.pk: "fee", late.pk: "rounding"}
    assert all(o.applied for o in result.resolved)
    fee.refresh_from_db()
    late.refresh_from_db()
    assert (fee.status, fee.resolution) == ("resolved", "rule:fee")
    assert fee.resolved_at is not None
    action = Action.objects.get(breaks=fee)
    assert (action.rule, action.rule_version, action.maker_id, action.state) == ("fee", "1", None, "applied")
    assert "60 bp" in action.reason
    # The cross-day note travels with the resolution of the break it was noted on.
    assert "paired across days" in Action.objects.get(breaks=late).reason
    assert AuditEvent.objects.filter(actor="rule:fee@1", action="apply").exists()


def test_first_rule_that_explains_wins_and_notes_alone_resolve_nothing() -> None:
    plan = make_plan({"rule": "cross_day"}, {"rule": "coupon"}, {"rule": "rounding", "tolerance_minor": 1000})
    coupon = pair(plan, "C", 9000, 10000, discount_minor=1000)
    only_note = make_break(plan, record("shop", "N", 1000), record("wechat", "N", 5000, business_day="2024-05-02"))
    result = apply_rules(plan, dry_run=True)
    assert [(o.brk.pk, o.finding.rule) for o in result.resolved if o.finding] == [(coupon.pk, "coupon")]
    assert [o.brk.pk for o in result.noted] == [only_note.pk]
    assert "2024-05-02" in result.noted[0].notes[0].text


def test_only_open_breaks_of_the_day_asked_for() -> None:
    plan = make_plan({"rule": "rounding"})
    make_break(plan, record("shop", "S1", 1000), record("wechat", "S1", 999), status="suspended")
    make_break(plan, record("shop", "S2", 1000), record("wechat", "S2", 999), status="pending_approval")
    other_day = make_break(plan, record("shop", "D", 1000, business_day="2024-05-03"),
                           record("wechat", "D", 999, business_day="2024-05-03"), day=dt.date(2024, 5, 3))
    result = apply_rules(plan, day=dt.date(2024, 5, 3))
    assert [o.brk.pk for o in result.resolved] == [other_day.pk]
    assert sorted(Break.objects.exclude(pk=other_day.pk).values_list("status", flat=True)) == [
        "pending_approval", "suspended"]


def test_a_plan_without_rules_examines_nothing() -> None:
    plan = make_plan()
    pair(plan, "A", 1000, 999)
    assert apply_rules(plan).examined == 0


def test_fx_reads_the_rate_table(tmp_path: Path) -> None:
    plan = make_plan({"rule": "fx", "tolerance_bp": 50})
    brk = pair(plan, "X", 72300, 10000, currency="USD")
    assert apply_rules(plan, dry_run=True).resolved == []  # no rate for the day yet
    rates = tmp_path / "rates.csv"
    rates.write_text("day,base,quote,rate\n2024-05-01,USD,CNY,7.2000\n2024-05-02,USD,CNY,7.1\n")
    imported = import_rates(rates)
    assert (imported.created, imported.updated, imported.unchanged) == (2, 0, 0)
    [outcome] = apply_rules(plan).resolved
    assert outcome.brk.pk == brk.pk
    assert outcome.applied
    assert "7.2" in outcome.finding.text if outcome.finding else False


def test_rates_import_is_all_or_nothing_with_the_line(tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("day,base,quote,rate\n2024-05-01,USD,CNY,7.2\n2024-05-02,USD,CNY,seven\n")
    with pytest.raises(InputRejected) as caught:
        import_rates(rates)
    assert caught.value.where.line == 3
    assert not FxRate.objects.exists()
    rates.write_text("day,base,quote,rate\n2024-05-01,USD,CNY,7.2\n2024-05-01,USD,CNY,-1\n")
    with pytest.raises(InputRejected) as bad:
        import_rates(rates)
    assert bad.value.code == "BAD_RATE"
    rates.write_text("day,base,quote,rate\n2024-05-01,USD,CNY,7.2\n")
    import_rates(rates)
    rates.write_text("day,base,quote,rate\n2024-05-01,USD,CNY,7.25\n2024-05-01,EUR,CNY,7.8\n")
    again = import_rates(rates)
    assert (again.created, again.updated) == (1, 1)
    assert FxRate.objects.get(base="USD").rate == "7.25"


# After each run day, by itself.

COLUMNS = {"order_no": "order_no", "amount_minor": "amount", "fee_minor": "fee", "occurred_at": "paid_at"}


def source(name: str) -> None:
    Source.objects.create(name=name, kind="table", spec={"kind": "table", "format": "csv", "currency": "CNY",
                                                         "timezone": "Asia/Shanghai", "columns": COLUMNS})


def bill(name: str, day: dt.date, *rows: tuple[str, str, str]) -> None:
    lines = ["order_no,amount,fee,paid_at"] + [f"{o},{a},{f},{day} 10:00:00" for o, a, f in rows]
    import_bill(("\n".join(lines) + "\n").encode(), name, file_name=f"{name}_{day:%Y%m%d}.csv", day=day)


def test_rules_run_after_each_day_and_cross_day_pairs_are_counted() -> None:
    source("shop")
    source("bank")
    Plan.objects.create(name="bank_vs_shop", spec={
        "ours": "shop", "theirs": "bank", "carry_over_days": 1,
        "rules": [{"rule": "cross_day"}, {"rule": "rounding", "tolerance_minor": 1}]})
    day2 = DAY + dt.timedelta(days=1)
    bill("shop", DAY, ("A1", "12.34", "0"), ("A2", "50.00", "0"), ("A3", "8.00", "0"))
    bill("bank", DAY, ("A1", "12.33", "0"), ("A3", "7.00", "0"))
    bill("shop", day2, ("B1", "1.00", "0"))
    bill("bank", day2, ("A2", "50.00", "0"), ("B1", "1.00", "0"))
    run_plan("bank_vs_shop", DAY, day2)
    a1 = Break.objects.get(order_no="A1")
    a3 = Break.objects.get(order_no="A3")
    assert a1.status == "resolved"
    assert Action.objects.get(breaks=a1).rule == "rounding"
    assert a3.status == "open"  # 1.00 apart: not rounding
    assert DayResult.objects.get(day=day2).cross_day == 1  # A2: ours day 1, bank day 2
    assert DayResult.objects.get(day=DAY).cross_day == 0
    cross = apply_rules("bank_vs_shop", dry_run=True).cross_day
    assert cross == [(day2, 1)]
