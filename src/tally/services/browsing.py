"""The data browser's use case: a source's records over a day or a range, from the lake.

Which lake files make up a source's days is the database's to say (an imported bill and the
days it wrote); reading, filtering, sorting and paging them is the engine's (tally.engine.browse).
Exports write the filtered records in the browser's order, spreadsheet-safe, in bounded memory, to a
file (the back office writes them in a job: tally.web.exports), saying how far they got as they go.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tally.engine import browse
from tally.errors import ConfigError, InputRejected, TallyError
from tally.home import engine_name
from tally.ingest.models import Bill, Source
from tally.money import format_minor
from tally.records import SCHEMA
from tally.services.listing import neutralize
from tally.services.workspace import lake

MAX_DAYS = 92
XLSX_MAX_ROWS = 1_048_575  # one sheet of Excel, less the header
EXPORT_COLUMNS = [*SCHEMA.names, "amount", "fee"]
PROGRESS_ROWS = 10_000  # an export says how far it got this often
Progress = Callable[[int], None]  # told the number of records written so far


@dataclass(frozen=True)
class Filters:
    record_kind: str | None = None
    currency: str | None = None
    status: str | None = None
    search: str | None = None
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None
    sort: str = "line_no"
    descending: bool = False


def files(source: Source, first: date, last: date) -> tuple[str, ...]:
    """The lake files of ``source``'s imported bills for the days ``first``…``last``, by day then bill."""
    if last < first:
        raise ConfigError("BAD_RANGE", f"the range ends ({last}) before it starts ({first})", field="last")
    if (last - first).days + 1 > MAX_DAYS:
        raise ConfigError("RANGE_TOO_LONG", f"a range of at most {MAX_DAYS} days can be browsed at once",
                          field="last", hint="narrow the range")
    wanted = {(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)}
    found: list[tuple[str, str, Path]] = []
    bills = Bill.objects.filter(source=source, status=Bill.Status.IMPORTED).only("sha256", "days")
    for bill in bills:
        for day in bill.days:
            if day in wanted:
                path = lake().record_path(source.name, date.fromisoformat(day), bill.sha256)
                if path.exists():
                    found.append((day, bill.sha256, path))
    return tuple(str(path) for _, _, path in sorted(found))


def query(source: Source, first: date, last: date, filters: Filters) -> browse.Query:
    return browse.Query(files=files(source, first, last), record_kind=filters.record_kind or None,
                        currency=filters.currency or None, status=filters.status or None,
                        search=(filters.search or "").strip() or None,
                        min_amount_minor=filters.min_amount_minor, max_amount_minor=filters.max_amount_minor,
                        sort=filters.sort, descending=filters.descending)


def page(q: browse.Query, *, after: list[str] | None = None, limit: int = 50) -> browse.Page:
    cursor = browse.cursor_from_text(q, after) if after else None
    return browse.page(q, engine_name(), after=cursor, limit=limit)


def count(q: browse.Query) -> int:
    return browse.count(q, engine_name())


def next_cursor(result: browse.Page) -> list[str] | None:
    return browse.cursor_text(result.next_after) if result.next_after is not None else None


def _export_row(record: dict[str, Any]) -> list[Any]:
    currency = record.get("currency") or ""
    row = [record.get(name) for name in SCHEMA.names]
    for name in ("amount_minor", "fee_minor"):
        value = record.get(name)
        try:
            row.append(format_minor(value, currency) if value is not None and currency else None)
        except TallyError:  # an unknown currency code: the minor units are in the row already
            row.append(None)
    return [neutralize(_text(v)) for v in row]


def _text(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if isoformat is not None else value


def _rows(q: browse.Query, progress: Progress | None) -> Iterator[list[Any]]:
    """The export rows in order, telling ``progress`` how many are out after each PROGRESS_ROWS of them
    (and after the last, shorter slice of each batch)."""
    done = 0
    for part in browse.batches(q, engine_name()):
        # A slice at a time: Python objects for PROGRESS_ROWS records, never a whole batch of them.
        for start in range(0, part.num_rows, PROGRESS_ROWS):
            piece = part.slice(start, PROGRESS_ROWS).to_pylist()
            yield from (_export_row(record) for record in piece)
            done += len(piece)
            if progress is not None:
                progress(done)


def write_csv(q: browse.Query, path: Path, progress: Progress | None = None) -> int:
    """The records as CSV (UTF-8 with BOM, so Excel reads 中文); returns how many were written."""
    n = 0
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for row in _rows(q, progress):
            writer.writerow(row)
            n += 1
    return n


def write_xlsx(q: browse.Query, path: Path, *, total: int | None = None, progress: Progress | None = None) -> int:
    """The records as one Excel sheet; refused up front when they would not fit in one (``total``:
    their count, when the caller has it already). Returns how many were written."""
    total = count(q) if total is None else total
    if total > XLSX_MAX_ROWS:
        raise InputRejected("TOO_MANY_ROWS", f"{total} records do not fit in one Excel sheet "
                            f"(at most {XLSX_MAX_ROWS})", hint="narrow the filters, or export CSV")
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False, "strings_to_numbers": False})
    sheet = book.add_worksheet("records")
    sheet.write_row(0, 0, EXPORT_COLUMNS)
    n = 0
    for n, row in enumerate(_rows(q, progress), start=1):
        sheet.write_row(n, 0, row)
    book.close()
    return n
