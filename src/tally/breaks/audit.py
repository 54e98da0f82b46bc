"""The audit log: append-only and hash-chained.

Each event's ``hash`` is the SHA-256 of the canonical JSON of its content together with the
previous event's hash (``prev_hash``; 64 zeros for the first). Changing any stored field, or
removing an event, breaks the chain at that point, which ``tally audit verify`` reports. ``seq``
numbers events 1, 2, 3 … without gaps, and ``prev_hash`` is unique, so two writers can never
fork the chain (the second one fails and retries).

Rows are never updated or deleted: ``save()`` refuses an existing row, ``delete()`` refuses,
the manager's ``update()``/``delete()`` refuse, and the migration installs triggers that make
the database itself refuse UPDATE and DELETE (SQLite and PostgreSQL).

The actor is kept as text (the username, or ``rule:NAME@VERSION`` / ``system``) plus the user's
id, not a foreign key: deleting a user must not rewrite history.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.db import models

GENESIS = "0" * 64


class AppendOnly(Exception):
    """An attempt to change or remove an audit event."""


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("audit events cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit events cannot be deleted")


class AuditEvent(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=160)
    actor_id = models.BigIntegerField(null=True, blank=True)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    action = models.CharField(max_length=32)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ("seq",)
        indexes = (models.Index(fields=("object_type", "object_id")),)

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None or kwargs.get("force_update"):
            raise AppendOnly("audit events cannot be changed once written")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit events cannot be deleted")

    def content(self) -> dict[str, Any]:
        """The fields the hash covers, as JSON values."""
        return {"seq": self.seq, "at": timestamp(self.at), "actor": self.actor, "actor_id": self.actor_id,
                "object_type": self.object_type, "object_id": self.object_id, "action": self.action,
                "before": self.before, "after": self.after}

    def computed_hash(self) -> str:
        return chain_hash(self.content(), self.prev_hash)


def timestamp(at: datetime) -> str:
    """UTC, microseconds, always the same spelling (what the database gives back)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(content: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical({"event": content, "prev_hash": prev_hash}).encode()).hexdigest()


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON (dates as ISO text), so what is hashed is what is stored and read back."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
