"""Snapshots of the merchant's own database (source kind ``sql``).

The declared query runs with ``:day`` (YYYY-MM-DD) and ``:day_start`` / ``:day_end`` (the
business day's bounds as local ``YYYY-MM-DD HH:MM:SS`` text in the source's time zone), streamed
in batches. Its rows are written as JSON Lines (exact decimals as text), and that snapshot is
imported like any bill: archived, hashed, parsed through the source's column mapping.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tally.errors import ConfigError, OperationFailed
from tally.ingest.models import Source
from tally.services.importing import Imported, import_bill


def _url(source: Source) -> str:
    spec = source.spec
    if env := spec.get("url_env"):
        url = os.environ.get(env)
        if not url:
            raise ConfigError("MISSING_SECRET", f"environment variable {env} (url_env of {source.name}) is not set")
        return url
    return str(spec["url"])


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value  # a float stays a float, and the mapping refuses it as an amount


def snapshot(source: Source, day: date) -> bytes:
    """The query's rows for one business day as JSON Lines bytes."""
    params = {"day": day.isoformat(), "day_start": f"{day.isoformat()} 00:00:00",
              "day_end": f"{(day + timedelta(days=1)).isoformat()} 00:00:00"}
    lines: list[str] = []
    try:
        engine = sa.create_engine(_url(source))
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=10_000).execute(
                sa.text(source.spec["query"]), params)
            for partition in result.mappings().partitions():
                lines.extend(json.dumps({k: _json(v) for k, v in row.items()}, ensure_ascii=False,
                                        sort_keys=True) for row in partition)
        engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        # The message names the failing statement, never the URL (it may carry a password).
        reason = getattr(exc, "orig", None) or exc
        raise OperationFailed("SOURCE_QUERY_FAILED", f"query of {source.name} failed: {reason}") from None
    return "".join(line + "\n" for line in lines).encode()


def fetch(source: Source, day: date) -> Imported:
    return import_bill(snapshot(source, day), source.name, file_name=f"{source.name}_{day:%Y%m%d}.jsonl", day=day)
