"""Importing a bill: archive, parse, check, normalize into the lake, all or nothing.

Order of events: parse every record into a staging folder (control totals are checked when the
parser finishes), then store the raw bytes, move the Parquet files into the lake, and finally
commit the Bill row. Only the committed row makes the bill count, so a crash at any point
leaves nothing that a run would read, and the next attempt completes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.db import transaction

from tally import channels
from tally.archive import sha256, standard_name
from tally.channels import ParseContext
from tally.errors import ConfigError, InputRejected, TallyError
from tally.ingest.models import Bill, Source
from tally.lake import BillWriter
from tally.services.sources import current_version
from tally.services.workspace import archive, lake

_DAY_IN_NAME = re.compile(r"(20\d{2})-?(\d{2})-?(\d{2})")


@dataclass(frozen=True)
class Imported:
    bill: Bill
    already: bool


def source_named(name: str) -> Source:
    source = Source.objects.filter(name=name).first()
    if source is None:
        raise ConfigError("UNKNOWN_SOURCE", f"there is no source named {name!r}",
                          hint="declare it with `tally apply FILE.toml`; `tally bills` lists the known ones")
    return source


def context(source: Source, *, bill_sha256: str = "", file_name: str = "") -> ParseContext:
    return ParseContext(source=source.name, options={**source.spec, "kind": source.kind},
                        bill_sha256=bill_sha256, file_name=file_name)


def category(source: Source) -> str:
    return str(source.spec.get("category") or ("ord" if source.kind == "sql" else channels.get(source.kind).category))


def import_bill(data: bytes, source_name: str, *, file_name: str, day: date | None = None) -> Imported:
    """Import one bill; the same bytes for the same day again is the same bill (``already``)."""
    source = source_named(source_name)
    digest = sha256(data)
    done = Bill.objects.filter(source=source, sha256=digest, status=Bill.Status.IMPORTED)
    if day is not None:
        done = done.filter(business_day=day)
    if (bill := done.first()) is not None:
        return Imported(bill, already=True)
    # The declaration this bill is parsed under, kept with it (docs/adr/0007-mapping-versions.md).
    version = current_version(source)
    channel = channels.get(source.kind)
    ctx = context(source, bill_sha256=digest, file_name=file_name)
    writer = BillWriter(lake(), source.name, digest)
    try:
        for batch in channel.parse(data, ctx):
            writer.write(batch)
        bill_day = day or _day_of(writer, file_name)
        ext = channel.extension(data, ctx)
        with transaction.atomic():
            seq = Bill.objects.filter(source=source, business_day=bill_day, status=Bill.Status.IMPORTED).count() + 1
            name = standard_name(category(source), source.name, bill_day, seq, ext)
            archive().put(data, source.name, name)
            days = writer.publish()
            bill = Bill.objects.create(
                source=source, name=name, sha256=digest, business_day=bill_day, status=Bill.Status.IMPORTED,
                rows=writer.rows, size_bytes=len(data), original_name=file_name[-255:],
                days=[d.isoformat() for d in days], source_version=version,
            )
            Bill.objects.filter(source=source, sha256=digest, status=Bill.Status.REJECTED).delete()
    except TallyError as exc:
        writer.discard()
        exc.located(file=file_name)
        _record_rejection(source, digest, data, file_name, day, exc)
        raise
    except BaseException:
        writer.discard()
        raise
    return Imported(bill, already=False)


def _day_of(writer: BillWriter, file_name: str) -> date:
    """A bill's business day: the earliest day of its records, else a date in its file name."""
    if writer.days:
        return writer.days[0]
    found = _DAY_IN_NAME.search(file_name)
    if found:
        try:
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        except ValueError:
            pass
    raise InputRejected("NEEDS_DAY", "the bill has no records and no date in its name",
                        hint="say which business day it is for with --day YYYY-MM-DD")


def _record_rejection(source: Source, digest: str, data: bytes, file_name: str, day: date | None,
                      exc: TallyError) -> None:
    """Keep the fact of the rejection (name, hash, error), never the bytes or records."""
    Bill.objects.update_or_create(
        source=source, sha256=digest, status=Bill.Status.REJECTED,
        defaults={"name": file_name.rsplit("/", 1)[-1][:200], "business_day": day, "rows": 0,
                  "size_bytes": len(data), "original_name": file_name[-255:], "error_code": exc.code,
                  "error": str(exc)},
    )
