"""The demo merchant: a shop database, WeChat Pay bills with planted differences, users.

Planted (README lists them; tests pin the exact counts per day), with carry_over_days = 1:
- CROSS-0001: paid 23:59:58 on day 1 in the shop, 00:00:02 on day 2 at WeChat: pending on
  day 1, matched on day 2;
- SHORT-0001: a payment only in the shop (day 1): short, detected on day 2;
- LONG-0001: a payment only at WeChat (day 2): long, detected on day 3;
- MISMATCH-0001: 100.00 in the shop, 99.00 at WeChat (day 1): mismatch on day 1;
- a refund only in the shop (RS-0001, day 2): short refund, detected on day 3;
- a refund only at WeChat (RL-0001, day 1): long refund, detected on day 2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User

from tally.config import parse
from tally.engine.day import DayOutcome
from tally.services.declarations import apply
from tally.services.importing import import_bill
from tally.services.running import Progress, run_plan
from tally.synthetic import Txn, shop_database, wechat_bill

FIRST_DAY = date(2026, 11, 1)
PASSWORD = "tally-demo"  # noqa: S105 - the documented demo password, demo only
USERS = {"admin": "admin", "maker": "operator", "checker": "approver"}
PLAN = "wechat_vs_shop"
NORMAL_PER_DAY = 20


@dataclass(frozen=True)
class Scenario:
    ours: list[Txn]
    theirs: list[Txn]
    days: list[date]


def scenario(days: int = 3, first: date = FIRST_DAY) -> Scenario:
    rng = random.Random(20261101)  # noqa: S311 - demo data, not security
    ours: list[Txn] = []
    theirs: list[Txn] = []
    all_days = [first + timedelta(days=n) for n in range(days)]
    for n, day in enumerate(all_days):
        payments = []
        for i in range(NORMAL_PER_DAY):
            at = datetime.combine(day, time(9)) + timedelta(seconds=rng.randrange(13 * 3600))
            payments.append(Txn(f"D{day:%Y%m%d}{i:04d}", rng.randrange(100, 99_999), at))
        refunds = [Txn(p.order_no, p.amount_minor // 2, p.at + timedelta(minutes=30), refund_no=f"R{p.order_no}")
                   for p in payments[:2]]
        ours += payments + refunds
        theirs += payments + refunds
        noon = datetime.combine(day, time(12))
        if n == 0:
            ours.append(Txn("CROSS-0001", 8800, datetime.combine(day, time(23, 59, 58))))
            if len(all_days) > 1:
                theirs.append(Txn("CROSS-0001", 8800, datetime.combine(all_days[1], time(0, 0, 2))))
            ours.append(Txn("SHORT-0001", 4200, noon))
            ours.append(Txn("MISMATCH-0001", 10000, noon))
            theirs.append(Txn("MISMATCH-0001", 9900, noon))
            theirs.append(Txn(payments[5].order_no, 1000, noon + timedelta(hours=2), refund_no="RL-0001"))
        if n == 1:
            theirs.append(Txn("LONG-0001", 6600, noon))
            ours.append(Txn(payments[5].order_no, 1500, noon + timedelta(hours=3), refund_no="RS-0001"))
    return Scenario(ours, theirs, all_days)


def declarations(shop_path: Path) -> str:
    return f"""
[sources.shop]
kind = "sql"
url = "sqlite:///{shop_path}"
query = '''select order_no, refund_no, kind, amount_fen, currency, paid_at, status from payments
           where paid_at >= :day_start and paid_at < :day_end order by id'''
timezone = "Asia/Shanghai"
amount_unit = "minor"
[sources.shop.columns]
order_no = "order_no"
refund_no = "refund_no"
record_kind = "kind"
amount_minor = "amount_fen"
currency = "currency"
occurred_at = "paid_at"
status = "status"
[sources.shop.values.record_kind]
PAY = "payment"
REFUND = "refund"

[sources.wechat]
kind = "wechatpay"
timezone = "Asia/Shanghai"

[plans.{PLAN}]
ours = "shop"
theirs = "wechat"
keys = ["order_no", "refund_no", "record_kind"]
compare = ["amount_minor", "currency"]
carry_over_days = 1
tolerance_minor = 0
# Automatic rules, tried in this order after each run day (docs/rules.md).
[[plans.{PLAN}.rules]]
rule = "cross_day"
[[plans.{PLAN}.rules]]
rule = "fee"
rate_bp = 60
[[plans.{PLAN}.rules]]
rule = "rounding"
tolerance_minor = 1
"""


def build(days: int = 3, progress: Progress | None = None) -> list[DayOutcome]:
    """Build (or rebuild, idempotently) the demo in TALLY_HOME and reconcile every day."""
    home = settings.TALLY_HOME / "demo"
    data = scenario(days)
    shop_database(home / "shop.sqlite3", data.ours)
    toml = declarations(home / "shop.sqlite3")
    (home / "tally.toml").write_text(toml, encoding="utf-8")
    apply(parse(toml, file=str(home / "tally.toml")))
    bills = home / "bills"
    bills.mkdir(parents=True, exist_ok=True)
    for day in data.days:
        path = bills / f"wechat_tradebill_ALL_{day:%Y%m%d}.csv"
        local_day = [t for t in data.theirs if t.at.date() == day]
        path.write_bytes(wechat_bill(local_day))
        import_bill(path.read_bytes(), "wechat", file_name=path.name, day=day)
    return run_plan(PLAN, data.days[0], data.days[-1], progress=progress)


def ensure_users() -> None:
    """The three demo logins; their groups (roles) must exist already."""
    for name, role in USERS.items():
        user = User.objects.filter(username=name).first() or User(username=name)
        user.is_staff = user.is_superuser = name == "admin"
        user.set_password(PASSWORD)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
