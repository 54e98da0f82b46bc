"""Offset paging shared by the API's list endpoints.

The bounds live in the schema, so an out-of-range ``limit`` or ``offset`` is a documented 422
before any query runs (an offset past 64 bits would otherwise overflow the database driver).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000


class Paged(Schema):
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def page(query: QuerySet[Any], paged: Paged, out: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """One page of ``query`` as ``{"count", "items"}``, each item rendered by ``out``."""
    window = query[paged.offset:paged.offset + paged.limit]
    return {"count": query.count(), "items": [out(row) for row in window]}
