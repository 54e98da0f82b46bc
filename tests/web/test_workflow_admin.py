"""Admins edit approval policies and plan access in the admin; actions and audit events are read-only there."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tally.breaks.models import AuditEvent
from tally.services import policy, resolution
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db


def admin_client() -> Client:
    User.objects.create_superuser("root", password="pw-root-1")
    client = Client()
    client.login(username="root", password="pw-root-1")
    return client


def test_policy_is_editable_and_takes_effect() -> None:
    client = admin_client()
    assert client.get("/admin/breaks/approvalpolicy/").status_code == 200
    row = policy.set_policy("adjust", requires_approval=True, threshold_minor=0)
    answer = client.post(f"/admin/breaks/approvalpolicy/{row.pk}/change/",
                         {"kind": "adjust", "requires_approval": "on", "threshold_minor": "5000"})
    assert answer.status_code == 302
    assert policy.policy_for("adjust").threshold_minor == 5000
    assert resolution.propose([f.brk().pk], "adjust", f.user("operator"), amount_minor=5000,
                              reason="small").state == "applied"


def test_audit_events_cannot_be_changed_or_deleted_in_the_admin() -> None:
    client = admin_client()
    resolution.comment(f.brk(), f.user("operator"), "x")
    event = AuditEvent.objects.get()
    assert client.get("/admin/breaks/auditevent/").status_code == 200
    assert client.post(f"/admin/breaks/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
