"""Sources: the list, and one source's declaration and versions (by name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from tally.ingest.models import Source
from tally.web.api.auth import require
from tally.web.permissions import VIEW_SOURCES

router = Router(tags=["sources"])


class SourceOut(Schema):
    name: str
    kind: str
    version: int | None
    bills: int
    updated_at: datetime


class VersionOut(Schema):
    number: int
    kind: str
    via: str
    created_at: datetime


class SourceDetail(SourceOut):
    spec: dict[str, Any]
    versions: list[VersionOut]


def _out(source: Any) -> dict[str, Any]:
    return {"name": source.name, "kind": source.kind, "version": source.version, "bills": source.bill_count,
            "updated_at": source.updated_at}


def _annotated() -> Any:
    return Source.objects.annotate(version=Max("versions__number"), bill_count=Count("bills", distinct=True))


@router.get("/", response=list[SourceOut], summary="Every source")
def source_list(request: HttpRequest) -> list[dict[str, Any]]:
    require(request, VIEW_SOURCES)
    return [_out(s) for s in _annotated().order_by("name")]


@router.get("/{name}", response=SourceDetail, summary="One source: its declaration and versions")
def source_detail(request: HttpRequest, name: str) -> dict[str, Any]:
    require(request, VIEW_SOURCES)
    source = get_object_or_404(_annotated(), name=name)
    versions = [{"number": v.number, "kind": v.kind, "via": v.via, "created_at": v.created_at}
                for v in source.versions.order_by("-number")]
    return {**_out(source), "spec": source.spec, "versions": versions}
