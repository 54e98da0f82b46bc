"""The `tally` command as a user types it: a table source (GB18030, Chinese headers), a WeChat
source, a plan; bad inputs exit 2 with a stable code and keep nothing."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tally.cli import main
from tally.ingest.models import Bill
from tally.synthetic import Txn, wechat_bill

pytestmark = pytest.mark.django_db

TOML = """
[sources.shop_orders]
kind = "table"
format = "csv"
encoding = "gb18030"
timezone = "Asia/Shanghai"
amount_unit = "major"
currency = "CNY"
[sources.shop_orders.columns]
order_no = "商户订单号"
refund_no = "退款单号"
amount_minor = "金额"
occurred_at = "时间"
record_kind = "类型"
[sources.shop_orders.values.record_kind]
"支付" = "payment"
"退款" = "refund"

[sources.wechat]
kind = "wechatpay"
timezone = "Asia/Shanghai"

[plans.wechat_vs_shop]
ours = "shop_orders"
theirs = "wechat"
keys = ["order_no", "refund_no", "record_kind"]
compare = ["amount_minor", "currency"]
carry_over_days = 1
tolerance_minor = 0
"""

DAY1 = datetime(2026, 11, 1, 10, 0)


def orders_csv(path: Path, rows: list[tuple[str, str, str, datetime, str]]) -> Path:
    lines = ["订单导出（测试商城）", "商户订单号,退款单号,金额,时间,类型"]
    lines += [f"{o},{r},{a},{t:%Y-%m-%d %H:%M:%S},{k}" for o, r, a, t, k in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    return path


@pytest.fixture
def declared(tmp_path: Path, capsys) -> Path:
    toml = tmp_path / "tally.toml"
    toml.write_text(TOML, encoding="utf-8")
    assert main(["apply", str(toml)]) == 0
    assert "created: source shop_orders" in capsys.readouterr().out
    return tmp_path


def test_apply_is_idempotent(declared: Path, capsys) -> None:
    assert main(["apply", str(declared / "tally.toml")]) == 0
    out = capsys.readouterr().out
    assert "created" not in out
    assert "unchanged: plan wechat_vs_shop" in out


def test_import_run_bills_breaks(declared: Path, capsys) -> None:
    ours = orders_csv(declared / "orders-1101.csv", [
        ("A1", "", "12.34", DAY1, "支付"), ("A2", "", "5.00", DAY1, "支付"), ("A1", "RA1", "2.00", DAY1, "退款")])
    ours2 = orders_csv(declared / "orders-1102.csv", [("A3", "", "1.00", DAY1 + timedelta(days=1), "支付")])
    bill1 = declared / "wx-1101.csv"
    bill1.write_bytes(wechat_bill([Txn("A1", 1234, DAY1), Txn("A2", 500, DAY1),
                                   Txn("A1", 200, DAY1, refund_no="RA1")]))
    bill2 = declared / "wx-1102.csv"
    bill2.write_bytes(wechat_bill([Txn("A3", 100, DAY1 + timedelta(days=1)),
                                   Txn("X9", 700, DAY1 + timedelta(days=1))]))
    assert main(["import", str(ours), str(ours2), "--source", "shop_orders"]) == 0
    assert main(["import", str(bill1), str(bill2), "--source", "wechat"]) == 0
    out = capsys.readouterr().out
    assert "imported data_shop_orders_20261101_01.csv: 3 records" in out
    assert "imported pay_wechat_20261102_01.csv: 2 records" in out

    assert main(["import", str(bill1), "--source", "wechat"]) == 0
    assert "already imported: pay_wechat_20261101_01.csv" in capsys.readouterr().out

    assert main(["run", "wechat_vs_shop", "--from", "2026-11-01", "--to", "2026-11-02", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"plan": "wechat_vs_shop", "day": "2026-11-01", "matched": 3, "pending": 0,
         "breaks": {"short": 0, "long": 0, "mismatch": 0}},
        {"plan": "wechat_vs_shop", "day": "2026-11-02", "matched": 1, "pending": 1,
         "breaks": {"short": 0, "long": 0, "mismatch": 0}},
    ]

    assert main(["bills", "--json"]) == 0
    bills = json.loads(capsys.readouterr().out)
    assert {(b["name"], b["status"], b["rows"]) for b in bills} == {
        ("data_shop_orders_20261101_01.csv", "imported", 3), ("data_shop_orders_20261102_01.csv", "imported", 1),
        ("pay_wechat_20261101_01.csv", "imported", 3), ("pay_wechat_20261102_01.csv", "imported", 2)}
    assert all(len(b["sha256"]) == 64 and b["error"] is None for b in bills)


def test_breaks_json_and_exports_neutralize_formulas(declared: Path, capsys, tmp_path: Path) -> None:
    ours = orders_csv(declared / "o.csv", [("=HYPERLINK(1)", "", "1.00", DAY1, "支付")])
    bill = declared / "b.csv"
    bill.write_bytes(wechat_bill([Txn("B1", 100, DAY1)]))
    assert main(["import", str(ours), "--source", "shop_orders"]) == 0
    assert main(["import", str(bill), "--source", "wechat"]) == 0
    for day in ("2026-11-02",):
        (declared / f"b{day}.csv").write_bytes(wechat_bill([Txn("B2", 1, DAY1 + timedelta(days=1))]))
        orders_csv(declared / f"o{day}.csv", [("B2", "", "0.01", DAY1 + timedelta(days=1), "支付")])
        assert main(["import", str(declared / f"b{day}.csv"), "--source", "wechat"]) == 0
        assert main(["import", str(declared / f"o{day}.csv"), "--source", "shop_orders"]) == 0
    assert main(["run", "wechat_vs_shop", "--from", "2026-11-01", "--to", "2026-11-02"]) == 0
    capsys.readouterr()
    assert main(["breaks", "--json", "--plan", "wechat_vs_shop"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["kind"], r["order_no"], r["ours_amount_minor"], r["theirs_amount_minor"]) for r in rows} == {
        ("short", "=HYPERLINK(1)", 100, None), ("long", "B1", None, 100)}
    for field in ("id", "plan", "day", "detected_on", "kind", "status", "order_no", "refund_no", "record_kind",
                  "ours_amount_minor", "theirs_amount_minor", "currency", "reason"):
        assert field in rows[0]
    assert main(["breaks", "--csv", str(tmp_path / "b.csv")]) == 0
    with open(tmp_path / "b.csv", encoding="utf-8-sig") as handle:
        cells = [row["order_no"] for row in csv.DictReader(handle)]
    assert "'=HYPERLINK(1)" in cells
    assert main(["breaks", "--xlsx", str(tmp_path / "b.xlsx")]) == 0
    sheet = load_workbook(tmp_path / "b.xlsx").active
    assert "'=HYPERLINK(1)" in [c.value for c in sheet["H"]]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (lambda b: b.replace(b"`3,", b"`4,"), "TOTALS_MISMATCH"),
        (lambda b: b.rsplit(b"\n", 3)[0] + b"\n", "MISSING_TOTALS"),
        (lambda b: b[: len(b) // 2], "COLUMN_COUNT"),
        (lambda b: b"\x00\xff\xfe" * 10, "BAD_ENCODING"),
    ],
)
def test_a_bad_bill_exits_2_and_keeps_nothing(declared: Path, capsys, tally_home: Path, content, code) -> None:
    bad = declared / "bad.csv"
    bad.write_bytes(content(wechat_bill([Txn("A1", 1, DAY1), Txn("A2", 2, DAY1), Txn("A3", 3, DAY1)])))
    assert main(["import", str(bad), "--source", "wechat"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error[{code}]: ")
    assert "bad.csv" in err
    assert "Traceback" not in err
    assert not Bill.objects.filter(status="imported").exists()
    assert Bill.objects.get().status == "rejected"
    assert not list((tally_home / "lake").rglob("*.parquet")) if (tally_home / "lake").exists() else True
    assert not (tally_home / "archive").exists() or not list((tally_home / "archive").rglob("*.*"))
    assert main(["bills", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["status"], row["rows"], row["error"].startswith(f"error[{code}]")) == ("rejected", 0, True)


@pytest.mark.parametrize(
    ("toml", "code", "where"),
    [
        ("[sources.x\nkind = 1", "BAD_TOML", ":1"),
        ('[sources.x]\nkind = "nope"', "UNKNOWN_KIND", "sources.x.kind"),
        ('[plans.p]\nours = "a"\ntheirs = "b"', "UNKNOWN_SOURCE", "plans.p"),
        ('[plans.p]\nours = "a"\ntheirs = "b"\nkeys = ["amount"]', "BAD_PLAN", "plans.p.keys"),
        ('[sources.x]\nkind = "table"\n[sources.x.columns]\norder_no = "a"', "BAD_SOURCE", "sources.x.columns"),
        ('[sources.x]\nkind = "wechatpay"\ncolour = "red"', "UNKNOWN_FIELD", "sources.x.colour"),
    ],
)
def test_bad_toml_exits_2_with_code_and_place(tmp_path: Path, capsys, toml: str, code: str, where: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    assert main(["apply", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error[{code}]: ")
    assert where in err


def test_unknown_source_and_bad_arguments_exit_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "x.csv"
    path.write_text("x")
    assert main(["import", str(path), "--source", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error[UNKNOWN_SOURCE]")
    assert main(["run", "p", "--from", "2026-13-01"]) == 2
    assert capsys.readouterr().err.startswith("error[BAD_ARGUMENTS]")
    assert main(["import", str(tmp_path / "missing.csv"), "--source", "nope"]) == 2


def test_a_run_can_be_limited_to_some_sources(declared: Path, capsys) -> None:
    from tally.breaks.models import Plan

    plan = Plan.objects.get(name="wechat_vs_shop")
    plan.spec = {**plan.spec, "ours": ["shop_orders", "shop_orders_b"]}
    plan.save()
    assert main(["run", "wechat_vs_shop", "--from", "2026-11-01", "--only", "wechat"]) == 2
    assert "at least one source on each side" in capsys.readouterr().err
    assert main(["run", "wechat_vs_shop", "--from", "2026-11-01", "--only", "nope,wechat"]) == 2
    assert capsys.readouterr().err.startswith("error[UNKNOWN_SOURCE]")
    orders_csv(declared / "o.csv", [("A1", "", "1.00", DAY1, "支付")])
    (declared / "b.csv").write_bytes(wechat_bill([Txn("A1", 100, DAY1)]))
    assert main(["import", str(declared / "o.csv"), "--source", "shop_orders"]) == 0
    assert main(["import", str(declared / "b.csv"), "--source", "wechat"]) == 0
    # shop_orders_b is declared in no file and has no bill: limited to shop_orders, the day runs.
    assert main(["run", "wechat_vs_shop", "--from", "2026-11-01", "--only", "shop_orders,wechat", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["matched"] == 1
