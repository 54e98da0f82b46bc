"""Sources: the list, and one source with its versions, the difference between two, and its bills."""

from __future__ import annotations

from typing import Any

import tomli_w
from django.db.models import Count, Max
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from tally.ingest.models import Bill, Source, SourceVersion
from tally.services.sources import spec_changes
from tally.web.permissions import VIEW_SOURCES, requires
from tally.web.views.requests import HtmxHttpRequest

BILLS_SHOWN = 50


@require_safe
@requires(VIEW_SOURCES)
def source_list(request: HtmxHttpRequest) -> HttpResponse:
    sources = Source.objects.annotate(version=Max("versions__number"), bill_count=Count("bills", distinct=True))
    return render(request, "tally/sources/list.html", {"sources": sources.order_by("name")})


@require_safe
@requires(VIEW_SOURCES)
def source_detail(request: HtmxHttpRequest, name: str) -> HttpResponse:
    source = get_object_or_404(Source, name=name)
    versions = list(SourceVersion.objects.filter(source=source).select_related("created_by").order_by("-number"))
    numbers = [v.number for v in versions]
    compare = _pair(request.GET, numbers)
    changes: list[tuple[str, Any, Any]] | None = None
    if compare is not None:
        by_number = {v.number: v for v in versions}
        old, new = by_number[compare[0]], by_number[compare[1]]
        changes = spec_changes({**old.spec, "kind": old.kind}, {**new.spec, "kind": new.kind})
    bills = Bill.objects.filter(source=source).select_related("source", "source_version").order_by("-received_at")
    context = {
        "source": source, "versions": versions, "current": versions[0] if versions else None,
        "toml": _toml(source), "compare": compare, "changes": changes,
        "bills": bills[:BILLS_SHOWN], "bill_count": bills.count(),
    }
    return render(request, "tally/sources/detail.html", context)


def _pair(query: Any, numbers: list[int]) -> tuple[int, int] | None:
    """The two versions to compare: ``?a=&b=``, or by default the last change (previous → current)."""
    try:
        a, b = int(query.get("a", "")), int(query.get("b", ""))
    except ValueError:
        return (numbers[1], numbers[0]) if len(numbers) >= 2 else None
    return (a, b) if a in numbers and b in numbers else None


def _toml(source: Source) -> str:
    """The declaration as `tally export` writes it (a [sources.NAME] table)."""
    return tomli_w.dumps({"sources": {source.name: source.spec}})
