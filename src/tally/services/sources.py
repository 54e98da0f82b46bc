"""Sources and their versions: declaring a source adds a version whenever its declaration changes.

A version is written once and never edited (docs/adr/0007-mapping-versions.md). Whatever path
changed a source (``tally apply``, the back office, an edit in the admin pages), the next use
of the source records its current declaration as a new version if it differs from the latest,
so a bill always names the exact declaration it was parsed under.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from tally import config
from tally.errors import ConfigError
from tally.ingest.models import Source, SourceVersion

# A Django user (or None): who made the change, kept with the version.
User = Any


@dataclass(frozen=True)
class Declared:
    source: Source
    version: SourceVersion
    created: bool
    changed: bool


def latest_version(source: Source) -> SourceVersion | None:
    return source.versions.order_by("-number").first()


@transaction.atomic
def current_version(source: Source, *, via: str = SourceVersion.Via.RECORDED,
                    by: User | None = None) -> SourceVersion:
    """The version matching the source's declaration now, added when the latest one differs."""
    Source.objects.select_for_update().filter(pk=source.pk).first()  # one writer of version numbers
    latest = latest_version(source)
    if latest is not None and latest.spec == source.spec and latest.kind == source.kind:
        return latest
    return SourceVersion.objects.create(
        source=source, number=(latest.number + 1) if latest else 1, kind=source.kind, spec=source.spec, via=via,
        created_by=by if by is not None and by.is_authenticated else None,
    )


@transaction.atomic
def declare(name: str, spec: dict[str, Any], *, via: str, by: User | None = None,
            new: bool = False) -> Declared:
    """Create or change a source (validated first); a changed declaration is a new version.

    ``new=True`` refuses to change an existing source (the back office's "new source" form).
    """
    spec = config.validate_source(name, spec)
    source = Source.objects.select_for_update().filter(name=name).first()
    if source is not None and new:
        raise ConfigError("SOURCE_EXISTS", f"a source named {name!r} already exists", field="name",
                          hint="choose another name, or change the existing source")
    created = source is None
    if source is None:
        source = Source.objects.create(name=name, kind=spec["kind"], spec=spec)
    elif source.spec != spec or source.kind != spec["kind"]:
        source.spec, source.kind = spec, spec["kind"]
        source.save()
    before = latest_version(source)
    version = current_version(source, via=via, by=by)
    return Declared(source, version, created, changed=before is None or version.pk != before.pk)


def version_of(source: Source, number: int | None) -> SourceVersion:
    """Version ``number`` of the source (its current one when None)."""
    if number is None:
        return current_version(source)
    found = source.versions.filter(number=number).first()
    if found is None:
        numbers = ", ".join(str(n) for n in source.versions.order_by("number").values_list("number", flat=True))
        raise ConfigError("UNKNOWN_VERSION", f"source {source.name} has no version {number}",
                          hint=f"its versions: {numbers}")
    return found


def spec_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """What differs between two declarations, by dotted key: ``(key, old, new)``; a missing side is None."""
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        path = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(spec_changes(a, b, f"{path}."))
        elif a != b:
            changes.append((path, a, b))
    return changes
