"""FX rates from a CSV file (``tally rates import FILE.csv``): all rows or none.

The file has a header ``day,base,quote,rate`` (extra columns are ignored): one rate per business
day and currency pair, ``rate`` units of ``quote`` per one ``base`` as plain decimal text
(``7.1234``). A row already there with the same rate is unchanged; a different rate replaces it.
The same file uploaded in the back office or over the API goes through ``import_rates_bytes``,
at most ``MAX_BYTES``; every row is checked before any is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from django.db import transaction
from django.db.models import QuerySet

from tally.breaks.models import FxRate
from tally.errors import ConfigError, InputRejected, TallyError
from tally.money import currency_code, parse_decimal

COLUMNS = ("day", "base", "quote", "rate")
MAX_BYTES = 5 * 1024 * 1024  # a rates file is a few hundred lines; years of daily rates fit many times over
MAX_RATE_CHARS = 40  # FxRate.rate's column
T = TypeVar("T")


@dataclass
class RatesImported:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pairs: set[tuple[str, str]] = field(default_factory=set)


def _cell(row: dict[str, str], name: str, parse: Callable[[str], T], file: str | None = None,
          line: int | None = None) -> T:
    try:
        return parse(row[name] or "")
    except TallyError as exc:
        raise InputRejected(exc.code, f"{name}: {exc.message}", file=file, line=line, field=name,
                            hint=exc.hint) from None


def _row(row: dict[str, str], file: str, line: int) -> tuple[date, str, str, Decimal]:
    try:
        day = date.fromisoformat((row["day"] or "").strip())
    except ValueError:
        raise InputRejected("BAD_DATE", f"day {row['day']!r} is not a date YYYY-MM-DD", file=file, line=line,
                            field="day") from None
    base, quote = _cell(row, "base", currency_code, file, line), _cell(row, "quote", currency_code, file, line)
    rate = _cell(row, "rate", parse_decimal, file, line)
    if rate <= 0 or base == quote or len(str(rate)) > MAX_RATE_CHARS:
        raise InputRejected("BAD_RATE", f"rate {row['rate']!r} for {base}/{quote} is not a rate",
                            file=file, line=line, field="rate", hint="a positive number between two currencies")
    return day, base, quote, rate


def import_rates(path: Path) -> RatesImported:
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError("FILE_NOT_FOUND", f"cannot read {path}: {exc.strerror}", file=file) from None
    return import_rates_bytes(data, file, source=path.name)


def import_rates_bytes(data: bytes, file: str, *, source: str | None = None) -> RatesImported:
    """Import the rates file ``data`` (named ``file`` in errors; ``source`` is kept on each rate)."""
    if len(data) > MAX_BYTES:
        raise InputRejected("FILE_TOO_LARGE", f"the rates file is larger than {MAX_BYTES // 1024**2} MB", file=file,
                            hint="split it into several files")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputRejected("BAD_ENCODING", "the rates file is not UTF-8 text", file=file) from None
    rows = _parse(text, file)
    return _store(rows, source if source is not None else file)


def _parse(text: str, file: str) -> dict[tuple[date, str, str], Decimal]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputRejected("MISSING_COLUMN", f"the rates file has no column {', '.join(missing)}", file=file,
                                line=1, hint=f"the header is {','.join(COLUMNS)}")
        rows: dict[tuple[date, str, str], Decimal] = {}
        for row in reader:
            line = reader.line_num
            day, base, quote, rate = _row(row, file, line)
            if (day, base, quote) in rows and rows[(day, base, quote)] != rate:
                raise InputRejected("DUPLICATE_RATE", f"{day} {base}/{quote} is given twice with different rates",
                                    file=file, line=line)
            rows[(day, base, quote)] = rate
    except csv.Error as exc:  # a field past csv's size limit (131,072 characters)
        raise InputRejected("BAD_CSV", f"the rates file is not CSV: {exc}", file=file, line=reader.line_num) from None
    if not rows:
        raise InputRejected("NO_RATES", "the rates file has a header but no rates", file=file, line=2)
    return rows


def _store(rows: dict[tuple[date, str, str], Decimal], source: str) -> RatesImported:
    result = RatesImported()
    with transaction.atomic():
        for (day, base, quote), rate in rows.items():
            text_rate = str(rate)
            current = FxRate.objects.filter(day=day, base=base, quote=quote).first()
            result.pairs.add((base, quote))
            if current is None:
                FxRate.objects.create(day=day, base=base, quote=quote, rate=text_rate, source=source)
                result.created += 1
            elif Decimal(current.rate) == rate:
                result.unchanged += 1
            else:
                current.rate, current.source = text_rate, source
                current.save(update_fields=["rate", "source", "imported_at"])
                result.updated += 1
    return result


def rates(day: date | None = None, base: str | None = None, quote: str | None = None) -> QuerySet[FxRate]:
    """The rates table, newest day first, narrowed to a day and a currency pair where given."""
    query = FxRate.objects.all()
    if day is not None:
        query = query.filter(day=day)
    for name, value in (("base", base), ("quote", quote)):
        if value:
            query = query.filter(**{name: _cell({name: value}, name, currency_code)})
    return query.order_by("-day", "base", "quote")
