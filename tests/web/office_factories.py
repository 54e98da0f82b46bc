"""Factories for the back-office pages of tests/web/test_office_*: users by role, lake records."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pyarrow as pa
from django.contrib.auth.models import Group, User

from tally.ingest.models import Bill, Source
from tally.lake import write_table
from tally.records import SCHEMA
from tally.services.workspace import lake
from tally.web.roles import ensure_roles

PASSWORD = "correct horse battery"
DAY = dt.date(2024, 5, 1)
_seq = itertools.count(1)


def role_user(role: str | None, username: str | None = None, **extra: Any) -> User:
    """A user in one of the four role groups (None: logged in, no role)."""
    user = User.objects.create_user(username or f"{role or 'nobody'}{next(_seq)}", password=PASSWORD, **extra)
    if role:
        ensure_roles()
        user.groups.add(Group.objects.get(name=role))
    return user


def records(source: str, day: dt.date, n: int, sha: str, **overrides: Any) -> pa.Table:
    rows = []
    for i in range(n):
        kind = "refund" if i % 5 == 4 else "payment"
        row = {
            "source": source, "business_day": day, "record_kind": kind, "order_no": f"ORD-{day:%m%d}-{i:05d}",
            "refund_no": f"RF-{i:05d}" if kind == "refund" else None, "channel_txn_id": f"4200{i:08d}",
            "amount_minor": (i * 37 % 10_000) * (-1 if kind == "refund" else 1), "fee_minor": i % 7,
            "discount_minor": 0, "currency": "CNY",
            "occurred_at": dt.datetime(day.year, day.month, day.day, 1, 2, 3, tzinfo=dt.UTC)
            + dt.timedelta(seconds=i),
            "status": "SUCCESS", "item": None, "quantity": None, "bill_sha256": sha, "line_no": i + 2,
        }
        row.update(overrides)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def lake_bill(source: Source | None = None, day: dt.date = DAY, n: int = 120, **overrides: Any) -> Bill:
    """An imported bill whose records are really in the lake (TALLY_HOME of the test)."""
    source = source or Source.objects.create(name=f"src{next(_seq)}", kind="table")
    sha = f"{next(_seq):064x}"
    write_table(records(source.name, day, n, sha, **overrides), lake().record_path(source.name, day, sha))
    return Bill.objects.create(source=source, name=f"pay_{source.name}_{day:%Y%m%d}_{next(_seq):02d}.csv",
                               sha256=sha, business_day=day, status=Bill.Status.IMPORTED, rows=n,
                               days=[day.isoformat()])
