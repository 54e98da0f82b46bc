"""`tally audit verify` and the append-only guard; `tally approve`/`reject` refuse one's own action."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tally.breaks.audit import AppendOnly, AuditEvent
from tally.cli import main
from tally.services import resolution
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db


def _history(n: int = 3) -> list[AuditEvent]:
    maker = f.user("operator")
    for _ in range(n):
        resolution.comment(f.brk(), maker, "looked at it")
    return list(AuditEvent.objects.order_by("seq"))


def _unguard() -> None:
    """What someone with the database's own rights would do first (the test DB is rolled back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE breaks_auditevent DISABLE TRIGGER breaks_auditevent_append_only")
        else:
            cursor.execute("DROP TRIGGER breaks_auditevent_no_update")
            cursor.execute("DROP TRIGGER breaks_auditevent_no_delete")


def test_verify_passes_on_an_intact_log_and_prints_the_head(capsys: pytest.CaptureFixture[str]) -> None:
    events = _history()
    assert main(["audit", "verify"]) == 0
    assert f"{len(events)} events, head {events[-1].hash}" in capsys.readouterr().out


def test_verify_fails_with_audit_broken_when_a_row_is_edited_with_raw_sql(capsys: pytest.CaptureFixture[str]) -> None:
    events = _history()
    _unguard()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE breaks_auditevent SET actor = %s WHERE seq = %s", ["somebody_else", events[1].seq])
    assert main(["audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert "error[AUDIT_BROKEN]" in err
    assert f"event {events[1].seq}" in err


def test_verify_fails_when_a_row_is_deleted_with_raw_sql(capsys: pytest.CaptureFixture[str]) -> None:
    events = _history()
    _unguard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM breaks_auditevent WHERE seq = %s", [events[1].seq])
    assert main(["audit", "verify"]) == 2
    assert f"event {events[1].seq} is missing" in capsys.readouterr().err


def test_a_rewritten_chain_still_fails_against_the_head_written_down(capsys: pytest.CaptureFixture[str]) -> None:
    events = _history()
    head = events[-1].hash
    _unguard()
    with connection.cursor() as cursor:  # the newest event removed: the rest is a consistent shorter chain
        cursor.execute("DELETE FROM breaks_auditevent WHERE seq = %s", [events[-1].seq])
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--expect-head", head]) == 2
    assert "no longer in the log" in capsys.readouterr().err


def test_the_database_itself_refuses_update_and_delete() -> None:
    event = _history(1)[0]
    for sql in ("UPDATE breaks_auditevent SET actor = 'x' WHERE id = %s",
                "DELETE FROM breaks_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor == event.actor


def test_the_model_and_its_manager_refuse_update_and_delete() -> None:
    event = _history(1)[0]
    event.actor = "x"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(actor="x")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_cli_approve_refuses_the_maker_and_accepts_another_approver(capsys: pytest.CaptureFixture[str]) -> None:
    maker, checker = f.user("admin"), f.user("approver")  # an admin holds every permission: still refused
    action = resolution.propose([f.brk().pk], "write_off", maker, reason_code="small_difference")
    assert main(["approve", str(action.pk), "--as", maker.username]) == 2
    assert "error[SELF_APPROVAL]" in capsys.readouterr().err
    assert main(["reject", str(action.pk), "--as", maker.username, "--reason", "no"]) == 2
    assert "error[SELF_APPROVAL]" in capsys.readouterr().err
    assert main(["actions", "--json"]) == 0
    assert f'"id": {action.pk}' in capsys.readouterr().out
    assert main(["approve", str(action.pk), "--as", checker.username]) == 0
    assert "applied" in capsys.readouterr().out
