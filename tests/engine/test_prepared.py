"""Browse pages from SQL compiled once per shape are the pages Ibis compiles each time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tally.bench_web import _write_day
from tally.engine import browse, prepared
from tally.errors import ConfigError

ENGINE = "duckdb"


def _lake_file(tmp_path: Path, rows: int = 3_000) -> str:
    path = tmp_path / "records" / "source=wechat" / "day=2024-06-30" / f"{'be' * 32}.parquet"
    _write_day(path, rows)
    return str(path)


def _walk(query: browse.Query, pages: int = 3) -> list[browse.Page]:
    out, after = [], None
    for _ in range(pages):
        page = browse.page(query, ENGINE, after=after, limit=40)
        out.append(page)
        if page.next_after is None:
            break
        after = page.next_after
    return out


def _compiled_each_time(con: Any, engine: str, shape: Any, build: prepared.Build, values: Any) -> Any:
    return build(values).to_pyarrow()


@pytest.mark.parametrize("changes", [
    {},
    {"descending": True},
    {"record_kind": "refund"},
    {"currency": "CNY", "min_amount_minor": 1_000, "max_amount_minor": 500_000},
    {"sort": "amount_minor"},
    {"sort": "order_no", "descending": True, "status": "SUCCESS"},
    {"sort": "occurred_at"},  # a time cursor: the ordinary path
    {"search": "W0000000123"},
    {"search": "R0000000010"},
    {"search": "nothing like it"},
])
def test_the_same_pages_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any]) -> None:
    query = replace(browse.Query(files=(_lake_file(tmp_path),)), **changes)
    fast = _walk(query)
    monkeypatch.setattr(prepared, "to_pyarrow", _compiled_each_time)
    assert _walk(query) == fast
    assert browse.count(query, ENGINE) == sum(len(page.rows) for page in _walk(query, pages=1_000))


def test_a_shape_is_compiled_once_and_its_values_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    query = browse.Query(files=(_lake_file(tmp_path),), record_kind="payment")
    compiled: list[str] = []
    original = prepared._prepare

    def counting(con: Any, build: prepared.Build, values: Any) -> Any:
        entry = original(con, build, values)
        compiled.append(entry[1] if entry else "")
        return entry

    monkeypatch.setattr(prepared, "_prepare", counting)
    pages = _walk(query, pages=4)
    assert len(compiled) == 2  # the first page, then every page after a cursor
    assert "$1" in compiled[1]
    assert "payment" not in compiled[1]
    assert [row["line_no"] for page in pages for row in page.rows] == sorted(
        row["line_no"] for page in pages for row in page.rows)
    assert all(row["record_kind"] == "payment" for page in pages for row in page.rows)


def test_a_stale_cursor_is_still_refused(tmp_path: Path) -> None:
    query = browse.Query(files=(_lake_file(tmp_path),), sort="amount_minor")
    with pytest.raises(ConfigError) as refused:
        browse.page(query, ENGINE, after=(1,))
    assert refused.value.code == "BAD_CURSOR"
