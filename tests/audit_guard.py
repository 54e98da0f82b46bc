"""Emptying the append-only audit table at the end of a transactional test (tests only).

pytest-django empties the database after a ``transaction=True`` / live-server test; on SQLite
that is a DELETE, which the audit table's trigger refuses. This lifts the guard for a moment,
removes the events and puts the guard back. PostgreSQL empties tables with TRUNCATE, which the
row triggers do not see, so nothing is needed there.
"""

from __future__ import annotations

import importlib

from django.db import connection

guard = importlib.import_module("tally.breaks.migrations.0003_audit_guard_and_policies")


def clear_audit_log() -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for sql in guard.SQLITE_DROP:
            cursor.execute(sql)
        cursor.execute("DELETE FROM breaks_auditevent")
        for sql in guard.SQLITE:
            cursor.execute(sql)
