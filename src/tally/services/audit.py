"""Writing and checking the audit log (``tally.breaks.audit``).

``record()`` appends one event to the chain inside the caller's transaction, so a change and its
event are committed together or not at all. ``verify()`` recomputes every hash in order and names
the first event where the chain breaks: an edited event (its hash no longer matches its content),
a removed one (a gap in ``seq``, or a ``prev_hash`` that is not the previous event's hash).

Removing the newest events leaves a shorter chain that is still consistent; ``verify()`` prints
the head (count and last hash) so it can be written down elsewhere and compared
(``tally audit verify --expect-head``; docs/workflow.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import Model, Q
from django.utils import timezone

from tally.breaks.audit import GENESIS, AuditEvent, jsonable
from tally.breaks.models import Break

Actor = AbstractBaseUser | AnonymousUser | str | None


def actor_of(by: Actor, *, rule: str = "", rule_version: str = "") -> tuple[str, int | None]:
    """How the log names who acted: a username, ``rule:NAME@VERSION``, or ``system``."""
    if isinstance(by, str):
        return by, None
    if by is not None and by.is_authenticated:
        return by.get_username(), int(by.pk)
    if rule:
        return f"rule:{rule}@{rule_version or '-'}", None
    return "system", None


def record(by: Actor, obj: Model | tuple[str, object], action: str, before: Any = None, after: Any = None, *,
           rule: str = "", rule_version: str = "") -> AuditEvent:
    """Append one event: ``obj`` is a model instance or ``(object_type, object_id)``."""
    if isinstance(obj, Model):
        object_type, object_id = obj._meta.model_name or type(obj).__name__.lower(), str(obj.pk)
    else:
        object_type, object_id = obj[0], str(obj[1])
    actor, actor_id = actor_of(by, rule=rule, rule_version=rule_version)
    with transaction.atomic():
        _serialize_writers()
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        event = AuditEvent(seq=(last.seq + 1) if last else 1, at=_now(), actor=actor[:160], actor_id=actor_id,
                           object_type=object_type, object_id=object_id, action=action,
                           before=jsonable(before), after=jsonable(after), prev_hash=last.hash if last else GENESIS)
        event.hash = event.computed_hash()
        event.save()
    return event


def _now() -> Any:
    # Whole microseconds in UTC: what every database stores and gives back unchanged.
    return timezone.now()


def _serialize_writers() -> None:
    """One appender at a time. SQLite's transactions here are IMMEDIATE (one writer already);
    PostgreSQL takes a transaction-scoped advisory lock. The unique ``prev_hash`` is the backstop."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(7243110)")


@dataclass(frozen=True)
class Verified:
    ok: bool
    count: int
    head: str
    broken_seq: int | None = None
    problem: str = ""


def verify(*, expect_head: str | None = None) -> Verified:
    """Recompute the chain from the first event; stop at the first broken link. ``expect_head``:
    a head written down earlier, which the chain must still contain (newest events removed)."""
    expected_prev, expected_seq, count, seen = GENESIS, 1, 0, expect_head is None
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            return Verified(False, count, expected_prev, expected_seq,
                            f"event {expected_seq} is missing (the next one is {event.seq})")
        if event.prev_hash != expected_prev:
            return Verified(False, count, expected_prev, event.seq,
                            f"event {event.seq} does not follow event {event.seq - 1} (prev_hash differs)")
        if event.computed_hash() != event.hash:
            return Verified(False, count, expected_prev, event.seq,
                            f"event {event.seq} was changed after it was written (hash differs)")
        expected_prev, expected_seq, count = event.hash, event.seq + 1, count + 1
        seen = seen or event.hash == expect_head
    if not seen:
        return Verified(False, count, expected_prev, expected_seq,
                        f"the head {expect_head} written down earlier is no longer in the log (events removed)")
    return Verified(True, count, expected_prev)


def history(brk: Break) -> list[AuditEvent]:
    """Every event about a break: its own, and those of the actions, comments and files on it."""
    action_ids = [str(pk) for pk in brk.actions.values_list("pk", flat=True)]
    query = Q(object_type="break", object_id=str(brk.pk)) | Q(object_type="action", object_id__in=action_ids)
    return list(AuditEvent.objects.filter(query).order_by("seq"))


def events_for(object_type: str, ids: Iterable[object]) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=object_type, object_id__in=[str(i) for i in ids]))
