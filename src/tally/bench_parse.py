"""`tally bench --parse`: parsing bills beside DuckDB's own CSV reader (issue 3's benchmark).

In one process, on the same files: Tally's parse + normalize + Parquet (the channel and the
lake's BillWriter, as an import runs them) against DuckDB's ``read_csv`` → Parquet, for an
N-row WeChat Pay v2 trade bill and an N-row ``table`` CSV; each step runs twice and keeps its
faster time. Then a 5N-row bill is imported by ``tally import`` in a child process whose peak RSS
is read with getrusage(RUSAGE_CHILDREN), so nothing of this process counts in it.

The files are written column-wise with pyarrow.compute, in the format synthetic.wechat_bill
writes row by row (FORMATS.md §1): a bill of millions of rows takes seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tally import channels
from tally.channels import ParseContext
from tally.channels.columnar import BillBytes, StreamingChannel
from tally.lake import BillWriter, Lake
from tally.synthetic import WECHAT_HEADER, WECHAT_SUMMARY

DAY = datetime(2026, 11, 1)  # noqa: DTZ001 - local Beijing time, as the bill writes it
RSS_FACTOR = 5  # the memory bill has 5N rows: 5M for the default N of 1M
CHUNK_ROWS = 250_000
WECHAT = {"kind": "wechatpay", "timezone": "Asia/Shanghai"}
TABLE = {"kind": "table", "format": "csv", "encoding": "utf-8", "delimiter": ",", "timezone": "Asia/Shanghai",
         "currency": "CNY", "amount_unit": "major",
         "columns": {"order_no": "order_no", "refund_no": "refund_no", "amount_minor": "amount",
                     "occurred_at": "paid_at", "record_kind": "type"},
         "values": {"record_kind": {"PAY": "payment", "REFUND": "refund"}}}
# DuckDB's reader with its own detection; the bill's two summary lines have fewer cells, hence
# null_padding (without it DuckDB refuses the file).
DUCKDB_OPTIONS = {"wechat": "null_padding = true", "table": "header = true"}


def _count(start: int, rows: int) -> pa.Array:
    return pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), rows), start=start - 1)


def _decimal_text(units: pa.Array, digits: int) -> pa.Array:
    """int64 units of 10**-digits as plain decimal text (-0.02400 for -2400 at 5 digits)."""
    scale = 10**digits
    magnitude = pc.abs(units)
    whole = pc.cast(pc.divide(magnitude, scale), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pc.subtract(magnitude, pc.multiply(pc.divide(magnitude, scale), scale)),
                                    pa.string()), digits, "0")
    return pc.binary_join_element_wise(pc.if_else(pc.less(units, 0), "-", ""), whole, ".", fraction, "")


def _padded(prefix: str, numbers: pa.Array, width: int) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(pc.cast(numbers, pa.string()), width, "0"), "")


def _write_lines(out: BinaryIO, cells: list[pa.Array | str], rows: int, prefix: str = "") -> None:
    """Rows of cells joined by commas, one line each, written as one buffer."""
    columns = [pa.repeat(cell, rows) if isinstance(cell, str) else cell for cell in cells]
    if prefix:
        columns = [pc.binary_join_element_wise(prefix, column, "") for column in columns]
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, ","), "", "\n")
    size = pc.sum(pc.binary_length(lines)).as_py()
    out.write(memoryview(lines.buffers()[2])[:size])


class _Rows:
    """One chunk of the synthetic day: row i is a refund of order i-1 when i % 8 == 7."""

    def __init__(self, start: int, rows: int, total: int) -> None:
        self.index = _count(start, rows)
        self.refund = pc.equal(pc.bit_wise_and(self.index, 7), 7)
        self.amount = pc.add(pc.multiply(pc.bit_wise_and(pc.multiply(self.index, 7919), 65535), 3), 1)  # fen
        seconds = pc.divide(pc.multiply(self.index, 86_400), total)
        moment = pc.add(pa.repeat(pa.scalar(DAY, pa.timestamp("s")), rows), pc.cast(seconds, pa.duration("s")))
        self.time = pc.strftime(moment, "%Y-%m-%d %H:%M:%S")
        self.order = _padded("D", pc.if_else(self.refund, pc.subtract(self.index, 1), self.index), 12)
        self.refund_no = pc.binary_join_element_wise("R", pc.cast(self.index, pa.string()), "")


def wechat_bill_file(path: Path, rows: int) -> None:
    """A WeChat Pay v2 ALL trade bill of ``rows`` rows with its correct summary (synthetic.wechat_bill)."""
    settle = refunded = fee_units = 0
    with open(path, "wb") as out:
        out.write((WECHAT_HEADER + "\n").encode())
        for start in range(0, rows, CHUNK_ROWS):
            size = min(CHUNK_ROWS, rows - start)
            r = _Rows(start, size, rows)
            yuan = _decimal_text(r.amount, 2)
            fee = pc.multiply(r.amount, 6)  # 0.6 % in units of 0.00001 yuan
            signed_fee = pc.if_else(r.refund, pc.negate(fee), fee)
            refund, pay = r.refund, pc.invert(r.refund)
            _write_lines(out, [
                r.time, "wx2421b1c4370ec43b", "1900000109", "0", "", _padded("4200", r.index, 24), r.order,
                "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "JSAPI", pc.if_else(refund, "REFUND", "SUCCESS"), "OTHERS", "CNY",
                pc.if_else(refund, "0.00", yuan), "0.00", pc.if_else(refund, _padded("5030", r.index, 24), "0"),
                pc.if_else(refund, r.refund_no, "0"), pc.if_else(refund, yuan, "0.00"), "0.00",
                pc.if_else(refund, "ORIGINAL", ""), pc.if_else(refund, "SUCCESS", ""), "demo goods", "",
                _decimal_text(signed_fee, 5), "0.60%", pc.if_else(refund, "0.00", yuan),
                pc.if_else(refund, yuan, "0.00"), "",
            ], size, prefix="`")
            settle += pc.sum(pc.filter(r.amount, pay)).as_py() or 0
            refunded += pc.sum(pc.filter(r.amount, refund)).as_py() or 0
            fee_units += pc.sum(signed_fee).as_py() or 0
        summary = [str(rows), _yuan(settle), _yuan(refunded), "0.00", f"{Decimal(fee_units).scaleb(-5):.5f}",
                   _yuan(settle), _yuan(refunded)]
        out.write((WECHAT_SUMMARY + "\n" + ",".join("`" + cell for cell in summary) + "\n").encode())


def _yuan(fen: int) -> str:
    return f"{Decimal(fen).scaleb(-2):.2f}"


def table_file(path: Path, rows: int) -> None:
    """The shop's own export of the same day: order_no,refund_no,amount,paid_at,type."""
    with open(path, "wb") as out:
        out.write(b"order_no,refund_no,amount,paid_at,type\n")
        for start in range(0, rows, CHUNK_ROWS):
            size = min(CHUNK_ROWS, rows - start)
            r = _Rows(start, size, rows)
            _write_lines(out, [r.order, pc.if_else(r.refund, r.refund_no, ""), _decimal_text(r.amount, 2), r.time,
                               pc.if_else(r.refund, "REFUND", "PAY")], size)


def _tally(options: dict[str, Any], path: Path, work: Path) -> int:
    """Parse + normalize + Parquet as an import does it (services.importing); returns the rows."""
    channel = channels.get(options["kind"])
    ctx = ParseContext(source="bench", options=options, bill_sha256="0" * 64, file_name=path.name)
    batches = channel.parse_stream(BillBytes(path=path), ctx) if isinstance(channel, StreamingChannel) \
        else channel.parse(path.read_bytes(), ctx)
    writer = BillWriter(Lake(work / "lake"), "bench", "0" * 64)
    for batch in batches:
        writer.write(batch)
    writer.publish()
    return writer.rows


def _duckdb(options: str, path: Path, work: Path) -> int:
    out = work / "duckdb.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{path}', {options})) TO '{out}' (FORMAT parquet)")
    return int(pq.read_metadata(out).num_rows)


def _best_of_two(step: Callable[[], int], work: Path) -> tuple[float, int]:
    best = float("inf")
    rows = 0
    for _ in range(2):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        start = time.perf_counter()
        rows = step()
        best = min(best, time.perf_counter() - start)
    shutil.rmtree(work, ignore_errors=True)
    return best, rows


def _compare(name: str, options: dict[str, Any], path: Path, work: Path) -> dict[str, Any]:
    duck_s, duck_rows = _best_of_two(lambda: _duckdb(DUCKDB_OPTIONS[name], path, work / "d"), work / "d")
    tally_s, tally_rows = _best_of_two(lambda: _tally(options, path, work / "t"), work / "t")
    return {f"{name}_mb": round(path.stat().st_size / 2**20, 1), f"{name}_tally_s": round(tally_s, 3),
            f"{name}_duckdb_s": round(duck_s, 3), f"{name}_ratio": round(tally_s / duck_s, 2),
            f"_{name}_rows": (tally_rows, duck_rows)}


def _peak_rss(bill: Path, work: Path) -> dict[str, Any]:
    """`tally apply` + `tally import` of the bill in a child that reports its children's peak RSS."""
    home = work / "home"
    toml = work / "bench.toml"
    toml.write_text('[sources.wechat]\nkind = "wechatpay"\ntimezone = "Asia/Shanghai"\n', encoding="utf-8")
    answer = subprocess.run([sys.executable, "-m", "tally.bench_parse", "import", str(toml), str(bill)],  # noqa: S603
                            env={**os.environ, "TALLY_HOME": str(home), "DATABASE_URL": f"sqlite:///{home}/db"},
                            capture_output=True, text=True, check=False)
    if answer.returncode:
        raise RuntimeError(f"the import child failed: {answer.stderr.strip()[-2000:]}")
    return dict(json.loads(answer.stdout.strip().splitlines()[-1]))


def _import_child(toml: str, bill: str) -> None:
    """Runs in a fresh process: its children are only these two commands."""
    for command in (["apply", toml], ["import", bill, "--source", "wechat"]):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tally.cli", *command],  # noqa: S603 - this interpreter
                              capture_output=True, text=True, check=False)
        if done.returncode:
            sys.exit(f"tally {command[0]} failed: {done.stderr.strip()}")
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    sys.stdout.write(json.dumps({"rss_import_s": round(seconds, 3), "tally_peak_rss_mb": round(peak_mb, 1)}) + "\n")


def run(rows: int, folder: Path | None = None) -> dict[str, Any]:
    work = Path(folder or tempfile.mkdtemp(prefix="tally-bench-parse-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        bill, table = work / "wechat.csv", work / "table.csv"
        wechat_bill_file(bill, rows)
        table_file(table, rows)
        result: dict[str, Any] = {"rows": rows}
        result |= _compare("wechat", WECHAT, bill, work / "out")
        result |= _compare("table", TABLE, table, work / "out")
        # DuckDB reads the two summary lines of the bill as rows too.
        checks = [result.pop("_wechat_rows") == (rows, rows + 2), result.pop("_table_rows") == (rows, rows)]
        bill.unlink()
        table.unlink()
        big = work / "wechat_big.csv"
        wechat_bill_file(big, rows * RSS_FACTOR)
        result |= {"rss_rows": rows * RSS_FACTOR, "rss_mb": round(big.stat().st_size / 2**20, 1)}
        result |= _peak_rss(big, work)
        result["same_rows"] = all(checks)
    finally:
        if folder is None:
            shutil.rmtree(work, ignore_errors=True)
    return result


if __name__ == "__main__" and sys.argv[1:2] == ["import"]:
    _import_child(sys.argv[2], sys.argv[3])
