"""Leases: one worker at a time fetches a source's day or runs a plan, however many workers run.

A lease is a row with a unique name, so taking it is one INSERT that either succeeds or fails on
the unique constraint — the same on SQLite and PostgreSQL, on one host or many. A lease past its
``expires_at`` is free again (its holder died); ``free_dead_holders`` frees at once the leases of
processes on this host that are gone, which is what a restarted worker does first.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from tally.errors import OperationFailed
from tally.ingest.models import Lease


class LeaseHeld(OperationFailed):
    def __init__(self, name: str, holder: str) -> None:
        super().__init__("LEASE_HELD", f"{name} is being worked on by {holder}", hint="it will be tried again later")


def holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def lease(name: str, ttl: timedelta) -> Iterator[None]:
    """Hold ``name`` for the block; LeaseHeld when another holder has it."""
    me = holder()
    now = timezone.now()
    with transaction.atomic():
        Lease.objects.filter(name=name, expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=me, acquired_at=now, expires_at=now + ttl)
    except IntegrityError:
        current = Lease.objects.filter(name=name).values_list("holder", flat=True).first() or "another worker"
        raise LeaseHeld(name, current) from None
    try:
        yield
    finally:
        Lease.objects.filter(name=name, holder=me).delete()


def free_dead_holders() -> int:
    """Free the leases of this host's processes that no longer run; returns how many."""
    freed = 0
    for pk, who in Lease.objects.filter(holder__startswith=f"{socket.gethostname()}:").values_list("pk", "holder"):
        if gone(who):
            freed += Lease.objects.filter(pk=pk, holder=who).delete()[0]
    return freed


def gone(who: str) -> bool:
    """True when ``who`` (a ``holder()``) is a process of this host that no longer runs."""
    host, _, pid = who.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
