"""The worker reopens suspended breaks on their review date (an hourly periodic task)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tally.breaks.models import Break
from tally.services import resolution
from tally.worker import build_huey, register
from tests.services import workflow_factories as f


@pytest.mark.django_db
def test_the_hourly_task_reopens_due_suspensions(tally_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    huey = build_huey(redis_url="", name=f"test-{uuid.uuid4().hex[:8]}")
    huey.immediate = True
    register(huey)
    [task] = [t for t in huey._registry._periodic_tasks if t.__name__ == "tally.reopen_due"]
    due, later = f.brk(), f.brk()
    maker = f.user("operator")
    resolution.suspend(due, maker, "waiting", timezone.localdate() + timedelta(days=1))
    resolution.suspend(later, maker, "waiting", timezone.localdate() + timedelta(days=9))
    Break.objects.filter(pk=due.pk).update(suspended_until=timezone.localdate())
    assert task().execute() == 1
    assert Break.objects.get(pk=due.pk).status == "open"
    assert Break.objects.get(pk=later.pk).status == "suspended"
