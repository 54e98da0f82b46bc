"""The day's statement of a plan in finance language (``tally report``, the reports page, exports).

Per plan × channel (the plan's ``theirs`` side) × business day, per currency:

- 应收 expected: our side's total of the day's records; 实收 received: the channel's total;
  手续费 fees: the channel's fees (sums of the lake's records, through ``engine.compile.totals``,
  with the plan's side filters);
- 长款 long / 短款 short / 错账 mismatch: the breaks of the day (their business day is D), count and
  amount (a break's amount is ``exposure_minor``: |ours − theirs|, a missing side counting 0);
- 挂账 carried in / out: breaks of business days before D / up to D not settled (resolved) when
  the previous day / D closed: the end of the calendar day, or the end of the run that processed
  it if that came later (T+1, a backfill), so what its rules resolved is not carried;
- counts and amounts per status of the day's breaks, and the aging of what is carried out:
  0–1, 2–7, 8–30, >30 days from the break's day to D.

Every figure is an integer in minor units beside its currency.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tally.breaks.models import Break, DayResult, Plan
from tally.engine.compile import totals
from tally.engine.plan import Plan as PlanSpec
from tally.home import engine_name
from tally.ingest.models import Bill
from tally.services.rules import spec_of
from tally.services.workspace import lake

# (label, first day, last day or None): age in days from the break's business day to the report day.
AGING = (("0-1", 0, 1), ("2-7", 2, 7), ("8-30", 8, 30), (">30", 31, None))
STATUSES = tuple(Break.Status.values)
KINDS = ("long", "short", "mismatch")
TREND_DAYS = 30


def exposure_minor(brk: Break) -> int:
    """The amount a break puts at stake, in the break's currency: |ours − theirs|, a missing side
    counting as 0; our whole amount when the two sides are in different currencies (FX)."""
    if brk.ours and brk.theirs and brk.ours.get("currency") != brk.theirs.get("currency"):
        return abs(brk.ours_amount_minor or 0)
    return abs((brk.ours_amount_minor or 0) - (brk.theirs_amount_minor or 0))


@dataclass
class Figure:
    """A count and an amount (minor units) of one currency."""

    count: int = 0
    amount_minor: int = 0

    def add(self, amount_minor: int, count: int = 1) -> None:
        self.count += count
        self.amount_minor += amount_minor


@dataclass
class CurrencyLine:
    currency: str
    expected: Figure = field(default_factory=Figure)  # 应收: records, total
    received: Figure = field(default_factory=Figure)  # 实收
    fees_minor: int = 0  # 手续费
    kinds: dict[str, Figure] = field(default_factory=lambda: {k: Figure() for k in KINDS})
    carried_in: Figure = field(default_factory=Figure)  # 挂账 brought forward
    carried_out: Figure = field(default_factory=Figure)  # 挂账 carried forward

    @property
    def difference_minor(self) -> int:
        return self.expected.amount_minor - self.received.amount_minor


@dataclass
class Statement:
    plan: str
    day: dt.date
    channel: str
    ours: str
    matched: int | None  # None: the day was not run
    pending: int
    cross_day: int
    lines: list[CurrencyLine]
    statuses: dict[str, dict[str, Figure]]  # status -> currency -> figure
    aging: dict[str, dict[str, Figure]]  # bucket -> currency -> figure
    sources: list[dict[str, Any]]  # per source of the plan: side, currency, records and sums

    @property
    def currencies(self) -> list[str]:
        return [line.currency for line in self.lines]


def settled_by(moment: dt.datetime) -> Q:
    return Q(status=Break.Status.RESOLVED, resolved_at__lt=moment)


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def cutoff(plan: Plan, day: dt.date) -> dt.datetime:
    """When business day ``day`` closes for 挂账: the end of that calendar day, or, when the day was
    processed later (T+1, a backfill), the end of the run that processed it (its rules included)."""
    end = _start_of(day + dt.timedelta(days=1))
    result = DayResult.objects.filter(plan=plan, day=day).select_related("run").first()
    if result is None:
        return end
    if result.run is None:
        return max(end, result.published_at)
    return max(end, result.run.finished_at or timezone.now())


def unsettled(plan: Plan, before: dt.date, at: dt.datetime) -> QuerySet[Break]:
    """Breaks of business days before ``before`` that were not settled at ``at`` (挂账)."""
    return Break.objects.filter(plan=plan, day__lt=before).exclude(settled_by(at))


def lake_files(source: str, day: dt.date) -> list[str]:
    bills = Bill.objects.filter(source__name=source, status=Bill.Status.IMPORTED)
    paths = [lake().record_path(source, day, b.sha256) for b in bills
             if day.isoformat() in (b.days or []) or b.business_day == day]
    return sorted({str(p) for p in paths if p.exists()})


def source_totals(spec: PlanSpec, day: dt.date) -> list[dict[str, Any]]:
    rows = []
    for side, names, filters in (("ours", spec.ours, spec.ours_filters), ("theirs", spec.theirs, spec.theirs_filters)):
        for name in names:
            for currency, sums in sorted(totals(lake_files(name, day), engine_name(), filters).items()):
                rows.append({"source": name, "side": side, "currency": currency, **sums})
    return rows


def _figures(breaks: Iterable[Break], key: str) -> dict[str, dict[str, Figure]]:
    out: dict[str, dict[str, Figure]] = defaultdict(dict)
    for brk in breaks:
        group = getattr(brk, key)
        out[group].setdefault(brk.currency, Figure()).add(exposure_minor(brk))
    return out


def age_bucket(days: int) -> str:
    for label, first, last in AGING:
        if days >= first and (last is None or days <= last):
            return label
    raise ValueError(f"negative age {days}")


def statement(plan: Plan | str, day: dt.date) -> Statement:
    plan, spec = spec_of(plan)
    result = DayResult.objects.filter(plan=plan, day=day).first()
    sources = source_totals(spec, day)
    lines: dict[str, CurrencyLine] = {}

    def line(currency: str) -> CurrencyLine:
        return lines.setdefault(currency, CurrencyLine(currency))

    for row in sources:
        target = line(row["currency"])
        if row["side"] == "ours":
            target.expected.add(row["amount_minor"], row["records"])
        else:
            target.received.add(row["amount_minor"], row["records"])
            target.fees_minor += row["fee_minor"]
    todays = list(Break.objects.filter(plan=plan, day=day))
    for brk in todays:
        line(brk.currency).kinds[brk.kind].add(exposure_minor(brk))
    carried_in = list(unsettled(plan, day, cutoff(plan, day - dt.timedelta(days=1))))
    carried_out = list(unsettled(plan, day + dt.timedelta(days=1), cutoff(plan, day)))
    for brk in carried_in:
        line(brk.currency).carried_in.add(exposure_minor(brk))
    aging: dict[str, dict[str, Figure]] = {label: {} for label, _, _ in AGING}
    for brk in carried_out:
        line(brk.currency).carried_out.add(exposure_minor(brk))
        aging[age_bucket((day - brk.day).days)].setdefault(brk.currency, Figure()).add(exposure_minor(brk))
    by_status = _figures(todays, "status")
    statuses = {status: by_status.get(status, {}) for status in STATUSES}
    return Statement(
        plan=plan.name, day=day, channel=" + ".join(spec.theirs), ours=" + ".join(spec.ours),
        matched=result.matched if result else None, pending=result.pending if result else 0,
        cross_day=result.cross_day if result else 0, lines=[lines[c] for c in sorted(lines)],
        statuses=statuses, aging=aging, sources=sources)


@dataclass(frozen=True)
class TrendDay:
    day: dt.date
    matched: int | None
    breaks: int
    long_minor: int
    short_minor: int
    mismatch_minor: int


def trend(plan: Plan | str, last: dt.date, days: int = TREND_DAYS) -> tuple[str, list[TrendDay]]:
    """Per day of the ``days`` ending at ``last``: matched, breaks found, and break amounts in the
    plan's main currency (the one most of its breaks are in), which is returned first."""
    plan, _ = spec_of(plan)
    first = last - dt.timedelta(days=days - 1)
    results = {r.day: r for r in DayResult.objects.filter(plan=plan, day__range=(first, last))}
    breaks = list(Break.objects.filter(plan=plan, day__range=(first, last)))
    counts: dict[str, int] = defaultdict(int)
    for brk in breaks:
        counts[brk.currency] += 1
    currency = max(sorted(counts), key=lambda c: counts[c]) if counts else "CNY"
    amounts: dict[tuple[dt.date, str], int] = defaultdict(int)
    for brk in breaks:
        if brk.currency == currency:
            amounts[(brk.day, brk.kind)] += exposure_minor(brk)
    out = []
    for n in range(days):
        d = first + dt.timedelta(days=n)
        r = results.get(d)
        out.append(TrendDay(d, r.matched if r else None, r.breaks if r else 0, amounts[(d, "long")],
                            amounts[(d, "short")], amounts[(d, "mismatch")]))
    return currency, out
