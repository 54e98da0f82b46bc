"""Compiled once, run many times: an Ibis expression's SQL kept per query shape (DuckDB).

Building and compiling a data-browser page's expression took longer than DuckDB took to answer it
(5–10 ms of Python against about 10 ms of scan). Two pages of the same day differ in values — a
keyset cursor, a search key, a filter — not in shape. So ``to_pyarrow`` builds the expression once
per shape with stand-in values, compiles it, turns each stand-in into a ``$n`` placeholder, and
from then on runs that SQL with the request's values bound: the same query, without Ibis.

Only whole numbers and text are bound this way; any other value (a date, a time: Ibis writes them
as function calls), any engine but DuckDB, or a shape whose stand-ins do not all come out as
plain literals takes the ordinary path: build with the values, compile, run.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot.expressions as sge

SHAPES_PER_CONNECTION = 256
# Stand-ins nothing real comes near: line numbers, amounts and keys are far from 2**62 and never
# hold a NUL character.
_NUMBER = 2**62
_TEXT = "\x00tally-value-{}\x00"

Build = Callable[[Sequence[Any]], ir.Table]


def to_pyarrow(con: Any, engine: str, shape: Hashable, build: Build, values: Sequence[Any]) -> pa.Table:
    """``build(values).to_pyarrow()``, from SQL compiled once per ``shape`` when the engine allows.

    ``shape`` must name everything ``build`` does with ``values`` but the values themselves
    (which filters, how many cursor keys, which files, the limit)."""
    if engine != "duckdb" or not all(type(v) in (int, str) for v in values):
        return build(values).to_pyarrow()
    cache: OrderedDict[Hashable, tuple[ir.Table, str] | None] | None = getattr(con, "_tally_prepared", None)
    if cache is None:
        cache = OrderedDict()
        con._tally_prepared = cache
    key = (shape, tuple(type(v) for v in values))
    if key in cache:
        cache.move_to_end(key)
        entry = cache[key]
    else:
        entry = _prepare(con, build, values)
        cache[key] = entry
        if len(cache) > SHAPES_PER_CONNECTION:
            cache.popitem(last=False)
    if entry is None:
        return build(values).to_pyarrow()
    expr, sql = entry
    from ibis.backends.duckdb.converter import DuckDBPyArrowData

    # What Ibis's own to_pyarrow does with the result: the expression's schema and types.
    table = con.con.sql(sql, params=list(values) or None).to_arrow_table()
    return expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)


def _prepare(con: Any, build: Build, values: Sequence[Any]) -> tuple[ir.Table, str] | None:
    stand_ins = [_NUMBER + n if type(v) is int else _TEXT.format(n) for n, v in enumerate(values)]
    expr = build(stand_ins).as_table()
    if expr.op().find(ops.InMemoryTable):
        return None  # registered with the connection only while Ibis holds it: not kept here
    placeholders = {(str(s), isinstance(s, str)): n + 1 for n, s in enumerate(stand_ins)}
    seen: set[int] = set()

    def swap(node: sge.Expression) -> sge.Expression:
        if isinstance(node, sge.Literal):
            n = placeholders.get((str(node.this), bool(node.is_string)))
            if n is not None:
                seen.add(n)
                return sge.Placeholder(this=str(n))
        return node

    query = con.compiler.to_sqlglot(expr).transform(swap)
    sql = query.sql(dialect=con.dialect)
    if len(seen) != len(stand_ins) or str(_NUMBER)[:12] in sql or "\x00" in sql:
        return None  # a stand-in was rewritten into something else: not safe to bind
    return expr, sql
