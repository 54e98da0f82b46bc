"""A break's suggested counterparts (plans with ``candidates``), with the breaks they are now.

The engine keeps on a break the records of the other side that may be its counterpart: one record,
or a group whose amounts add up to the break's (``tally.engine.candidates``). A person confirms one
by a manual match of the break with the breaks of those records (``workflow.propose``), under the
same maker-checker policy as any manual match. A suggested record that is not an open break (still
pending on its side, or already resolved) makes its suggestion visible but not confirmable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q

from tally.breaks.models import Break

WORKABLE = (Break.Status.OPEN, Break.Status.SUSPENDED)  # what a manual match may start from


@dataclass(frozen=True)
class Member:
    record: dict[str, Any]  # as stored: side, business_day, order_no, amount_minor, currency, line_no…
    brk: Break | None  # the break the record is now, if any


@dataclass(frozen=True)
class Suggestion:
    members: tuple[Member, ...]
    amount_minor: int  # the members' sum, in minor units of ``currency``
    currency: str
    confirmable: bool  # the break and every member are open (or suspended) breaks
    adds_up: bool  # the sum equals the break's own amount, in its currency

    @property
    def grouped(self) -> bool:
        return len(self.members) > 1

    @property
    def break_ids(self) -> list[int]:
        return [m.brk.pk for m in self.members if m.brk is not None]


def suggested(brk: Break) -> list[Suggestion]:
    """The break's suggestions, best first, each member with its break (one query for all)."""
    stored = [s for s in brk.suggestions or [] if isinstance(s, dict)]
    groups = [list(s["group"]) if "group" in s else [s] for s in stored]
    found = _breaks(brk, [record for group in groups for record in group])
    own = brk.ours_amount_minor if brk.kind == Break.Kind.SHORT else brk.theirs_amount_minor
    out = []
    for group in groups:
        members = tuple(Member(record, _find(found, record)) for record in group)
        confirmable = brk.status in WORKABLE and all(m.brk is not None and m.brk.status in WORKABLE for m in members)
        total, currency = sum(int(r["amount_minor"]) for r in group), str(group[0]["currency"])
        out.append(Suggestion(members, total, currency, confirmable, total == own and currency == brk.currency))
    return out


def _kind(record: dict[str, Any]) -> str:
    return Break.Kind.SHORT if record.get("side") == "ours" else Break.Kind.LONG


def _breaks(brk: Break, records: list[dict[str, Any]]) -> list[Break]:
    if not records:
        return []
    wanted = Q()
    for record in records:
        side = "ours" if _kind(record) == Break.Kind.SHORT else "theirs"
        wanted |= Q(kind=_kind(record), day=date.fromisoformat(str(record["business_day"])),
                    currency=record["currency"], **{f"{side}_amount_minor": record["amount_minor"]})
    return list(Break.objects.filter(wanted, plan_id=brk.plan_id).exclude(pk=brk.pk))


def _find(found: list[Break], record: dict[str, Any]) -> Break | None:
    """The break of a suggested record: its line of its bill (older suggestions name no bill)."""
    for candidate in found:
        kept = candidate.ours if _kind(record) == Break.Kind.SHORT else candidate.theirs
        if not kept or candidate.kind != _kind(record) or kept.get("line_no") != record.get("line_no"):
            continue
        if str(kept.get("business_day")) != str(record["business_day"]):
            continue
        if all(kept.get(name) == record[name] for name in ("bill_sha256", "source") if name in record):
            return candidate
    return None
