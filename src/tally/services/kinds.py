"""Each action kind: which breaks it applies to, what it needs, and what applying it does.

``prepare`` checks a proposal before anything is written and says the action's amount (what the
approval threshold compares), currency and payload; ``apply`` does the work once the action may
take effect (at once, or after approval) and returns what the breaks become. Side effects
(adjustment entries, the merchant webhook) happen in ``apply``, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from django.utils import timezone

from tally.breaks.models import Action, Adjustment, Break, Plan
from tally.errors import BadState, ConfigError, InputRejected
from tally.services import merchant

K = Action.Kind
S = Break.Status

# 核销 reason codes (the back office shows them translated; "other" needs a written reason).
WRITE_OFF_CODES = ("small_difference", "fee_rounding", "customer_compensation", "duplicate_charge",
                   "unrecoverable", "other")
MAX_REASON = 2000


@dataclass(frozen=True)
class Details:
    """What a proposal may carry besides its breaks (``propose(..., **details)``)."""

    reason: str = ""
    reason_code: str = ""
    amount_minor: int | None = None
    until: date | None = None
    status: str = ""
    notify: bool = False

    @classmethod
    def of(cls, details: dict[str, Any]) -> Details:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(details) - known)
        if unknown:
            raise InputRejected("BAD_DETAILS", f"unknown detail(s) {', '.join(unknown)}", field=unknown[0],
                                hint=f"known: {', '.join(sorted(known))}")
        values = dict(details)
        amount = values.get("amount_minor")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
            raise InputRejected("BAD_AMOUNT", "amount_minor must be an integer number of minor units",
                                field="amount_minor")
        until = values.get("until")
        if isinstance(until, str):
            try:
                values["until"] = date.fromisoformat(until)
            except ValueError:
                raise InputRejected("BAD_DATE", f"{until!r} is not a date YYYY-MM-DD", field="until") from None
        for name in ("reason", "reason_code", "status"):
            values[name] = str(values.get(name) or "").strip()
        if len(values["reason"]) > MAX_REASON:
            raise InputRejected("REASON_TOO_LONG", f"the reason is longer than {MAX_REASON} characters",
                                field="reason")
        values["notify"] = bool(values.get("notify"))
        return cls(**values)


@dataclass(frozen=True)
class Prepared:
    amount_minor: int | None
    currency: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    allowed_from: frozenset[str]
    prepare: Callable[[Plan, list[Break], Details], Prepared]
    apply: Callable[[Action, list[Break]], dict[str, Any]]
    single: bool = True


def need_reason(d: Details, what: str) -> None:
    if not d.reason:
        raise InputRejected("REASON_REQUIRED", f"{what} needs a reason", field="reason")


def difference(brk: Break) -> int:
    """Ours minus theirs, a missing side counting as 0: what a break is 'worth'."""
    return (brk.ours_amount_minor or 0) - (brk.theirs_amount_minor or 0)


def resolved(kind: str) -> dict[str, Any]:
    return {"status": S.RESOLVED, "resolution": kind, "resolved_at": timezone.now(), "suspended_until": None}


def _ours_source(plan: Plan) -> str:
    ours = (plan.spec or {}).get("ours")
    return str(ours[0] if isinstance(ours, list) and ours else ours or "")


def _entry(action: Action, brk: Break, amount_minor: int, record: dict[str, Any]) -> Adjustment:
    return Adjustment.objects.create(action=action, brk=brk, business_day=brk.day, amount_minor=amount_minor,
                                     currency=brk.currency, record=record)


# 补单 -----------------------------------------------------------------------------------------------

def _prepare_supplement(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    brk = breaks[0]
    if brk.kind != Break.Kind.LONG or not brk.theirs:
        raise BadState("NOT_LONG", "补单 creates our missing record: only a long break (channel only) has one to copy")
    if d.notify:
        merchant.check(plan)
    return Prepared(brk.theirs_amount_minor, brk.currency, {"notify": d.notify})


def _apply_supplement(action: Action, breaks: list[Break]) -> dict[str, Any]:
    brk = breaks[0]
    theirs = dict(brk.theirs or {})
    record = {**theirs, "source": _ours_source(action.plan), "bill_sha256": None, "line_no": None,
              "bill_name": None, "origin": "supplement", "action": action.pk, "channel_source": theirs.get("source")}
    entry = _entry(action, brk, int(brk.theirs_amount_minor or 0), record)
    action.result = {"adjustment": entry.pk}
    if action.payload.get("notify"):
        action.result["webhook"] = merchant.send(action.plan, "supplement", {"action": action.pk, "record": record})
    return resolved(K.SUPPLEMENT)


# sync status ------------------------------------------------------------------------------------

def _prepare_sync_status(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    brk = breaks[0]
    if brk.kind != Break.Kind.MISMATCH or not brk.ours or not brk.theirs:
        raise BadState("NOT_MISMATCH", "a status sync needs both records: only a mismatch break has them")
    status = d.status or str(brk.theirs.get("status") or "")
    if not status:
        raise InputRejected("STATUS_REQUIRED", "the channel's record has no status to sync; give one", field="status")
    merchant.check(plan)
    return Prepared(brk.ours_amount_minor, brk.currency, {"status": status, "was": brk.ours.get("status")})


def _apply_sync_status(action: Action, breaks: list[Break]) -> dict[str, Any]:
    brk = breaks[0]
    ours = brk.ours or {}
    action.result = {"webhook": merchant.send(action.plan, "sync_status", {
        "action": action.pk, "order_no": brk.order_no, "refund_no": brk.refund_no or None,
        "record_kind": brk.record_kind, "status": action.payload["status"], "was": ours.get("status")})}
    return resolved(K.SYNC_STATUS)


# 调账 -------------------------------------------------------------------------------------------------

def _prepare_adjust(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    if not d.amount_minor:
        raise InputRejected("AMOUNT_REQUIRED", "调账 needs a non-zero amount in minor units", field="amount_minor")
    need_reason(d, "调账")
    return Prepared(d.amount_minor, breaks[0].currency)


def _apply_adjust(action: Action, breaks: list[Break]) -> dict[str, Any]:
    brk = breaks[0]
    record = {"source": _ours_source(action.plan), "business_day": brk.day.isoformat(), "record_kind": "adjustment",
              "order_no": brk.order_no, "refund_no": brk.refund_no or None, "amount_minor": action.amount_minor,
              "currency": brk.currency, "origin": "adjust", "action": action.pk, "reason": action.reason}
    entry = _entry(action, brk, int(action.amount_minor or 0), record)
    action.result = {"adjustment": entry.pk}
    return resolved(K.ADJUST)


# 核销 -------------------------------------------------------------------------------------------------

def _prepare_write_off(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    if d.reason_code not in WRITE_OFF_CODES:
        raise InputRejected("BAD_REASON_CODE", f"核销 needs a reason code, one of {', '.join(WRITE_OFF_CODES)}",
                            field="reason_code")
    if d.reason_code == "other":
        need_reason(d, "核销 with reason code 'other'")
    return Prepared(difference(breaks[0]), breaks[0].currency)


# manual match ---------------------------------------------------------------------------------------

def _prepare_match(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    shorts = [b for b in breaks if b.kind == Break.Kind.SHORT]
    longs = [b for b in breaks if b.kind == Break.Kind.LONG]
    if len(shorts) + len(longs) != len(breaks) or not shorts or not longs:
        raise BadState("BAD_MATCH", "a manual match pairs short breaks (ours only) with long ones (theirs only)")
    if len(shorts) > 1 and len(longs) > 1:
        raise BadState("BAD_MATCH", "a manual match is 1:1, N:1 or 1:N, never N:M")
    currencies = {b.currency for b in breaks}
    if len(currencies) != 1:
        raise BadState("CURRENCY_DIFFERS", f"the breaks are in different currencies ({', '.join(sorted(currencies))})")
    diff = sum(b.ours_amount_minor or 0 for b in shorts) - sum(b.theirs_amount_minor or 0 for b in longs)
    if diff and not d.reason:
        raise InputRejected("MATCH_SUMS_DIFFER", f"the two sides differ by {diff} minor units; "
                            "give the reason that explains the difference", field="reason")
    return Prepared(diff, currencies.pop(), {"ours": [b.pk for b in shorts], "theirs": [b.pk for b in longs]})


# resolve, suspend, reopen -------------------------------------------------------------------------

def _prepare_resolve(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    need_reason(d, "resolving a break")
    return Prepared(difference(breaks[0]), breaks[0].currency)


def _prepare_suspend(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    need_reason(d, "挂起")
    if d.until is None:
        raise InputRejected("DATE_REQUIRED", "挂起 needs a review date", field="until")
    if d.until <= timezone.localdate():
        raise InputRejected("DATE_NOT_FUTURE", f"the review date {d.until} is not after today", field="until")
    return Prepared(None, breaks[0].currency, {"until": d.until.isoformat()})


def _apply_suspend(action: Action, breaks: list[Break]) -> dict[str, Any]:
    return {"status": S.SUSPENDED, "suspended_until": date.fromisoformat(action.payload["until"])}


def _prepare_plain(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    return Prepared(None, breaks[0].currency)


def reopened() -> dict[str, Any]:
    return {"status": S.OPEN, "suspended_until": None, "resolution": "", "resolved_at": None}


def _simple(kind: str) -> Callable[[Action, list[Break]], dict[str, Any]]:
    return lambda action, breaks: resolved(f"rule:{action.rule}" if action.rule else kind)


def _unsupported(plan: Plan, breaks: list[Break], d: Details) -> Prepared:
    raise ConfigError("USE_UNDO", "undo and unmatch name the action they reverse: use undo()/unmatch()")


OPEN_OR_SUSPENDED = frozenset({S.OPEN, S.SUSPENDED})
KINDS: dict[str, Kind] = {
    K.SUPPLEMENT: Kind(OPEN_OR_SUSPENDED, _prepare_supplement, _apply_supplement),
    K.SYNC_STATUS: Kind(OPEN_OR_SUSPENDED, _prepare_sync_status, _apply_sync_status),
    K.ADJUST: Kind(OPEN_OR_SUSPENDED, _prepare_adjust, _apply_adjust),
    K.WRITE_OFF: Kind(OPEN_OR_SUSPENDED, _prepare_write_off, _simple(K.WRITE_OFF)),
    K.MANUAL_MATCH: Kind(OPEN_OR_SUSPENDED, _prepare_match, _simple(K.MANUAL_MATCH), single=False),
    K.RESOLVE: Kind(OPEN_OR_SUSPENDED, _prepare_resolve, _simple(K.RESOLVE)),
    K.SUSPEND: Kind(frozenset({S.OPEN}), _prepare_suspend, _apply_suspend),
    K.REOPEN: Kind(frozenset({S.SUSPENDED}), _prepare_plain, lambda action, breaks: reopened()),
    K.UNDO: Kind(frozenset(), _unsupported, lambda action, breaks: reopened()),
    K.UNMATCH: Kind(frozenset(), _unsupported, lambda action, breaks: reopened()),
}
# What undo may reverse, and unmatch (manual matches only).
UNDOABLE = frozenset({K.SUPPLEMENT, K.SYNC_STATUS, K.ADJUST, K.WRITE_OFF, K.MANUAL_MATCH, K.RESOLVE, K.SUSPEND})
