"""FX rates from a CSV file (``tally rates import FILE.csv``): all rows or none.

The file has a header ``day,base,quote,rate`` (extra columns are ignored): one rate per business
day and currency pair, ``rate`` units of ``quote`` per one ``base`` as plain decimal text
(``7.1234``). A row already there with the same rate is unchanged; a different rate replaces it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from tally.breaks.models import FxRate
from tally.errors import ConfigError, InputRejected, TallyError
from tally.money import currency_code, parse_decimal

COLUMNS = ("day", "base", "quote", "rate")


@dataclass
class RatesImported:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pairs: set[tuple[str, str]] = field(default_factory=set)


def _row(row: dict[str, str], file: str, line: int) -> tuple[date, str, str, Decimal]:
    try:
        day = date.fromisoformat((row["day"] or "").strip())
    except ValueError:
        raise InputRejected("BAD_DATE", f"day {row['day']!r} is not a date YYYY-MM-DD", file=file, line=line,
                            field="day") from None
    try:
        base, quote = currency_code(row["base"] or ""), currency_code(row["quote"] or "")
        rate = parse_decimal(row["rate"] or "")
    except TallyError as exc:
        raise InputRejected(exc.code, exc.message, file=file, line=line, hint=exc.hint) from None
    if rate <= 0 or base == quote:
        raise InputRejected("BAD_RATE", f"rate {row['rate']!r} for {base}/{quote} is not a rate",
                            file=file, line=line, field="rate", hint="a positive number between two currencies")
    return day, base, quote, rate


def import_rates(path: Path) -> RatesImported:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError("FILE_NOT_FOUND", f"cannot read {path}: {exc.strerror}", file=file) from None
    except UnicodeDecodeError:
        raise InputRejected("BAD_ENCODING", "the rates file is not UTF-8 text", file=file) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputRejected("MISSING_COLUMN", f"the rates file has no column {', '.join(missing)}", file=file, line=1,
                            hint=f"the header is {','.join(COLUMNS)}")
    rows: dict[tuple[date, str, str], Decimal] = {}
    for row in reader:
        line = reader.line_num
        day, base, quote, rate = _row(row, file, line)
        if (day, base, quote) in rows and rows[(day, base, quote)] != rate:
            raise InputRejected("DUPLICATE_RATE", f"{day} {base}/{quote} is given twice with different rates",
                                file=file, line=line)
        rows[(day, base, quote)] = rate
    result = RatesImported()
    with transaction.atomic():
        for (day, base, quote), rate in rows.items():
            text_rate = str(rate)
            current = FxRate.objects.filter(day=day, base=base, quote=quote).first()
            result.pairs.add((base, quote))
            if current is None:
                FxRate.objects.create(day=day, base=base, quote=quote, rate=text_rate, source=path.name)
                result.created += 1
            elif Decimal(current.rate) == rate:
                result.unchanged += 1
            else:
                current.rate, current.source = text_rate, path.name
                current.save(update_fields=["rate", "source", "imported_at"])
                result.updated += 1
    return result
