from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request after django-htmx's middleware (for type checking only)."""

    htmx: HtmxDetails


def wants_fragment(request: HtmxHttpRequest, target: str) -> bool:
    """True when htmx asked to swap only ``#target`` (a boosted request wants the whole page)."""
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted and htmx.target == target
