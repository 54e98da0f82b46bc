"""The worker's schedule as pure functions, on fixed clocks in several time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tally.services.schedule import (
    History,
    Reason,
    State,
    Try,
    Why,
    alert_due,
    backoff,
    due,
    next_try,
    plan_day_due,
    state,
    timing,
)

SH = ZoneInfo("Asia/Shanghai")
LA = ZoneInfo("America/Los_Angeles")
DAY = date(2024, 8, 20)


def at(hhmm: str, zone: ZoneInfo = SH, day: date = date(2024, 8, 21)) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


WECHAT = timing("wechatpay", {"timezone": "Asia/Shanghai", "fetch": {"transport": "wechatpay_v3"}})


@pytest.mark.parametrize(("kind", "ready", "deadline"), [
    ("wechatpay", "10:00", "14:00"), ("alipay", "09:00", "12:00"), ("unionpay", "09:00", "12:00"),
    ("wechatpay_fund", "10:00", "14:00"), ("stripe", "09:00", "13:00")])
def test_default_ready_times_and_deadlines_in_shanghai(kind: str, ready: str, deadline: str) -> None:
    t = timing(kind, {"fetch": {"transport": "x"}})
    assert t.ready_at(DAY) == at(ready)
    assert t.deadline_at(DAY) == at(deadline)


def test_ready_time_and_deadline_are_in_the_sources_time_zone() -> None:
    t = timing("paypal", {"timezone": "America/Los_Angeles",
                          "fetch": {"transport": "sftp", "ready_time": "12:00", "deadline": "15:30"}})
    assert t.ready_at(DAY) == datetime(2024, 8, 21, 19, 0, tzinfo=UTC)  # PDT is UTC-7
    assert t.deadline_at(DAY) == datetime(2024, 8, 21, 22, 30, tzinfo=UTC)
    # In winter the same local time is an hour later in UTC.
    assert t.ready_at(date(2024, 12, 20)) == datetime(2024, 12, 21, 20, 0, tzinfo=UTC)


def test_a_deadline_before_the_ready_time_is_the_next_day() -> None:
    t = timing("wechatpay", {"fetch": {"transport": "x", "ready_time": "22:00", "deadline": "02:00"}})
    assert t.deadline_at(DAY) == at("02:00", day=date(2024, 8, 22))


def test_the_days_looked_after_are_yesterday_in_local_time_and_the_lookback() -> None:
    # 2024-08-21 01:00 in Shanghai is still 2024-08-20 in UTC.
    now = datetime(2024, 8, 20, 17, 0, tzinfo=UTC)
    assert WECHAT.days(now) == [date(2024, 8, 20)]
    t = timing("wechatpay", {"fetch": {"transport": "x", "lookback_days": 3}})
    assert t.days(now) == [date(2024, 8, 18), date(2024, 8, 19), date(2024, 8, 20)]
    assert timing("paypal", {"timezone": "America/Los_Angeles", "fetch": {}}).days(now) == [date(2024, 8, 19)]


@pytest.mark.parametrize(("now", "expected"), [
    (at("09:59"), False),
    (at("10:00"), True),
    (at("23:00"), True),
])
def test_a_first_try_is_due_from_the_ready_time(now: datetime, expected: bool) -> None:
    assert due(WECHAT, DAY, History(), now) is expected


def tries(*items: tuple[str, str, bool]) -> tuple[Try, ...]:
    return tuple(Try(outcome, at(hhmm), transient) for outcome, hhmm, transient in items)


@pytest.mark.parametrize(("history", "expected"), [
    (tries(("not_ready", "10:00", False)), timedelta(minutes=1)),
    (tries(("not_ready", "10:00", False), ("failed", "10:01", True)), timedelta(minutes=2)),
    (tries(*[("not_ready", "10:00", False)] * 5), timedelta(minutes=16)),
    (tries(*[("not_ready", "10:00", False)] * 6), timedelta(minutes=30)),
    (tries(*[("failed", "10:00", True)] * 40), timedelta(minutes=30)),
    (tries(("failed", "10:00", False)), timedelta(minutes=30)),  # a refused login: someone must fix it
])
def test_backoff_doubles_up_to_half_an_hour(history: tuple[Try, ...], expected: timedelta) -> None:
    assert backoff(history) == expected


def test_retries_go_on_after_the_deadline_so_a_late_bill_still_arrives() -> None:
    history = History(tries=tries(*[("failed", "10:00", True)] * 8, ("failed", "14:10", True)))
    assert next_try(WECHAT, DAY, history) == at("14:40")
    assert not due(WECHAT, DAY, history, at("14:39"))
    assert due(WECHAT, DAY, history, at("14:40"))


@pytest.mark.parametrize("outcome", ["imported", "already", "no_bill"])
def test_nothing_more_once_the_day_is_acquired(outcome: str) -> None:
    history = History(tries=tries(("not_ready", "10:00", False), (outcome, "10:05", False)))
    assert next_try(WECHAT, DAY, history) is None
    assert not alert_due(WECHAT, DAY, history, at("20:00"))


@pytest.mark.parametrize("outcome", ["rejected", "refused"])
def test_a_rejected_or_refused_bill_waits_for_a_person(outcome: str) -> None:
    assert next_try(WECHAT, DAY, History(tries=tries((outcome, "10:00", False)))) is None


def test_a_source_without_fetch_table_is_not_fetched_nor_alerted() -> None:
    t = timing("table", {"kind": "table"})
    assert next_try(t, DAY, History()) is None
    assert not alert_due(t, DAY, History(), at("23:00"))
    assert state(t, DAY, History(), at("23:00"))[0] == State.MISSING


@pytest.mark.parametrize(("now", "alerted", "expected"), [
    (at("13:59"), False, False),
    (at("14:00"), False, True),
    (at("14:00"), True, False),
])
def test_one_alert_at_the_deadline(now: datetime, alerted: bool, expected: bool) -> None:
    assert alert_due(WECHAT, DAY, History(alerted=alerted), now) is expected


@pytest.mark.parametrize(("history", "now", "expected"), [
    (History(), at("09:00"), State.NOT_READY),
    (History(), at("10:30"), State.MISSING),
    (History(tries=tries(("not_ready", "10:00", False))), at("10:30"), State.MISSING),
    (History(tries=tries(("failed", "10:00", True))), at("10:30"), State.FAILED),
    (History(tries=tries(("failed", "10:00", True))), at("14:00"), State.LATE),
    (History(), at("14:00"), State.LATE),
    (History(tries=tries(("no_bill", "10:00", False))), at("15:00"), State.NO_BILL),
    (History(tries=tries(("rejected", "10:00", False))), at("15:00"), State.REJECTED),
    (History(tries=tries(("refused", "10:00", False))), at("11:00"), State.REJECTED),
    (History(rejected_bill=Reason(Why.BILL, "…", "TOTALS_MISMATCH")), at("11:00"), State.REJECTED),
    (History(imported=True, rejected_bill=Reason(Why.BILL, "an earlier file")), at("15:00"), State.ARRIVED),
    (History(tries=tries(("failed", "10:00", True), ("imported", "10:05", False))), at("15:00"), State.ARRIVED),
])
def test_calendar_states(history: History, now: datetime, expected: State) -> None:
    assert state(WECHAT, DAY, history, now)[0] == expected


def test_a_state_says_why_as_a_kind_and_its_values() -> None:
    failed = History(tries=(Try("failed", at("10:00"), True, "api.mch.weixin.qq.com: timed out", "NETWORK"),))
    assert state(WECHAT, DAY, failed, at("14:30")) == (
        State.LATE, Reason(Why.TRY, "api.mch.weixin.qq.com: timed out", "NETWORK", "failed"))
    assert state(WECHAT, DAY, History(), at("14:30")) == (State.LATE, Reason(Why.NO_BILL_BY, at=at("14:00")))
    assert state(WECHAT, DAY, History(), at("08:00")) == (State.NOT_READY, Reason(Why.EXPECTED_FROM, at=at("10:00")))
    rejected = Reason(Why.BILL, "totals differ", "TOTALS_MISMATCH", file="b.csv")
    assert state(WECHAT, DAY, History(rejected_bill=rejected), at("11:00")) == (State.REJECTED, rejected)
    assert state(WECHAT, DAY, History(imported=True), at("11:00")) == (State.ARRIVED, None)


@pytest.mark.parametrize(("reason", "english"), [
    (Reason(Why.TRY, "api.mch.weixin.qq.com: timed out", "NETWORK", "failed"), "api.mch.weixin.qq.com: timed out"),
    (Reason(Why.BILL, "totals differ", "TOTALS_MISMATCH"), "TOTALS_MISMATCH: totals differ"),
    (Reason(Why.BILL, "an unreadable file"), "an unreadable file"),
    (Reason(Why.NO_BILL_BY, at=at("14:00")), "no bill by 2024-08-21 14:00 CST"),
    (Reason(Why.EXPECTED_FROM, at=at("10:00")), "expected from 2024-08-21 10:00 CST"),
])
def test_a_reason_reads_in_english_as_before(reason: Reason, english: str) -> None:
    """The late-bill alerts (row, e-mail, webhook) carry this English."""
    assert str(reason) == english


@pytest.mark.parametrize(("bills_at", "ran_at", "expected"), [
    ([at("10:00"), None], None, False),
    ([], None, False),
    ([at("10:00"), at("09:10")], None, True),
    ([at("10:00"), at("09:10")], at("10:01"), False),
    ([at("10:00"), at("11:00")], at("10:01"), True),  # a bill that came after the run: run again
])
def test_plan_day_due(bills_at: list[datetime | None], ran_at: datetime | None, expected: bool) -> None:
    assert plan_day_due(bills_at, ran_at) is expected
