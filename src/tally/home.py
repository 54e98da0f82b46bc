"""Where Tally keeps its files: ``TALLY_HOME`` (default ``./tally-data``)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("TALLY_HOME", "./tally-data")).resolve()


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{home() / 'tally.sqlite3'}"


def engine_name() -> str:
    return os.environ.get("TALLY_ENGINE", "duckdb")
