"""The day's statement as rows, JSON, CSV and Excel (xlsx); the day's breaks beside it.

Labels are written in finance language, Chinese and English together (应收 expected …), so the
file reads the same for every user. Every text cell goes through ``listing.neutralize``: a cell
starting with ``= + - @``, a tab or a carriage return cannot run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

from tally.money import format_minor
from tally.services import listing
from tally.services.reports import AGING, KINDS, STATUSES, Statement

LABELS = {
    "expected": "应收 expected", "received": "实收 received", "difference": "差额 difference",
    "fees": "手续费 fees", "long": "长款 long", "short": "短款 short", "mismatch": "错账 mismatch",
    "carried_in": "挂账 carried in", "carried_out": "挂账 carried out",
    "open": "未处理 open", "pending_approval": "待审批 pending approval", "resolved": "已处理 resolved",
    "suspended": "已挂起 suspended",
}
COLUMNS = ["section", "item", "currency", "count", "amount", "amount_minor"]


def _row(section: str, item: str, currency: str, count: int | None, amount_minor: int) -> dict[str, Any]:
    return {"section": section, "item": item, "currency": currency, "count": count,
            "amount": format_minor(amount_minor, currency), "amount_minor": amount_minor}


def rows(st: Statement) -> list[dict[str, Any]]:
    """The statement as flat rows: section, item, currency, count, amount (major units), amount_minor."""
    out = []
    for line in st.lines:
        c = line.currency
        out += [_row("statement", LABELS["expected"], c, line.expected.count, line.expected.amount_minor),
                _row("statement", LABELS["received"], c, line.received.count, line.received.amount_minor),
                _row("statement", LABELS["difference"], c, None, line.difference_minor),
                _row("statement", LABELS["fees"], c, None, line.fees_minor)]
        out += [_row("statement", LABELS[kind], c, line.kinds[kind].count, line.kinds[kind].amount_minor)
                for kind in KINDS]
        out += [_row("statement", LABELS["carried_in"], c, line.carried_in.count, line.carried_in.amount_minor),
                _row("statement", LABELS["carried_out"], c, line.carried_out.count, line.carried_out.amount_minor)]
    for status in STATUSES:
        for c, fig in sorted(st.statuses[status].items()):
            out.append(_row("status", LABELS[status], c, fig.count, fig.amount_minor))
    for label, _, _ in AGING:
        for c, fig in sorted(st.aging[label].items()):
            out.append(_row("aging", f"{label} days", c, fig.count, fig.amount_minor))
    for src in st.sources:
        out.append(_row(f"source {src['side']}", src["source"], src["currency"], src["records"], src["amount_minor"]))
    return out


def as_json(st: Statement) -> dict[str, Any]:
    def figures(table: dict[str, Any]) -> dict[str, Any]:
        return {c: {"count": f.count, "amount_minor": f.amount_minor} for c, f in sorted(table.items())}

    return {
        "plan": st.plan, "day": st.day.isoformat(), "channel": st.channel, "ours": st.ours,
        "matched": st.matched, "pending": st.pending, "cross_day": st.cross_day,
        "currencies": {
            line.currency: {
                "expected_minor": line.expected.amount_minor, "expected_records": line.expected.count,
                "received_minor": line.received.amount_minor, "received_records": line.received.count,
                "difference_minor": line.difference_minor, "fees_minor": line.fees_minor,
                **{f"{k}_minor": line.kinds[k].amount_minor for k in KINDS},
                **{f"{k}_count": line.kinds[k].count for k in KINDS},
                "carried_in_minor": line.carried_in.amount_minor, "carried_in_count": line.carried_in.count,
                "carried_out_minor": line.carried_out.amount_minor, "carried_out_count": line.carried_out.count,
            } for line in st.lines},
        "statuses": {s: figures(st.statuses[s]) for s in STATUSES},
        "aging": {label: figures(st.aging[label]) for label, _, _ in AGING},
        "sources": st.sources,
    }


def write_csv(st: Statement, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows(st):
            writer.writerow({k: listing.neutralize(row[k]) for k in COLUMNS})


def write_xlsx(st: Statement, path: Path, breaks: list[dict[str, Any]] | None = None) -> None:
    """A workbook: the statement (one sheet, title rows first), then the day's breaks."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("statement")
    title = [("plan 对账方案", st.plan), ("day 账期", st.day.isoformat()), ("channel 渠道", st.channel),
             ("ours 我方", st.ours), ("matched 对平", st.matched), ("cross-day 跨日对平", st.cross_day)]
    for n, (label, value) in enumerate(title):
        sheet.write(n, 0, label, bold)
        sheet.write(n, 1, listing.neutralize(value))
    top = len(title) + 1
    sheet.write_row(top, 0, COLUMNS, bold)
    for n, row in enumerate(rows(st), start=top + 1):
        for col, key in enumerate(COLUMNS):
            value = listing.neutralize(row[key])
            if value is None:
                sheet.write_blank(n, col, None)
            else:
                sheet.write(n, col, value)
    sheet.set_column(0, 1, 24)
    sheet.set_column(2, 5, 14)
    if breaks is not None:
        listed = book.add_worksheet("breaks")
        listed.write_row(0, 0, listing.BREAK_COLUMNS, bold)
        for n, brk in enumerate(breaks, start=1):
            listed.write_row(n, 0, [listing.neutralize(brk[k]) for k in listing.BREAK_COLUMNS])
    book.close()


def file_name(plan: str, day: dt.date, extension: str) -> str:
    """The statement file's name; known before the statement is built (a back-office export names its job)."""
    return f"report_{plan}_{day:%Y%m%d}.{extension}"


def text(st: Statement) -> str:
    """The statement for a terminal."""
    head = f"{st.plan} {st.day}  channel {st.channel} vs {st.ours}"
    if st.matched is None:
        head += "  (day not run)"
    else:
        head += f"  matched {st.matched} (cross-day {st.cross_day}), pending {st.pending}"
    lines = [head]
    for row in rows(st):
        count = "" if row["count"] is None else row["count"]
        lines.append(f"  {_pad(row['section'], 16)} {_pad(row['item'], 26)} {row['currency']} {count!s:>7} "
                     f"{row['amount']:>16}")
    return "\n".join(lines)


def _pad(text: str, width: int) -> str:
    """Left-aligned in ``width`` terminal columns: a Chinese character takes two."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return text + " " * max(width - shown, 0)


def breaks_of(plan: str, day: dt.date) -> list[dict[str, Any]]:
    return listing.breaks(plan=plan, day=day)
