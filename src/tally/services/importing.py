"""Importing a bill: archive, parse, check, normalize into the lake, all or nothing.

Order of events: parse every record into a staging folder (control totals are checked when the
parser finishes), then store the raw bytes, move the Parquet files into the lake, and finally
commit the Bill row. Only the committed row makes the bill count, so a crash at any point
leaves nothing that a run would read, and the next attempt completes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
from django.db import transaction

from tally import channels
from tally.archive import standard_name
from tally.channels import Channel, ParseContext
from tally.channels.columnar import BillBytes, StreamingChannel
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
    return _import(BillBytes(data=data), source_name, file_name=file_name, day=day)


def import_path(path: Path, source_name: str, *, file_name: str | None = None, day: date | None = None) -> Imported:
    """Import one bill straight from its file. A channel that streams (StreamingChannel) reads it
    block by block, and the archive copies it, so memory stays bounded whatever the file's size."""
    return _import(BillBytes(path=path), source_name, file_name=str(path) if file_name is None else file_name,
                   day=day)


def _import(raw: BillBytes, source_name: str, *, file_name: str, day: date | None) -> Imported:
    source = source_named(source_name)
    digest = raw.sha256()
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
        for batch in _parse(channel, raw, ctx):
            writer.write(batch)
        bill_day = day or _day_of(writer, file_name)
        # A streaming channel tells the extension from the first bytes (StreamingChannel).
        ext = channel.extension(raw.head() if isinstance(channel, StreamingChannel) else raw.read(), ctx)
        with transaction.atomic():
            seq = Bill.objects.filter(source=source, business_day=bill_day, status=Bill.Status.IMPORTED).count() + 1
            name = standard_name(category(source), source.name, bill_day, seq, ext)
            if raw.path is not None:
                archive().put_file(raw.path, source.name, name, digest)
            else:
                archive().put(raw.read(), source.name, name)
            days = writer.publish()
            bill = Bill.objects.create(
                source=source, name=name, sha256=digest, business_day=bill_day, status=Bill.Status.IMPORTED,
                rows=writer.rows, size_bytes=raw.size, original_name=file_name[-255:],
                days=[d.isoformat() for d in days], source_version=version,
            )
            Bill.objects.filter(source=source, sha256=digest, status=Bill.Status.REJECTED).delete()
    except TallyError as exc:
        writer.discard()
        exc.located(file=file_name)
        _record_rejection(source, digest, raw.size, file_name, day, exc)
        raise
    except BaseException:
        writer.discard()
        raise
    return Imported(bill, already=False)


def _parse(channel: Channel, raw: BillBytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
    if isinstance(channel, StreamingChannel):
        return channel.parse_stream(raw, ctx)
    return channel.parse(raw.read(), ctx)


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


def _record_rejection(source: Source, digest: str, size: int, file_name: str, day: date | None,
                      exc: TallyError) -> None:
    """Keep the fact of the rejection (name, hash, error), never the bytes or records."""
    Bill.objects.update_or_create(
        source=source, sha256=digest, status=Bill.Status.REJECTED,
        defaults={"name": file_name.rsplit("/", 1)[-1][:200], "business_day": day, "rows": 0,
                  "size_bytes": size, "original_name": file_name[-255:], "error_code": exc.code,
                  "error": str(exc)},
    )
