"""Reading an archived bill again: under the version it was imported with, or under another one.

``reparse`` only looks: it parses the archived bytes and compares the records with the ones the
bill has in the lake, line by line, and writes nothing. ``reimport`` is the deliberate act: it
replaces the bill's records with those of the chosen version, all or nothing, and the bill then
names that version. Runs already done keep their results; re-run the affected days.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.db import transaction

from tally import channels
from tally.channels import ParseContext
from tally.errors import ConfigError, OperationFailed, TallyError
from tally.ingest.models import Bill, SourceVersion
from tally.lake import BillWriter
from tally.records import SCHEMA, as_rows
from tally.services.sources import current_version, version_of
from tally.services.workspace import archive, lake

# Provenance columns are the same on both sides by construction; the rest is what a change shows.
COMPARED = tuple(name for name in SCHEMA.names if name not in ("bill_sha256", "line_no"))
DETAIL_LIMIT = 1000


@dataclass(frozen=True)
class Change:
    line: int
    fields: dict[str, tuple[Any, Any]]


@dataclass
class Diff:
    """What re-parsing a bill under ``to_version`` would change, by line (details of the first 1000)."""

    bill: str
    source: str
    from_version: int | None
    to_version: int
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def empty(self) -> bool:
        return not (self.counts["added"] or self.counts["removed"] or self.counts["changed"])

    def as_dict(self) -> dict[str, Any]:
        return {"bill": self.bill, "source": self.source, "from_version": self.from_version,
                "to_version": self.to_version, **{k: self.counts[k] for k in ("added", "removed", "changed",
                                                                               "unchanged")}}


def bill_named(name: str) -> Bill:
    bill = Bill.objects.filter(name=name, status=Bill.Status.IMPORTED).select_related("source",
                                                                                       "source_version").first()
    if bill is None:
        raise ConfigError("UNKNOWN_BILL", f"there is no imported bill named {name!r}", hint="`tally bills` lists them")
    return bill


def import_version(bill: Bill) -> SourceVersion:
    return bill.source_version or current_version(bill.source)


def _parse(bill: Bill, version: SourceVersion) -> pa.Table:
    data = archive().get(bill.sha256)
    ctx = ParseContext(source=bill.source.name, options={**version.spec, "kind": version.kind},
                       bill_sha256=bill.sha256, file_name=bill.name)
    batches = list(channels.get(version.kind).parse(data, ctx))
    return pa.Table.from_batches(batches, schema=SCHEMA)


def _stored(bill: Bill) -> pa.Table:
    paths = [lake().record_path(bill.source.name, date.fromisoformat(d), bill.sha256) for d in bill.days]
    tables = [pq.read_table(path, schema=SCHEMA) for path in paths if path.exists()]
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def _keyed(table: pa.Table) -> dict[tuple[int, int], dict[str, Any]]:
    """Records by (line, n-th record of that line): most formats give one record per line."""
    seen: Counter[int] = Counter()
    keyed = {}
    for record in as_rows(table.sort_by("line_no")):
        line = record["line_no"]
        keyed[(line, seen[line])] = record
        seen[line] += 1
    return keyed


def reparse(bill: Bill, version: int | SourceVersion | None = None) -> Diff:
    """Parse the archived bill under ``version`` (default: its import version) and compare."""
    target = version if isinstance(version, SourceVersion) else (
        import_version(bill) if version is None else version_of(bill.source, version))
    diff = Diff(bill.name, bill.source.name, bill.source_version.number if bill.source_version else None,
                target.number)
    old, new = _keyed(_stored(bill)), _keyed(_parse(bill, target))
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before is None:
            kind = "added"
            if diff.counts[kind] < DETAIL_LIMIT:
                diff.added.append(after)  # type: ignore[arg-type]
        elif after is None:
            kind = "removed"
            if diff.counts[kind] < DETAIL_LIMIT:
                diff.removed.append(before)
        else:
            fields = {n: (before[n], after[n]) for n in COMPARED if before[n] != after[n]}
            kind = "changed" if fields else "unchanged"
            if fields and diff.counts[kind] < DETAIL_LIMIT:
                diff.changed.append(Change(key[0], fields))
        diff.counts[kind] += 1
    return diff


def reimport(bill: Bill, version: int | SourceVersion) -> Bill:
    """Replace the bill's records with those parsed under ``version``; all or nothing."""
    target = version if isinstance(version, SourceVersion) else version_of(bill.source, version)
    if target.source.pk != bill.source.pk:
        raise ConfigError("UNKNOWN_VERSION", f"version {target.number} belongs to another source")
    ctx = ParseContext(source=bill.source.name, options={**target.spec, "kind": target.kind},
                       bill_sha256=bill.sha256, file_name=bill.name)
    writer = BillWriter(lake(), bill.source.name, bill.sha256)
    backup = lake().staging_dir()
    old_days = list(bill.days)
    try:
        for batch in channels.get(target.kind).parse(archive().get(bill.sha256), ctx):
            writer.write(batch)
        saved = _save(bill, old_days, backup)
        try:
            with transaction.atomic():
                locked = Bill.objects.select_for_update().get(pk=bill.pk)
                days = writer.publish()
                locked.rows, locked.days, locked.source_version = writer.rows, [d.isoformat() for d in days], target
                locked.save(update_fields=["rows", "days", "source_version"])
        except BaseException:
            _restore(saved)  # the old files back, as the (rolled back) row still lists them
            raise
    except TallyError:
        writer.discard()
        raise
    except OSError as exc:
        writer.discard()
        raise OperationFailed("REIMPORT_FAILED", f"could not replace the records of {bill.name}: {exc}") from exc
    finally:
        shutil.rmtree(backup, ignore_errors=True)
    for stale in set(old_days) - set(locked.days):
        lake().record_path(bill.source.name, date.fromisoformat(stale), bill.sha256).unlink(missing_ok=True)
    return locked


def _save(bill: Bill, days: list[str], backup: Path) -> list[tuple[Path, Path]]:
    """Hard links to the bill's current lake files, to put back if replacing them fails."""
    saved: list[tuple[Path, Path]] = []
    for day in days:
        path = lake().record_path(bill.source.name, date.fromisoformat(day), bill.sha256)
        copy = backup / f"{day}.parquet"
        if path.exists():
            os.link(path, copy)
            saved.append((path, copy))
    return saved


def _restore(saved: list[tuple[Path, Path]]) -> None:
    for path, copy in saved:
        os.replace(copy, path)
