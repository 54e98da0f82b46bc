"""When to fetch a bill, when it is late, when to alert, when a plan's day may run.

Pure functions of a source's settings, what happened so far (``History``) and a clock ``now``;
the worker (tally.worker) and the back office's calendar ask them, the database answers come
from tally.services.acquisition.

A source's bill for business day D is expected at ``ready_time`` on D + 1 in the source's time
zone (WeChat Pay 10:00, Alipay and UnionPay 09:00 Asia/Shanghai unless the fetch table says
otherwise) and is late after ``deadline`` (unless set: 12:00 for Alipay and UnionPay, else the
ready time + 4 hours; a deadline earlier in the day than the ready time falls on D + 2). After
the ready time the worker tries; a try that found nothing yet, or failed for a reason that may
pass, is tried again after 1, 2, 4, 8, 16 and then every 30 minutes; a failure that will not
pass by itself (a refused login) every 30 minutes, in case someone fixes it. A bill that was
rejected or refused (bad totals, a wrong host key) waits for a person: its Retry button, or an
upload. At the deadline without a bill, one alert per source and day; tries go on, so a late
bill still arrives by itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"
# FORMATS.md §1.1, §2.1, §3.1, §4.1: when each channel's bill for the day before is there.
DEFAULT_READY = {"wechatpay": "10:00", "wechatpay_fund": "10:00", "alipay": "09:00", "unionpay": "09:00",
                 "paypal": "12:00"}
FALLBACK_READY = "09:00"
# Alipay and UnionPay answer "no bill" and "not yet" alike; their transports read that answer as
# "no bill" from the same deadline (tally.transports.client.before_deadline), so it is the default here too.
DEFAULT_DEADLINE = {"alipay": "12:00", "unionpay": "12:00"}
DEFAULT_DEADLINE_AFTER = timedelta(hours=4)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(minutes=30)


class State(enum.StrEnum):
    """A source's bill for one business day, as the calendar shows it."""

    ARRIVED = "arrived"  # imported
    NO_BILL = "no_bill"  # the channel says there was nothing that day (a valid answer)
    REJECTED = "rejected"  # the bill failed its checks, or the channel's answer was refused
    FAILED = "failed"  # the last try failed (auth, network, server) and the deadline has not passed
    LATE = "late"  # past the deadline without a bill
    MISSING = "missing"  # past the ready time, no bill yet
    NOT_READY = "not_ready"  # before the ready time


DONE_OUTCOMES = frozenset({"imported", "already", "no_bill"})
HUMAN_OUTCOMES = frozenset({"rejected", "refused"})


@dataclass(frozen=True)
class Timing:
    zone: ZoneInfo
    ready: time
    deadline: time | None
    lookback_days: int = 1
    fetched: bool = True  # the source has a fetch table: the worker fetches it and alerts on it

    def ready_at(self, day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), self.ready, self.zone)

    def deadline_at(self, day: date) -> datetime:
        ready = self.ready_at(day)
        if self.deadline is None:
            return ready + DEFAULT_DEADLINE_AFTER
        deadline = datetime.combine(day + timedelta(days=1), self.deadline, self.zone)
        return deadline if deadline > ready else deadline + timedelta(days=1)

    def days(self, now: datetime) -> list[date]:
        """The business days the worker looks after now, oldest first (yesterday, local time, and before)."""
        today = now.astimezone(self.zone).date()
        return [today - timedelta(days=n) for n in range(self.lookback_days, 0, -1)]


@dataclass(frozen=True)
class Try:
    outcome: str  # a FetchAttempt outcome
    started_at: datetime
    transient: bool = False
    reason: str = ""
    code: str = ""  # the try's error code, if it had one


class Why(enum.StrEnum):
    """What a calendar cell's reason is; the back office words each in the reader's language."""

    TRY = "try"  # the last try's reason as recorded, with its outcome and error code
    BILL = "bill"  # the error of a rejected bill of that day, with its code
    NO_BILL_BY = "no_bill_by"  # past the deadline (``at``) without a bill
    EXPECTED_FROM = "expected_from"  # the bill is expected from its ready time (``at``)


@dataclass(frozen=True)
class Reason:
    """Why a cell is in its state: a kind and its values, not a sentence."""

    why: Why
    text: str = ""  # TRY, BILL: the English text as recorded
    code: str = ""  # TRY, BILL: the error code, "" when there is none
    outcome: str = ""  # TRY: the FetchAttempt outcome
    file: str = ""  # BILL: the bill's file name (its stored error may name it)
    at: datetime | None = None  # NO_BILL_BY, EXPECTED_FROM

    def __str__(self) -> str:
        """The English the late-bill alerts (row, e-mail, webhook) carry: the one place it is written."""
        if self.why == Why.NO_BILL_BY and self.at:
            return f"no bill by {local(self.at)}"
        if self.why == Why.EXPECTED_FROM and self.at:
            return f"expected from {local(self.at)}"
        if self.why == Why.BILL and self.code:
            return f"{self.code}: {self.text}"
        return self.text


@dataclass(frozen=True)
class History:
    """What is known about one source's bill for one day."""

    imported: bool = False
    tries: tuple[Try, ...] = ()  # oldest first
    rejected_bill: Reason | None = None  # the error of a rejected bill of that day (an upload, an inbox file)
    alerted: bool = False

    @property
    def last(self) -> Try | None:
        return self.tries[-1] if self.tries else None

    @property
    def acquired(self) -> bool:
        return self.imported or any(t.outcome in DONE_OUTCOMES for t in self.tries)


def timing(kind: str, spec: dict[str, Any]) -> Timing:
    """A source's timing from its declaration (validated by tally.config)."""
    table = spec.get("fetch") if isinstance(spec.get("fetch"), dict) else None
    settings = table or {}
    ready = settings.get("ready_time") or DEFAULT_READY.get(kind, FALLBACK_READY)
    deadline = settings.get("deadline") or DEFAULT_DEADLINE.get(kind)
    return Timing(zone=ZoneInfo(str(spec.get("timezone") or DEFAULT_ZONE)), ready=time.fromisoformat(ready),
                  deadline=time.fromisoformat(deadline) if deadline else None,
                  lookback_days=int(settings.get("lookback_days", 1)), fetched=table is not None)


def backoff(tries: tuple[Try, ...]) -> timedelta:
    """The wait after the last of ``tries``: doubling from a minute for what may pass, else the longest."""
    last = tries[-1]
    if last.outcome == "failed" and not last.transient:
        return LONGEST_RETRY
    n = len(tries)
    return min(FIRST_RETRY * 2 ** min(n - 1, 10), LONGEST_RETRY)


def next_try(t: Timing, day: date, history: History) -> datetime | None:
    """When the worker should next fetch this day's bill; None when it should not (any more)."""
    if not t.fetched or history.acquired:
        return None
    last = history.last
    if last is None:
        return t.ready_at(day)
    if last.outcome in HUMAN_OUTCOMES:
        return None
    return max(t.ready_at(day), last.started_at + backoff(history.tries))


def due(t: Timing, day: date, history: History, now: datetime) -> bool:
    when = next_try(t, day, history)
    return when is not None and when <= now


def alert_due(t: Timing, day: date, history: History, now: datetime) -> bool:
    """Once per source and day: past the deadline and still no bill (nor a channel's "no bill")."""
    return t.fetched and not history.acquired and not history.alerted and now >= t.deadline_at(day)


def state(t: Timing, day: date, history: History, now: datetime) -> tuple[State, Reason | None]:
    """The calendar cell: a state and the reason behind it (the last try's, or the rule's)."""
    last = history.last
    tried = Reason(Why.TRY, last.reason, last.code, last.outcome) if last and last.reason else None
    if history.imported:
        return State.ARRIVED, None
    if last and last.outcome in ("imported", "already"):
        return State.ARRIVED, None
    if last and last.outcome == "no_bill":
        return State.NO_BILL, tried
    if last and last.outcome in HUMAN_OUTCOMES:
        return State.REJECTED, tried
    if history.rejected_bill:
        return State.REJECTED, history.rejected_bill
    if t.fetched and now >= t.deadline_at(day):
        return State.LATE, tried or Reason(Why.NO_BILL_BY, at=t.deadline_at(day))
    if last and last.outcome == "failed":
        return State.FAILED, tried
    if now >= t.ready_at(day):
        return State.MISSING, tried or Reason(Why.EXPECTED_FROM, at=t.ready_at(day))
    return State.NOT_READY, Reason(Why.EXPECTED_FROM, at=t.ready_at(day))


def plan_day_due(bills_at: list[datetime | None], ran_at: datetime | None) -> bool:
    """A plan's day runs when each of its sides has a bill, and again when a bill came after the last run."""
    if not bills_at or any(b is None for b in bills_at):
        return False
    return ran_at is None or max(b for b in bills_at if b is not None) > ran_at


def local(moment: datetime) -> str:
    """A moment as the source's clock reads it, e.g. ``2024-08-21 10:00 CST``."""
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"
