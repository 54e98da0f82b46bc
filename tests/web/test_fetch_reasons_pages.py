"""Why a bill is missing, late or rejected, and why a fetch or a run stopped, in the reader's
language: the calendar's pop-ups, the fetch history and the run's page. What is stored (and what
the CLI, the JSON API and the alerts say) stays English."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tally.breaks.models import Run
from tally.ingest.models import FetchAttempt
from tally.services import fetching, running
from tally.services.running import run_plan
from tests.services.factories import import_csv, plan, table_source

from .test_error_labels import text_of
from .test_stored_errors import OTHER, client_in, sentence

pytestmark = pytest.mark.django_db

SFTP = {"transport": "sftp", "host": "127.0.0.1", "username": "u", "password_env": "X", "host_key": "SHA256:x",
        "remote_dir": "/", "pattern": "{yyyymmdd}.csv", "ready_time": "10:00", "deadline": "14:00"}
REJECTED = "the totals differ: 3 rows, the header says 4 (bank_20240820.csv)"
SAID = {  # (the calendar's and fetch history's words, by language)
    "zh-hans": {"expected": "预计 {} 起可获取", "late": "截至 {} 仍无对账单",
                "interrupted": "已中断：本次获取未完成（进程已停止）",
                "stopped": "运行在结束前被停止；已发布的日期保留不变"},
    "en": {"expected": "expected from {}", "late": "no bill by {}",
           "interrupted": fetching.INTERRUPTED, "stopped": running.STOPPED},
}


def cell(page: str, source: str, day: date) -> str:
    """The calendar cell's markup, unescaped: its title (the tooltip) and its pop-up."""
    at = page.index(f'id="{source}-{day:%Y-%m-%d}"')
    return html.unescape(page[at:page.index("</td>", at)])


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_calendar_pop_ups_say_why_in_the_readers_language(language: str) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    late_day, rejected_day = yesterday - timedelta(days=1), yesterday - timedelta(days=2)
    table_source("shop")  # no fetch table: missing, never late
    bank = table_source("bank", SFTP)
    FetchAttempt.objects.create(source=bank, business_day=rejected_day, transport="sftp", outcome="rejected",
                                reason=f"TOTALS_MISMATCH: {REJECTED}", details={"code": "TOTALS_MISMATCH"})
    page = client_in(language).get(reverse("calendar")).content.decode()
    said, other = SAID[language], SAID[OTHER[language]]

    ready = f"{yesterday:%Y-%m-%d} 09:00 CST"  # a table source's bill for the day before yesterday
    missing = cell(page, "shop", late_day)
    assert missing.count(said["expected"].format(ready)) == 2, "in the title and the pop-up"
    assert other["expected"].format(ready) not in missing

    deadline = f"{yesterday:%Y-%m-%d} 14:00 CST"
    late = cell(page, "bank", late_day)
    assert late.count(said["late"].format(deadline)) == 2
    assert other["late"].format(deadline) not in late

    rejected = cell(page, "bank", rejected_day)
    assert rejected.count(sentence("TOTALS_MISMATCH", language)) == 2
    assert sentence("TOTALS_MISMATCH", OTHER[language]) not in rejected
    assert REJECTED in rejected, "the English detail beneath"
    assert "TOTALS_MISMATCH" in rejected


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_interrupted_fetch_reads_in_the_readers_language(language: str) -> None:
    bank = table_source("bank", SFTP)
    for reason in (fetching.INTERRUPTED, f"{fetching.INTERRUPTED} (KeyboardInterrupt)"):  # as fetch stores them
        FetchAttempt.objects.create(source=bank, business_day=date(2024, 8, 20), transport="sftp", outcome="failed",
                                    transient=True, reason=reason)
    page = text_of(client_in(language).get(reverse("source-fetches", args=["bank"])).content.decode())
    said = SAID[language]["interrupted"]
    assert page.count(said) == 2
    assert f"{said} (KeyboardInterrupt)" in page
    if language != "en":
        assert fetching.INTERRUPTED not in page
    assert set(FetchAttempt.objects.values_list("reason", flat=True)) == {
        fetching.INTERRUPTED, f"{fetching.INTERRUPTED} (KeyboardInterrupt)"}, "stored in English"


def planned_day() -> date:
    """A day whose plan has a bill on both sides: its run would pass."""
    day = date(2024, 8, 20)
    table_source("shop")
    table_source("bank")
    plan("p", "shop", "bank")
    import_csv("shop", day)
    import_csv("bank", day)
    return day


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_run_stopped_by_ctrl_c_stores_and_shows_why(language: str) -> None:
    day = planned_day()

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_plan("p", day, day, progress=stop)
    run = Run.objects.get()
    assert (run.status, run.error) == (Run.Status.FAILED, f"{running.STOPPED} (KeyboardInterrupt)")
    page = text_of(client_in(language).get(reverse("run-detail", args=[run.pk])).content.decode())
    assert f"{SAID[language]['stopped']} (KeyboardInterrupt)" in page
    if language != "en":
        assert running.STOPPED not in page


def test_a_run_ended_by_an_error_without_text_stores_its_class() -> None:
    day = planned_day()

    def fail(*_: object) -> None:
        raise RuntimeError

    with pytest.raises(RuntimeError):
        run_plan("p", day, day, progress=fail)
    assert Run.objects.get().error == "RuntimeError"
