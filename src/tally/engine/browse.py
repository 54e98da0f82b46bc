"""Browsing the lake's records: filter, search, sort and page through tens of millions of rows.

Engine-neutral like ``compile``: the engine comes from ``compile.connect`` and every query is
an Ibis expression, so the same browse runs on DuckDB and on Spark. Three habits keep a page
cheap however large the day:

- **Keyset pages.** A page is the first ``limit`` rows *after* the previous page's last row in
  the sort order (the sort column, then ``bill_sha256`` and ``line_no``, which identify a record).
  The leading ``column >= value`` condition lets the engine skip whole Parquet row groups, so
  page 1,000 costs what page 1 costs; nothing ever counts or skips rows to find a page.
- **Counting apart.** A page never counts; ``count`` is its own query, asked for separately.
- **A key index for search.** Searching an order number (or refund number, or channel
  transaction id) reads a small sidecar file per lake file: every key with its line number,
  sorted by key, built once on first search (``index/`` beside ``records/`` in the lake, derived
  data that may be deleted at any time). The sorted key lets the engine read only the row group
  holding it; the matching lines are then read from the record file by line number.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tally.engine import prepared
from tally.engine.compile import connect
from tally.errors import ConfigError
from tally.records import SCHEMA

# What a page may be sorted by; nullable columns sort with a stand-in for null so keyset
# comparisons stay total (nulls first when ascending).
SORTS: dict[str, Any] = {
    "line_no": None, "business_day": None, "amount_minor": None, "fee_minor": None,
    "occurred_at": datetime(1970, 1, 1, tzinfo=UTC), "order_no": "", "record_kind": None, "status": "",
}
TIEBREAK = ("bill_sha256", "line_no")
TEXT_FILTERS = ("record_kind", "currency", "status")
KEYS = ("order_no", "refund_no", "channel_txn_id")
MAX_LIMIT = 1_000


@dataclass(frozen=True)
class Query:
    """Which records: the lake files of a source's days (the lake keeps one file per bill and
    business day, so the files are the days), narrowed by the filters."""

    files: tuple[str, ...]
    record_kind: str | None = None
    currency: str | None = None
    status: str | None = None
    search: str | None = None
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None
    sort: str = "line_no"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ConfigError("BAD_SORT", f"records cannot be sorted by {self.sort!r}", field="sort",
                              hint=f"sort by one of {', '.join(SORTS)}")


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    # The last row's sort key, to ask for the next page; None when this is the last page.
    next_after: tuple[Any, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_LOCAL = threading.local()


def _connection(engine: str) -> Any:
    """One connection per thread and engine: the engine keeps Parquet footers it has read."""
    cons: dict[str, Any] = getattr(_LOCAL, "cons", None) or {}
    _LOCAL.cons = cons
    if engine not in cons:
        con = connect(engine)
        if engine == "duckdb":
            # Many small queries at once: one thread each (a page's scan stops after a row group or
            # two, and the web server already runs requests side by side), footers read once.
            con.raw_sql("SET threads = 1")
            con.raw_sql("SET parquet_metadata_cache = true")
        cons[engine] = con
    return cons[engine]


def _table(con: Any, files: tuple[str, ...] | list[str], tag: str) -> ir.Table:
    """The files as one table, registered once per connection (the engine caches their footers)."""
    if not files:
        return ibis.memtable(SCHEMA.empty_table())
    known: dict[str, ir.Table] | None = getattr(con, "_tally_browse_tables", None)
    if known is None:
        known = {}
        con._tally_browse_tables = known
    name = f"browse_{tag}_" + hashlib.sha256("\n".join(files).encode()).hexdigest()[:20]
    if name not in known:
        table = con.read_parquet(list(files), table_name=name)
        # Only the record's own columns (a path like day=2024-05-01/ may otherwise read as one more).
        extra = [c for c in table.columns if c not in SCHEMA.names and c not in ("key",)]
        known[name] = table.drop(*extra) if extra else table
    return known[name]


def _sort_value(table: ir.Table, name: str) -> ir.Value:
    stand_in = SORTS.get(name)
    column = table[name]
    return column if stand_in is None else column.fill_null(stand_in)


def _hits(con: Any, query: Query, engine: str) -> tuple[tuple[str, ...], list[int] | None]:
    """The files to read and, for a search, the line numbers holding the key (None: no search)."""
    if not query.search:
        return query.files, None
    lines = _search_lines(con, query.files, query.search.strip(), engine)
    return tuple(f for f in query.files if lines.get(f)), sorted({n for found in lines.values() for n in found})


def _filtered(con: Any, query: Query, files: tuple[str, ...], wanted: list[int] | None) -> ir.Table:
    if not files:
        return ibis.memtable(SCHEMA.empty_table())
    table = _table(con, files, "records")
    for name in TEXT_FILTERS:
        value = getattr(query, name)
        if value:
            table = table.filter(table[name] == value)
    if query.min_amount_minor is not None:
        table = table.filter(table.amount_minor >= query.min_amount_minor)
    if query.max_amount_minor is not None:
        table = table.filter(table.amount_minor <= query.max_amount_minor)
    if wanted is not None:
        table = table.filter(table.line_no.between(wanted[0], wanted[-1]) & table.line_no.isin(wanted))
        key = (query.search or "").strip()
        table = table.filter((table.order_no == key) | (table.refund_no == key) | (table.channel_txn_id == key))
    return table


# --- a page's values apart from its shape (tally.engine.prepared compiles each shape once) -------

def _values(query: Query, wanted: list[int] | None, after: tuple[Any, ...] | None) -> list[Any]:
    """The values a page's query compares with, in the order ``_rebind`` takes them back."""
    values: list[Any] = [getattr(query, name) for name in TEXT_FILTERS if getattr(query, name)]
    values += [v for v in (query.min_amount_minor, query.max_amount_minor) if v is not None]
    if wanted is not None:
        values += [(query.search or "").strip(), *wanted]
    return values + list(after or ())


def _rebind(query: Query, wanted: list[int] | None, after: tuple[Any, ...] | None,
            values: Sequence[Any]) -> tuple[Query, list[int] | None, tuple[Any, ...] | None]:
    """``query``, ``wanted`` and ``after`` holding ``values`` (in ``_values``'s order) instead."""
    taken = iter(values)
    changes = {name: next(taken) for name in TEXT_FILTERS if getattr(query, name)}
    changes |= {name: next(taken) for name in ("min_amount_minor", "max_amount_minor")
                if getattr(query, name) is not None}
    if wanted is not None:
        changes["search"] = next(taken)
        wanted = [next(taken) for _ in wanted]
    after = None if after is None else tuple(next(taken) for _ in after)
    return replace(query, **changes), wanted, after


def _shape(kind: str, query: Query, files: tuple[str, ...], wanted: list[int] | None,
           after: tuple[Any, ...] | None, *extra: Any) -> tuple[Any, ...]:
    masked = _rebind(query, wanted, after, ["?"] * len(_values(query, wanted, after)))[0]
    return (kind, files, masked, None if wanted is None else len(wanted), None if after is None else len(after),
            *extra)


def _order(query: Query) -> list[str]:
    """The sort column, then what makes the order total: the line number, and the bill when
    there are several files (one file is one bill, so its line numbers are unique)."""
    ties = TIEBREAK if len(query.files) > 1 else ("line_no",)
    return [query.sort, *[c for c in ties if c != query.sort]]


def _keyed(table: ir.Table, query: Query, order: list[str], after: tuple[Any, ...] | None) -> ir.Table:
    keyed = table.mutate(**{f"_k{n}": _sort_value(table, c) for n, c in enumerate(order)})
    if after is not None:
        keyed = keyed.filter(_after(keyed, len(order), after, query.descending))
    direction = ibis.desc if query.descending else ibis.asc
    return keyed.order_by([direction(keyed[f"_k{n}"]) for n in range(len(order))])


def page(query: Query, engine: str, *, after: tuple[Any, ...] | None = None, limit: int = 50) -> Page:
    """Up to ``limit`` records in the sort order, after the row whose sort key is ``after``.

    Two small queries: the sort keys alone find the page's records (the engine reads two or
    three columns, not all of them), then those records are read whole by bill and line. Each
    query's SQL is compiled once per shape (tally.engine.prepared)."""
    limit = max(1, min(limit, MAX_LIMIT))
    con = _connection(engine)
    files, wanted = _hits(con, query, engine)
    order = _order(query)
    values = _values(query, wanted, after)
    if order == ["line_no"]:
        # One bill in file order: the line-number keyset skips to the page's row group, so the
        # records are read whole at once, in the simplest query there is.
        if after is not None and len(after) != 1:
            raise ConfigError("BAD_CURSOR", "this page link is out of date", field="after",
                              hint="start again from the first page")

        def in_order(bound: Sequence[Any]) -> ir.Table:
            q, w, a = _rebind(query, wanted, after, bound)
            table = _filtered(con, q, files, w)
            if a is not None:
                table = table.filter(table.line_no < a[0] if q.descending else table.line_no > a[0])
            return table.order_by(ibis.desc("line_no") if q.descending else "line_no").limit(limit + 1)

        shape = _shape("lines", query, files, wanted, after, limit)
        rows = prepared.to_pyarrow(con, engine, shape, in_order, values).to_pylist()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows=rows, next_after=(rows[-1]["line_no"],) if more and rows else None)

    def keys(bound: Sequence[Any]) -> ir.Table:
        q, w, a = _rebind(query, wanted, after, bound)
        keyed = _keyed(_filtered(con, q, files, w), q, order, a)
        return keyed.select("bill_sha256", "line_no", *[f"_k{n}" for n in range(len(order))]).limit(limit + 1)

    shape = _shape("keys", query, files, wanted, after, limit)
    found = prepared.to_pyarrow(con, engine, shape, keys, values).to_pylist()
    more = len(found) > limit
    found = found[:limit]
    if not found:
        return Page(rows=[])
    lines = sorted({row["line_no"] for row in found})

    def whole(bound: Sequence[Any]) -> ir.Table:
        q, w, _ = _rebind(query, wanted, None, bound[: -len(lines)])
        table, chosen = _filtered(con, q, files, w), bound[-len(lines):]
        return table.filter(table.line_no.between(chosen[0], chosen[-1]) & table.line_no.isin(chosen))

    shape = _shape("whole", query, files, wanted, None, len(lines))
    records = prepared.to_pyarrow(con, engine, shape, whole, _values(query, wanted, None) + lines)
    by_record = {(row["bill_sha256"], row["line_no"]): row for row in records.to_pylist()}
    rows = [by_record[(row["bill_sha256"], row["line_no"])] for row in found]
    last = found[-1]
    next_after = tuple(last[f"_k{n}"] for n in range(len(order))) if more else None
    return Page(rows=rows, next_after=next_after)


def _after(table: ir.Table, width: int, after: tuple[Any, ...], descending: bool) -> ir.BooleanValue:
    if len(after) != width:
        raise ConfigError("BAD_CURSOR", "this page link is out of date", field="after",
                          hint="start again from the first page")
    keys = [table[f"_k{n}"] for n in range(width)]

    def beyond(key: ir.Value, value: Any) -> ir.BooleanValue:
        return key < value if descending else key > value

    # (k0 > v0) or (k0 = v0 and k1 > v1) or …; the plain k0 >= v0 in front lets the scan skip row groups.
    clause: ir.BooleanValue | None = None
    for n in range(width):
        term = beyond(keys[n], after[n])
        for m in range(n):
            term = term & (keys[m] == after[m])
        clause = term if clause is None else clause | term
    lead = keys[0] <= after[0] if descending else keys[0] >= after[0]
    return lead & clause


def count(query: Query, engine: str) -> int:
    con = _connection(engine)
    return int(_filtered(con, query, *_hits(con, query, engine)).count().execute())


def batches(query: Query, engine: str, *, chunk: int = 200_000) -> Iterator[pa.Table]:
    """Every matching record in the sort order, ``chunk`` at a time (exports of any size, in
    bounded memory): each chunk is the next keyset page, read whole."""
    con = _connection(engine)
    table = _filtered(con, query, *_hits(con, query, engine))
    order = _order(query)
    after: tuple[Any, ...] | None = None
    while True:
        part = _keyed(table, query, order, after).limit(chunk).to_pyarrow()
        if part.num_rows == 0:
            return
        last = part.slice(part.num_rows - 1).to_pylist()[0]
        after = tuple(last[f"_k{n}"] for n in range(len(order)))
        yield part.select(list(SCHEMA.names))
        if part.num_rows < chunk:
            return


def cursor_text(after: tuple[Any, ...]) -> list[str]:
    """The sort key as text for a URL (dates and times in ISO form)."""
    return ["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in after]


def cursor_from_text(query: Query, parts: list[str]) -> tuple[Any, ...]:
    """A URL's sort key back as typed values; BAD_CURSOR when it does not fit the sort."""
    order = _order(query)
    if len(parts) != len(order):
        raise ConfigError("BAD_CURSOR", "this page link is out of date", field="after",
                          hint="start again from the first page")
    values: list[Any] = []
    for name, text in zip(order, parts, strict=True):
        kind = SCHEMA.field(name).type
        try:
            if pa.types.is_integer(kind):
                values.append(int(text))
            elif pa.types.is_date(kind):
                values.append(date.fromisoformat(text))
            elif pa.types.is_timestamp(kind):
                values.append(datetime.fromisoformat(text))
            else:
                values.append(text)
        except ValueError:
            raise ConfigError("BAD_CURSOR", "this page link is out of date", field="after",
                              hint="start again from the first page") from None
    return tuple(values)


# --- the key index ---------------------------------------------------------------------------

def index_path(record_file: str) -> Path:
    """``…/records/source=S/day=D/SHA.parquet`` → ``…/index/source=S/day=D/SHA.<stamp>.keys.parquet``.

    The stamp (size and mtime of the record file) retires an index when its file is replaced."""
    path = Path(record_file)
    stat = path.stat()
    parts = list(path.parts)
    if "records" in parts:
        parts[len(parts) - 1 - parts[::-1].index("records")] = "index"
        folder = Path(*parts).parent
    else:
        folder = path.parent / ".index"
    return folder / f"{path.stem}.{stat.st_size:x}{stat.st_mtime_ns:x}.keys.parquet"


def ensure_index(record_file: str, engine: str) -> Path:
    target = index_path(record_file)
    if target.exists():
        return target
    con = connect(engine)  # all the engine's threads: this sorts every key of the file once
    table = con.read_parquet(record_file)
    stacked = [table.select(key=table[name], line_no=table.line_no).filter(lambda t: t.key.notnull() & (t.key != ""))
               for name in KEYS]
    keys = stacked[0].union(*stacked[1:], distinct=False).order_by(["key", "line_no"])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    # The engine sorts and writes it (row groups of sorted keys: a lookup reads one of them).
    try:
        keys.to_parquet(tmp)
    finally:
        if engine == "duckdb":
            con.disconnect()
    os.replace(tmp, target)
    return target


def _search_lines(con: Any, files: tuple[str, ...], key: str, engine: str) -> dict[str, list[int]]:
    """Per record file, the line numbers whose order_no, refund_no or channel_txn_id is ``key``."""
    found: dict[str, list[int]] = {}
    for record_file in files:
        path = str(ensure_index(record_file, engine))

        def lookup(bound: Sequence[Any], path: str = path) -> ir.Table:
            index = _table(con, [path], "index")
            return index.filter(index.key == bound[0]).select("line_no")

        hits = prepared.to_pyarrow(con, engine, ("index", path), lookup, [key]).column("line_no").to_pylist()
        if hits:
            found[record_file] = sorted(set(hits))
    return found


def with_search(query: Query, search: str | None) -> Query:
    return replace(query, search=search or None)
