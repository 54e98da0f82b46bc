"""Looking at bills: the raw bytes as archived, their lines as the parser numbered them, the
records a line became, and a rejected bill's error in its parts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any, BinaryIO

import pyarrow.parquet as pq

from tally import channels
from tally.channels import ParseContext
from tally.errors import OperationFailed, Where
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


# A rejected bill keeps its error as TallyError.__str__ wrote it:
# "error[CODE]: message (FILE:LINE, field F)" and, on a second line, "  hint: …".
_ERROR = re.compile(r"^error\[(?P<code>[A-Z][A-Z0-9_]*)\]: (?P<rest>.*)$")
_WHERE = re.compile(r"^(?P<message>.*?) \((?P<where>[^()]*)\)$")
_LINE = re.compile(r"^(?:(?P<file>.*):|line )(?P<line>\d+)$")


@dataclass(frozen=True)
class BillError:
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    hint: str | None = None

    @property
    def where(self) -> Where:
        """The place as the error that was raised had it (file:line, field)."""
        return Where(self.file, self.line, self.field)


def _split_where(rest: str, file_name: str) -> tuple[str, str | None]:
    """``message (where)`` → (message, where). The import names the file as it was given,
    and that name may hold parentheses itself, so look for it before the plain pattern."""
    name = PurePosixPath(file_name).name
    if name and rest.endswith(")") and (named := rest.rfind(name)) > 0:
        at = rest.rfind(" (", 0, named)
        if at >= 0:
            return rest[:at], rest[at + 2:-1]
    matched = _WHERE.match(rest)
    return (matched.group("message"), matched.group("where")) if matched else (rest, None)


def error_of(bill: Bill) -> BillError | None:
    """A rejected bill's error in its parts (code, message, file, line, field, hint)."""
    if not bill.error and not bill.error_code:
        return None
    first, _, rest = bill.error.partition("\n")
    hint = rest.strip().removeprefix("hint:").strip() or None
    matched = _ERROR.match(first)
    if matched is None:  # not written by TallyError: show it whole
        return BillError(bill.error_code, bill.error.strip())
    code = bill.error_code or matched.group("code")
    message, where = _split_where(matched.group("rest"), bill.original_name or bill.name)
    if where is None:
        return BillError(code, message, hint=hint)
    place, field = where, None
    if where.startswith("field "):
        place, field = "", where.removeprefix("field ")
    elif ", field " in where:
        place, _, field = where.partition(", field ")
    located = _LINE.match(place)
    file, line = (located.group("file"), int(located.group("line"))) if located else (place, None)
    if line is None and field is None and PurePosixPath(bill.original_name or bill.name).name not in file:
        # Parentheses that close the message itself ("… (too many decimals)"), not a place.
        return BillError(code, f"{message} ({where})", hint=hint)
    return BillError(code, message, file or None, line, field, hint)
