"""Runs from the back office: start (operators only), live progress, history, manifests, re-run
from a day; queued for the worker when one beats, else on a thread; hidden plans stay hidden."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tally.breaks.models import DayResult, Plan, PlanAccess, Run
from tally.web import jobs
from tally.web.models import Heartbeat, RunJob
from tally.worker import build_huey, register
from tests.services.factories import import_csv, plan, table_source

from .factories import wait_for
from .office_factories import role_user

DAY = date(2024, 5, 1)


def two_sided(days: int = 2) -> str:
    table_source("shop")
    table_source("bank")
    for n in range(days):
        day = DAY + timedelta(days=n)
        import_csv("shop", day, ("A1", "12.34"), ("A2", "5.00"))
        import_csv("bank", day, ("A1", "12.34"), ("A3", "7.00"))
    plan("bank_vs_shop", "shop", "bank", carry_over_days=0)
    return "bank_vs_shop"


def client_for(role: str | None) -> Client:
    client = Client()
    client.force_login(role_user(role))
    return client



@pytest.mark.django_db(transaction=True)
def test_an_operator_starts_a_run_on_a_thread_when_no_worker_beats_and_sees_it_finish() -> None:
    name = two_sided(2)
    client = client_for("operator")
    response = client.post(reverse("run-start", args=[name]), {"first": DAY, "last": DAY + timedelta(days=1)})
    assert response.status_code == 302
    job = RunJob.objects.get()
    assert response["Location"] == reverse("run-job", args=[job.pk])
    assert job.via == "thread"
    job = wait_for(RunJob, job.pk)
    assert job.status == "done", job.error
    assert (job.days_done, job.days_total, job.current_day) == (2, 2, DAY + timedelta(days=1))
    assert job.run is not None
    assert job.run.status == Run.Status.DONE
    assert DayResult.objects.filter(plan__name=name).count() == 2
    progress = client.get(reverse("run-job-progress", args=[job.pk]))
    assert b"2 of 2 days done" in progress.content
    assert b"hx-trigger" not in progress.content  # finished: it stops asking
    assert reverse("run-detail", args=[job.run.pk]).encode() in progress.content


@pytest.mark.django_db
def test_progress_keeps_polling_while_the_job_goes_on() -> None:
    two_sided(1)
    job = RunJob.objects.create(plan=Plan.objects.get(), first_day=DAY, last_day=DAY + timedelta(days=2), via="worker",
                                status=RunJob.Status.RUNNING, days_total=3, days_done=1, current_day=DAY)
    response = client_for("viewer").get(reverse("run-job-progress", args=[job.pk]))
    assert b'hx-trigger="every 1s"' in response.content
    assert b'<progress id="progress-bar" max="3" value="1">' in response.content


# Transactional: the worker's task hooks close connections that are inside a transaction, as a
# test's connection otherwise is (on PostgreSQL that would close it under the test).
@pytest.mark.django_db(transaction=True)
def test_with_a_live_worker_the_run_is_queued_and_the_worker_runs_it(tally_home: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_HOME", str(tally_home))
    monkeypatch.setenv("TALLY_QUEUE_NAME", f"test-{uuid.uuid4().hex[:8]}")
    name = two_sided(1)
    jobs.beat("worker:test")
    response = client_for("operator").post(reverse("run-start", args=[name]), {"first": DAY})
    assert response.status_code == 302
    job = RunJob.objects.get()
    assert (job.via, job.status) == ("worker", "queued")
    # The worker's queue (built as tally worker builds it) holds the job; the worker runs it.
    huey = build_huey(redis_url="")
    register(huey)
    message = huey.dequeue()
    assert message is not None
    assert message.name == "tally.start_run"
    assert huey.execute(message) == "done"
    assert RunJob.objects.get().status == "done"
    assert DayResult.objects.filter(plan__name=name, day=DAY).exists()


@pytest.mark.django_db
def test_an_old_heartbeat_is_no_worker() -> None:
    Heartbeat.objects.create(name="worker:gone", beat_at=timezone.now() - timedelta(minutes=10))
    assert not jobs.worker_alive()
    jobs.beat("worker:here")
    assert jobs.worker_alive()


@pytest.mark.django_db
def test_a_second_copy_of_a_job_does_nothing() -> None:
    two_sided(1)
    job = RunJob.objects.create(plan=Plan.objects.get(), first_day=DAY, last_day=DAY, via="worker", days_total=1)
    assert jobs.execute(job.pk) == "done"
    assert jobs.execute(job.pk) == "gone"
    assert Run.objects.count() == 1


@pytest.mark.django_db
def test_a_failing_run_shows_its_error() -> None:
    table_source("shop")
    table_source("bank")
    plan("p", "shop", "bank")
    job = RunJob.objects.create(plan=Plan.objects.get(), first_day=DAY, last_day=DAY, via="thread", days_total=1)
    assert jobs.execute(job.pk) == "BILL_MISSING"
    job.refresh_from_db()
    assert job.status == "failed"
    assert "no bill for 2024-05-01" in job.error
    page = client_for("viewer").get(reverse("run-job", args=[job.pk]))
    assert b"no bill for 2024-05-01" in page.content


@pytest.mark.django_db
def test_viewers_and_approvers_may_not_start_runs() -> None:
    name = two_sided(1)
    for role in ("viewer", "approver", None):
        client = client_for(role)
        assert client.post(reverse("run-start", args=[name]), {"first": DAY}).status_code == 403
        assert client.post(reverse("run-rerun", args=[name]), {"day": DAY}).status_code == 403
    assert not RunJob.objects.exists()


@pytest.mark.django_db
def test_a_bad_range_is_refused_with_the_reason() -> None:
    name = two_sided(1)
    response = client_for("operator").post(reverse("run-start", args=[name]),
                                           {"first": DAY, "last": DAY - timedelta(days=1)})
    assert response.status_code == 400
    assert b"ends before it starts" in response.content
    assert not RunJob.objects.exists()


@pytest.mark.django_db
def test_history_detail_with_manifest_and_rerun_from_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    from tally.services.running import run_plan

    name = two_sided(3)
    run_plan(name, DAY, DAY + timedelta(days=2))
    run = Run.objects.get()
    client = client_for("operator")
    history = client.get(reverse("run-list"))
    assert reverse("run-detail", args=[run.pk]).encode() in history.content
    detail = client.get(reverse("run-detail", args=[run.pk]))
    assert detail.status_code == 200
    assert len(detail.context["days"]) == 3
    _first_day, bill_names = detail.context["days"][0]
    assert len(bill_names) == 2
    assert all(name_ for _, name_ in bill_names)
    started = []
    monkeypatch.setattr(jobs.threading, "Thread", lambda target, args, **kw: type(
        "T", (), {"start": lambda self: started.append(args)})())
    response = client.post(reverse("run-rerun", args=[name]), {"day": DAY + timedelta(days=1)})
    job = RunJob.objects.get()
    assert response["Location"] == reverse("run-job", args=[job.pk])
    assert (job.first_day, job.last_day, job.days_total) == (DAY + timedelta(days=1), DAY + timedelta(days=2), 2)
    assert started == [(job.pk,)]


@pytest.mark.django_db
def test_runs_of_plans_a_user_may_not_see_are_not_found() -> None:
    from tally.services.running import run_plan

    name = two_sided(1)
    other = plan("other", "shop", "bank")
    run_plan(name, DAY, DAY)
    run = Run.objects.get()
    user = role_user("operator")
    PlanAccess.objects.create(plan=other, user=user)
    client = Client()
    client.force_login(user)
    assert client.get(reverse("run-detail", args=[run.pk])).status_code == 404
    assert client.get(reverse("plan-detail", args=[name])).status_code == 404
    assert client.post(reverse("run-start", args=[name]), {"first": DAY}).status_code == 404
    assert reverse("run-detail", args=[run.pk]).encode() not in client.get(reverse("run-list")).content
    assert client.get(reverse("plan-list")).context["rows"][0]["plan"].name == "other"
