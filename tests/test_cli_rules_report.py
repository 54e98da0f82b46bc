"""`tally rules apply`, `tally rates import` and `tally report` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from tally.breaks.models import Break
from tally.cli import main

pytestmark = pytest.mark.django_db

TOML = """
[sources.shop]
kind = "table"
format = "csv"
currency = "CNY"
timezone = "Asia/Shanghai"
[sources.shop.columns]
order_no = "order_no"
amount_minor = "amount"
fee_minor = "fee"
currency = "currency"
occurred_at = "paid_at"

[sources.psp]
kind = "table"
format = "csv"
currency = "CNY"
timezone = "Asia/Shanghai"
[sources.psp.columns]
order_no = "order_no"
amount_minor = "amount"
fee_minor = "fee"
currency = "currency"
occurred_at = "paid_at"

[plans.psp_vs_shop]
ours = "shop"
theirs = "psp"
carry_over_days = 0
[[plans.psp_vs_shop.rules]]
rule = "fee"
rate_bp = 60
[[plans.psp_vs_shop.rules]]
rule = "fx"
tolerance_bp = 50
"""


def csv_file(path: Path, *rows: tuple[str, str, str, str]) -> Path:
    lines = ["order_no,amount,fee,currency,paid_at"] + [f"{o},{a},{f},{c},2024-05-01 10:00:00" for o, a, f, c in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_rules_rates_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plans.toml").write_text(TOML)
    assert main(["apply", str(tmp_path / "plans.toml")]) == 0
    csv_file(tmp_path / "shop.csv", ("A", "99.40", "0", "CNY"), ("B", "720.00", "0", "CNY"), ("C", "5.00", "0", "CNY"))
    csv_file(tmp_path / "psp.csv", ("A", "100.00", "0.60", "CNY"), ("B", "100.00", "0", "USD"),
             ("C", "4.00", "0", "CNY"))
    assert main(["import", str(tmp_path / "shop.csv"), "--source", "shop", "--day", "2024-05-01"]) == 0
    assert main(["import", str(tmp_path / "psp.csv"), "--source", "psp", "--day", "2024-05-01"]) == 0
    assert main(["run", "psp_vs_shop", "--from", "2024-05-01"]) == 0
    # The run applied the rules by itself: A (fee) resolved; B has no rate yet; C is a real break.
    assert Break.objects.get(order_no="A").status == "resolved"
    assert set(Break.objects.exclude(order_no="A").values_list("status", flat=True)) == {"open"}
    capsys.readouterr()

    (tmp_path / "rates.csv").write_text("day,base,quote,rate\n2024-05-01,USD,CNY,7.2\n")
    assert main(["rates", "import", str(tmp_path / "rates.csv")]) == 0
    assert "1 new" in capsys.readouterr().out

    assert main(["rules", "apply", "psp_vs_shop", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert [(r["order_no"], r["rule"], r["rule_version"], r["applied"]) for r in dry["resolved"]] == [
        ("B", "fx", 1, False)]
    assert Break.objects.get(order_no="B").status == "open"

    assert main(["rules", "apply", "psp_vs_shop", "--day", "2024-05-01"]) == 0
    out = capsys.readouterr().out
    assert "psp_vs_shop: 1 of 2 open break(s) resolved" in out
    assert "fx@1" in out
    assert Break.objects.get(order_no="B").status == "resolved"

    xlsx = tmp_path / "report.xlsx"
    assert main(["report", "--plan", "psp_vs_shop", "--day", "2024-05-01", "--json", "--xlsx", str(xlsx)]) == 0
    report = json.loads(capsys.readouterr().out)
    cny = report["currencies"]["CNY"]
    assert (cny["expected_minor"], cny["received_minor"], cny["fees_minor"]) == (82440, 10400, 60)
    assert report["currencies"]["USD"]["received_minor"] == 10000
    # A was resolved by the run (its rules); B only later, by hand: B and C are carried out of the day.
    assert (cny["mismatch_count"], cny["carried_out_count"]) == (3, 2)
    assert report["statuses"]["resolved"] == {"CNY": {"count": 2, "amount_minor": 72000 + 60}}
    sheets = CalamineWorkbook.from_path(str(xlsx)).sheet_names
    assert sheets == ["statement", "breaks"]

    assert main(["report", "--plan", "psp_vs_shop", "--day", "2024-05-01"]) == 0
    assert "应收 expected" in capsys.readouterr().out


def test_an_unknown_rule_is_refused_with_its_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plans.toml").write_text(TOML.replace('rule = "fx"', 'rule = "magic"'))
    assert main(["apply", str(tmp_path / "plans.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[UNKNOWN_RULE]: plans.psp_vs_shop.rules[1]: 'magic' is not a rule")


def test_report_of_an_unknown_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--plan", "nope", "--day", "2024-05-01"]) == 2
    assert "error[UNKNOWN_PLAN]" in capsys.readouterr().err


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_day_beyond_the_kept_range_is_refused_not_a_traceback(day: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Found by trying: the statement's cut-off of the day after 9999-12-31 overflowed (error[INTERNAL]).
    assert main(["report", "--plan", "any", "--day", day]) == 2
    err = capsys.readouterr().err
    assert "error[BAD_ARGUMENTS]" in err
    assert "outside the business days Tally keeps (1900-01-01 to 2999-12-31)" in err
    assert "Traceback" not in err
