"""What processing one business day of a plan produced, independent of the engine that ran it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tally.engine.plan import Plan


@dataclass(frozen=True)
class BreakFound:
    kind: str  # short | long | mismatch
    reason: str
    day: date  # business day of the record(s) that caused it
    record_kind: str
    order_no: str | None
    refund_no: str | None
    currency: str
    ours: dict[str, Any] | None
    theirs: dict[str, Any] | None
    # Records of the other side that could be this break's counterpart (candidate matching):
    # a person confirms one, or none.
    suggestions: tuple[dict[str, Any], ...] = ()

    @property
    def key(self) -> tuple[Any, ...]:
        side = self.ours or self.theirs or {}
        return (self.kind, self.record_kind, self.order_no, self.refund_no, side.get("bill_sha256"),
                side.get("line_no"))


@dataclass(frozen=True)
class DayOutcome:
    plan: str
    day: date
    matched: int
    pending: int
    breaks: list[BreakFound] = field(default_factory=list)
    # Matched pairs whose two records have different business days (paired on carry-over).
    cross_day: int = 0
    # The records still pending after this day, handed to the next day's processing
    # (lake records plus `side` and the `path` of their lake file); None for totals plans.
    carried: Any = None

    def counts(self) -> dict[str, int]:
        found = {"short": 0, "long": 0, "mismatch": 0}
        for item in self.breaks:
            found[item.kind] += 1
        return found


def window(plan: Plan, day: date) -> list[date]:
    """Business days whose records processing ``day`` must read: a record of day B waits until
    B + carry_over_days, and may pair with a record up to carry_over_days either side of it."""
    span = 2 * plan.carry_over_days
    return [day - timedelta(days=offset) for offset in range(span, -1, -1)]

