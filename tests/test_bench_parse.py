"""`tally bench --parse` runs end to end on a tiny bill and prints its figures (no timing asserted)."""

from __future__ import annotations

import json

import pytest

from tally.cli import main

pytestmark = pytest.mark.django_db


def test_parse_bench_prints_its_json_keys(capsys) -> None:
    assert main(["bench", "--parse", "--rows", "400", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {
        "rows", "wechat_mb", "wechat_tally_s", "wechat_duckdb_s", "wechat_ratio", "table_mb", "table_tally_s",
        "table_duckdb_s", "table_ratio", "rss_rows", "rss_mb", "rss_import_s", "tally_peak_rss_mb", "same_rows"}
    assert (result["rows"], result["rss_rows"], result["same_rows"]) == (400, 2000, True)
    assert result["tally_peak_rss_mb"] > 0
