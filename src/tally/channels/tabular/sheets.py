"""Spreadsheets (xlsx, xls) through python-calamine: one sheet, row by row.

``sheet`` chooses the sheet by name (text) or by 0-based index (a number); the first sheet by
default. A record's line is the row number Excel shows (1 for the first row). Cells keep their
types (numbers are floats, dates are datetimes): the mapping decides what a float may become
(tally.channels.tabular.cells).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from tally.errors import InputRejected


def _workbook(data: bytes, file: str) -> Any:
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types and plain ValueErrors alike
        raise InputRejected("BAD_SPREADSHEET", f"not a readable Excel workbook: {exc}", file=file,
                            hint="check the source's `format` (xlsx or xls)") from None


def sheet_names(data: bytes, *, file: str = "") -> list[str]:
    return list(_workbook(data, file).sheet_names)


def sheet_rows(data: bytes, sheet: str | int | None, *, file: str) -> Iterator[tuple[int, list[Any]]]:
    """``(row number, cells)`` of the chosen sheet; empty cells are ``""`` as calamine gives them."""
    book = _workbook(data, file)
    names = list(book.sheet_names)
    try:
        if isinstance(sheet, int):
            chosen = book.get_sheet_by_index(sheet)
        else:
            chosen = book.get_sheet_by_name(sheet if sheet is not None else names[0])
    except Exception as exc:  # calamine's WorksheetNotFound, or an index out of range
        raise InputRejected("MISSING_SHEET", f"the workbook has no sheet {sheet!r} ({exc.__class__.__name__}); "
                            f"its sheets: {', '.join(names)}", file=file, field="sheet") from None
    # calamine yields rows from the sheet's first row (leading empty rows included), so the
    # position is Excel's row number.
    try:
        yield from enumerate(chosen.iter_rows(), start=1)
    except Exception as exc:  # a damaged part inside the zip shows only while reading
        raise InputRejected("BAD_SPREADSHEET", f"the sheet cannot be read: {exc}", file=file) from None


def row_text(cells: list[Any]) -> str:
    """A spreadsheet row as one raw line (tab-separated) for the back office's raw-line view."""
    return "\t".join("" if cell is None else str(cell) for cell in cells)
