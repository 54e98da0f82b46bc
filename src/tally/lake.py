"""The lake: normalized records as Parquet, partitioned by source and business day.

``records/source=<name>/day=<yyyy-mm-dd>/<bill_sha256>.parquet``: one file per bill and day,
written to a temporary name and renamed into place. Which files count is decided by the
database (a bill is imported only once its files are all in place), so a crash mid-import
leaves at most orphan files that the next import of the same bill overwrites.
Run results (matched pairs) live under ``results/plan=<name>/day=<yyyy-mm-dd>/``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tally.records import SCHEMA


class Lake:
    def __init__(self, root: Path) -> None:
        self.root = root

    def record_path(self, source: str, day: date, bill_sha256: str) -> Path:
        return self.root / "records" / f"source={source}" / f"day={day.isoformat()}" / f"{bill_sha256}.parquet"

    def results_dir(self, plan: str, day: date) -> Path:
        return self.root / "results" / f"plan={plan}" / f"day={day.isoformat()}"

    def staging_dir(self) -> Path:
        path = self.root / "staging" / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path


def write_table(table: pa.Table, path: Path) -> None:
    """Write a small table whole: to a temporary name, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


class BillWriter:
    """Writes one bill's record batches into per-day Parquet files in a staging folder;
    :meth:`publish` moves them into the lake only after the whole bill parsed cleanly."""

    def __init__(self, lake: Lake, source: str, bill_sha256: str) -> None:
        self.lake = lake
        self.source = source
        self.bill_sha256 = bill_sha256
        self.staging = lake.staging_dir()
        self._writers: dict[date, pq.ParquetWriter] = {}
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one batch; nothing is kept in memory past this call but the open writers."""
        table = pa.Table.from_batches([batch], schema=SCHEMA)
        days = table.column("business_day").unique().to_pylist()
        for day in days:
            part = table if len(days) == 1 else \
                table.filter(pc.equal(table.column("business_day"), pa.scalar(day, pa.date32())))
            writer = self._writers.get(day)
            if writer is None:
                writer = pq.ParquetWriter(self.staging / f"{day.isoformat()}.parquet", SCHEMA)
                self._writers[day] = writer
            writer.write_table(part)
        self.rows += batch.num_rows

    @property
    def days(self) -> list[date]:
        return sorted(self._writers)

    def publish(self) -> list[date]:
        """Close the files and rename them into their partitions; returns the days written."""
        for writer in self._writers.values():
            writer.close()
        days = sorted(self._writers)
        for day in days:
            target = self.lake.record_path(self.source, day, self.bill_sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = self.staging / f"{day.isoformat()}.parquet"
            with open(staged, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(staged, target)
        self.discard()
        return days

    def discard(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        shutil.rmtree(self.staging, ignore_errors=True)


