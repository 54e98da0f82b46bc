from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tally.breaks.models import Action, Break
from tally.errors import NotAllowed
from tally.services import audit, resolution
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db


def test_maker_checker_round_trip() -> None:
    maker, checker = f.user("operator"), f.user("approver")
    brk = f.brk(kind="long", theirs=500)
    action = resolution.propose([brk.pk], "supplement", maker)
    brk.refresh_from_db()
    assert (action.state, brk.status) == ("proposed", "pending_approval")
    with pytest.raises(NotAllowed) as exc:
        resolution.approve(action.pk, maker)
    assert exc.value.code == "SELF_APPROVAL"
    resolution.approve(action.pk, checker)
    brk.refresh_from_db()
    action.refresh_from_db()
    assert (action.state, brk.status, brk.resolution) == ("applied", "resolved", "supplement")
    assert action.adjustments.get().amount_minor == 500
    assert audit.verify().ok
    assert [e.action for e in audit.history(brk)] == ["propose", "await_approval", "approve", "apply", "supplement"]


def test_suspend_and_reopen_due() -> None:
    maker = f.user("operator")
    brk = f.brk()
    until = timezone.localdate() + dt.timedelta(days=3)
    resolution.suspend(brk, maker, "waiting for the bank", until)
    assert Break.objects.get(pk=brk.pk).status == "suspended"
    assert resolution.reopen_due(until - dt.timedelta(days=1)) == 0
    assert resolution.reopen_due(until) == 1
    assert Break.objects.get(pk=brk.pk).status == "open"
    assert Action.objects.filter(kind="reopen", rule="review_date").count() == 1
    assert audit.verify().ok
