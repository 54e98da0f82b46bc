"""Sources, plans and bills for the acquisition and worker tests; each call builds fresh rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from tally.breaks.models import Plan
from tally.ingest.models import Source
from tally.services.importing import Imported, import_bill

TABLE: dict[str, Any] = {
    "kind": "table", "format": "csv", "currency": "CNY", "timezone": "Asia/Shanghai",
    "columns": {"order_no": "order_no", "amount_minor": "amount", "occurred_at": "paid_at"},
}


def table_source(name: str, fetch: dict[str, Any] | None = None, **spec: Any) -> Source:
    full = {**TABLE, **spec}
    if fetch is not None:
        full["fetch"] = fetch
    return Source.objects.create(name=name, kind="table", spec=full)


def csv_bill(day: date, *rows: tuple[str, str]) -> bytes:
    lines = ["order_no,amount,paid_at"] + [f"{order},{amount},{day.isoformat()} 10:00:00" for order, amount in rows]
    return ("\n".join(lines) + "\n").encode()


def import_csv(source: str, day: date, *rows: tuple[str, str]) -> Imported:
    return import_bill(csv_bill(day, *rows or (("A1", "12.34"),)), source, file_name=f"{source}_{day:%Y%m%d}.csv",
                       day=day)


def plan(name: str, ours: str, theirs: str, **spec: Any) -> Plan:
    return Plan.objects.create(name=name, spec={"ours": ours, "theirs": theirs, **spec})
