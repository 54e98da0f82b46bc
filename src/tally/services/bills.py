"""Looking at bills: the raw bytes as archived, their lines as the parser numbered them, the
records a line became, and a rejected bill's error in its parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

import pyarrow.parquet as pq

from tally import channels
from tally.channels import ParseContext
from tally.errors import OperationFailed, TallyError
from tally.ingest.models import Bill
from tally.services.importing import context
from tally.services.workspace import archive, lake

LINES_PER_PAGE = 100


def raw_line(sha256: str, line_no: int) -> str | None:
    """The text of line ``line_no`` of the archived bill with this hash, or None if unknown."""
    bill = (Bill.objects.filter(sha256=sha256, status=Bill.Status.IMPORTED)
            .select_related("source", "source_version").first())
    if bill is None:
        return None
    lines = bill_lines(bill)
    return lines[line_no - 1] if 0 < line_no <= len(lines) else None


def bill_name(sha256: str) -> str | None:
    bill = Bill.objects.filter(sha256=sha256, status=Bill.Status.IMPORTED).first()
    return bill.name if bill else None


def _imported(bill: Bill) -> None:
    if bill.status != Bill.Status.IMPORTED:
        raise OperationFailed("BILL_NOT_ARCHIVED", f"{bill.name} was rejected: its bytes were not kept",
                              hint="import the corrected file again")


def raw_file(bill: Bill) -> BinaryIO:
    """The archived bytes of an imported bill, open and verified against its SHA-256."""
    _imported(bill)
    try:
        return archive().open(bill.sha256)
    except FileNotFoundError:
        raise OperationFailed("ARCHIVE_MISSING", f"the archive has no bytes for {bill.name} ({bill.sha256})",
                              hint="restore TALLY_HOME/archive from its backup") from None
    except OSError as exc:
        raise OperationFailed("ARCHIVE_ALTERED", f"the archived bytes of {bill.name} no longer hash to "
                              f"{bill.sha256}: {exc}", hint="restore TALLY_HOME/archive from its backup") from None


def bill_lines(bill: Bill) -> list[str]:
    """The bill's text lines as its parser numbers them (line_no 1 is the first), read under
    the declaration the bill was imported with, so the numbers are the records' ``line_no``."""
    _imported(bill)
    version = bill.source_version
    ctx = context(bill.source, bill_sha256=bill.sha256, file_name=bill.name)
    if version is not None:
        ctx = ParseContext(ctx.source, {**version.spec, "kind": version.kind}, bill.sha256, bill.name)
    with raw_file(bill) as handle:
        data = handle.read()
    return channels.get(version.kind if version else bill.source.kind).lines(data, ctx)


@dataclass(frozen=True)
class LinePage:
    first: int                    # number of the first line shown (1-based)
    lines: list[tuple[int, str]]  # (line_no, text)
    total: int                    # lines in the whole bill
    size: int

    @property
    def previous(self) -> int | None:
        return max(1, self.first - self.size) if self.first > 1 else None

    @property
    def next(self) -> int | None:
        return self.first + self.size if self.first + self.size <= self.total else None

    @property
    def last(self) -> int:
        return self.first + len(self.lines) - 1


def page_start(line_no: int, size: int = LINES_PER_PAGE) -> int:
    """The first line of the page that holds ``line_no`` (pages are 1–100, 101–200, …)."""
    return (max(line_no, 1) - 1) // size * size + 1


def line_page(bill: Bill, first: int, size: int = LINES_PER_PAGE) -> LinePage:
    """``size`` lines of the bill from line ``first`` (brought into the bill's range)."""
    lines = bill_lines(bill)
    first = min(max(first, 1), max(len(lines), 1))
    shown = lines[first - 1:first - 1 + size]
    return LinePage(first, list(enumerate(shown, start=first)), len(lines), size)


def records_at(bill: Bill, line_no: int) -> list[dict[str, Any]]:
    """The normalized records that line ``line_no`` of the bill became, read from the lake.

    One line may give several records (or none: a header, a summary line). Each business day
    the bill wrote is one Parquet file; the filter on ``line_no`` lets pyarrow skip row groups.
    """
    _imported(bill)
    found: list[dict[str, Any]] = []
    for day in bill.days:
        path = lake().record_path(bill.source.name, date.fromisoformat(day), bill.sha256)
        if not path.exists():
            raise OperationFailed("LAKE_MISSING", f"the lake has no records of {bill.name} for {day}",
                                  file=str(path), hint=f"re-import the bill: tally reparse {bill.name} --apply")
        table = pq.read_table(path, filters=[("line_no", "=", line_no)])
        found.extend(table.to_pylist())
    return sorted(found, key=lambda record: (record["business_day"], record["record_kind"]))


def error_of(bill: Bill) -> TallyError | None:
    """A rejected bill's error as it was raised (code, message, place, hint), read back from the
    text it was stored as; text no TallyError wrote is the message, whole."""
    return read_error(bill.error, bill.error_code, bill.original_name or bill.name)


def read_error(text: str, code: str, file_name: str) -> TallyError | None:
    """A rejected bill's error read back from its stored text and code (error_of; the calendar's
    reason of a rejected bill, tally.services.schedule.Reason)."""
    if not text and not code:
        return None
    # The bill's own name may hold parentheses: the parser looks for it before the place.
    error = TallyError.parse(text, file_name=file_name)
    return error if error is not None else TallyError(code, text.strip())
