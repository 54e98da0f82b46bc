"""Applying source and plan declarations (``tally apply``) and writing them back (``tally export``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from django.db import transaction

from tally import config
from tally.breaks.models import Plan
from tally.engine.plan import Plan as PlanSpec
from tally.errors import ConfigError
from tally.ingest.models import Source, SourceVersion
from tally.services.sources import current_version


@dataclass
class Applied:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def apply_file(path: Path) -> Applied:
    return apply(config.load(path), file=str(path))


@transaction.atomic
def apply(decl: config.Declarations, *, file: str | None = None) -> Applied:
    """Create or update every declared source and plan; the same file twice changes nothing."""
    applied = Applied()
    known = set(Source.objects.values_list("name", flat=True)) | set(decl.sources)
    for name, spec in decl.plans.items():
        plan = PlanSpec.from_spec(name, spec, file=file)
        missing = [s for s in plan.sources if s not in known]
        if missing:
            raise ConfigError("UNKNOWN_SOURCE", f"plans.{name} refers to undeclared source(s) {', '.join(missing)}",
                              file=file, field=f"plans.{name}", hint="declare them under [sources.NAME]")
    for name, spec in decl.sources.items():
        _upsert(Source, name, spec, applied, extra={"kind": spec["kind"]})
        current_version(Source.objects.get(name=name), via=SourceVersion.Via.APPLY)  # a change is a new version
    for name, spec in decl.plans.items():
        _upsert(Plan, name, spec, applied, bump=True)
    return applied


def _upsert(model: Any, name: str, spec: dict[str, Any], applied: Applied, *, extra: dict[str, Any] | None = None,
            bump: bool = False) -> None:
    label = f"{model.__name__.lower()} {name}"
    obj = model.objects.filter(name=name).first()
    if obj is None:
        model.objects.create(name=name, spec=spec, **(extra or {}))
        applied.created.append(label)
    elif obj.spec != spec:
        obj.spec = spec
        for key, value in (extra or {}).items():
            setattr(obj, key, value)
        if bump:
            obj.version += 1
        obj.save()
        applied.updated.append(label)
    else:
        applied.unchanged.append(label)


def export_file(path: Path) -> None:
    data = {
        "sources": {s.name: s.spec for s in Source.objects.all()},
        "plans": {p.name: p.spec for p in Plan.objects.all()},
    }
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
