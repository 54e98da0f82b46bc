"""A plan: what to reconcile against what. A value, separate from the algorithm that runs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tally.engine.candidates import Candidates
from tally.engine.groups import MAX_MEMBERS
from tally.engine.rules import Rule, parse_rules
from tally.errors import ConfigError
from tally.records import COLUMNS

KEYABLE = ("order_no", "refund_no", "channel_txn_id", "record_kind", "currency", "item", "status")
COMPARABLE = ("amount_minor", "fee_minor", "discount_minor", "currency", "status", "quantity", "record_kind")
# auto_run (default true): the worker runs a day by itself once every side has its bill.
PLAN_FIELDS = {"ours", "theirs", "keys", "compare", "carry_over_days", "tolerance_minor", "description", "auto_run",
               "match", "group_by", "measure", "tolerance_bp", "filters", "ours_filters", "theirs_filters",
               "candidates", "merchant_webhook_url"}
# merchant_webhook_url: where 补单 and status syncs are sent (tally.services.merchant); not the engine's.
GROUPABLE = (*KEYABLE, "business_day")
FILTERABLE = ("record_kind", "status", "currency", "source")
MEASURES = ("amount_minor", "quantity")
Filters = tuple[tuple[str, tuple[str, ...]], ...]

# Automatic rules (tally.engine.rules), and the amount from which a new break is alerted.
PLAN_FIELDS |= {"rules", "alert_threshold_minor"}


@dataclass(frozen=True)
class Plan:
    name: str
    ours: tuple[str, ...]
    theirs: tuple[str, ...]
    keys: tuple[str, ...] = ("order_no", "refund_no", "record_kind")
    compare: tuple[str, ...] = ("amount_minor", "currency")
    carry_over_days: int = 1
    tolerance_minor: int = 0
    rules: tuple[Rule, ...] = ()
    alert_threshold_minor: int | None = None
    # Relative tolerance in basis points of our amount; the larger of the two tolerances applies.
    tolerance_bp: int = 0
    # "records" pairs records on keys; "totals" compares sums of `measure` per group (账账 / 账实,
    # and N:1 / 1:N by a group key: a settlement batch against its orders).
    match: str = "records"
    group_by_ours: tuple[str, ...] = ()
    group_by_theirs: tuple[str, ...] = ()
    measure: str = "amount_minor"
    ours_filters: Filters = ()
    theirs_filters: Filters = ()
    # Candidate matching of records left unpaired (no shared reference): see engine.candidates.
    candidates: Candidates | None = None

    @classmethod
    def from_spec(cls, name: str, spec: dict[str, Any], *, file: str | None = None) -> Plan:
        """Build and validate a plan from its declaration; ConfigError names the bad field."""
        where = f"plans.{name}"
        unknown = sorted(set(spec) - PLAN_FIELDS)
        if unknown:
            raise ConfigError("UNKNOWN_FIELD", f"{where} has unknown field(s) {', '.join(unknown)}", file=file,
                              field=f"{where}.{unknown[0]}", hint=f"known fields: {', '.join(sorted(PLAN_FIELDS))}")

        def sides(side: str) -> tuple[str, ...]:
            value = spec.get(side)
            names = [value] if isinstance(value, str) else value
            if not names or not all(isinstance(v, str) and v for v in names):
                raise ConfigError("BAD_PLAN", f"{where}.{side} must name a source (or a list of sources)",
                                  file=file, field=f"{where}.{side}")
            return tuple(names)

        def names(field: str, allowed: tuple[str, ...], default: tuple[str, ...], given: Any = None) -> tuple[str, ...]:
            value = spec.get(field, list(default)) if given is None else given
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise ConfigError("BAD_PLAN", f"{where}.{field} must be a non-empty list of column names",
                                  file=file, field=f"{where}.{field}")
            bad = [v for v in value if v not in allowed]
            if bad:
                known = "unknown column" if any(v not in COLUMNS for v in bad) else "column not usable here"
                raise ConfigError("BAD_PLAN", f"{where}.{field}: {known} {', '.join(bad)}", file=file,
                                  field=f"{where}.{field}", hint=f"use some of: {', '.join(allowed)}")
            return tuple(value)

        def count(field: str, default: int) -> int:
            value = spec.get(field, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError("BAD_PLAN", f"{where}.{field} must be a whole number ≥ 0", file=file,
                                  field=f"{where}.{field}")
            return value

        def filters(field: str) -> Filters:
            value = spec.get(field, {})
            if not isinstance(value, dict) or not all(
                    isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in value.values()):
                raise ConfigError("BAD_PLAN", f"{where}.{field} must be a table of column = [values]", file=file,
                                  field=f"{where}.{field}", hint='e.g. filters = { record_kind = ["payment"] }')
            bad = [k for k in value if k not in FILTERABLE]
            if bad:
                raise ConfigError("BAD_PLAN", f"{where}.{field}: cannot filter on {', '.join(bad)}", file=file,
                                  field=f"{where}.{field}", hint=f"use some of: {', '.join(FILTERABLE)}")
            return tuple((k, tuple(v)) for k, v in sorted(value.items()))

        match = spec.get("match", "records")
        if match not in ("records", "totals"):
            raise ConfigError("BAD_PLAN", f"{where}.match must be \"records\" or \"totals\"", file=file,
                              field=f"{where}.match")
        group_ours: tuple[str, ...] = ()
        group_theirs: tuple[str, ...] = ()
        if match == "totals":
            group = spec.get("group_by")
            if isinstance(group, dict) and set(group) == {"ours", "theirs"}:
                group_ours = names("group_by.ours", GROUPABLE, (), group["ours"])
                group_theirs = names("group_by.theirs", GROUPABLE, (), group["theirs"])
                if len(group_ours) != len(group_theirs):
                    raise ConfigError("BAD_PLAN", f"{where}.group_by: ours and theirs need as many columns",
                                      file=file, field=f"{where}.group_by")
            else:
                group_ours = group_theirs = names("group_by", GROUPABLE, (), group)
            if spec.get("measure", "amount_minor") == "amount_minor" and "currency" not in group_ours:
                # Money is only summed within one currency.
                group_ours, group_theirs = (*group_ours, "currency"), (*group_theirs, "currency")
        measure = spec.get("measure", "amount_minor")
        if measure not in MEASURES:
            raise ConfigError("BAD_PLAN", f"{where}.measure must be one of {', '.join(MEASURES)}", file=file,
                              field=f"{where}.measure")
        common = filters("filters")
        candidates = _candidates(spec.get("candidates"), where, file)
        return cls(
            name=name,
            ours=sides("ours"),
            theirs=sides("theirs"),
            keys=names("keys", KEYABLE, cls.keys),
            compare=names("compare", COMPARABLE, cls.compare),
            carry_over_days=count("carry_over_days", cls.carry_over_days),
            tolerance_minor=count("tolerance_minor", cls.tolerance_minor),
            rules=parse_rules(spec.get("rules", []), where=where, file=file),
            alert_threshold_minor=count("alert_threshold_minor", 0) if "alert_threshold_minor" in spec else None,
            tolerance_bp=count("tolerance_bp", cls.tolerance_bp),
            match=match,
            group_by_ours=group_ours,
            group_by_theirs=group_theirs,
            measure=measure,
            ours_filters=common + filters("ours_filters"),
            theirs_filters=common + filters("theirs_filters"),
            candidates=candidates,
        )

    @property
    def sources(self) -> tuple[str, ...]:
        return self.ours + self.theirs


def _candidates(value: Any, where: str, file: str | None) -> Candidates | None:
    if value is None:
        return None
    field = f"{where}.candidates"
    if not isinstance(value, dict) or set(value) - {"window_days", "text", "min_similarity", "group_max"}:
        raise ConfigError("BAD_PLAN", f"{field} takes window_days, text, min_similarity and group_max", file=file,
                          field=field)
    window = value.get("window_days", 2)
    text = value.get("text", ["order_no"])
    similarity = value.get("min_similarity", 0)
    group_max = value.get("group_max", 0)
    if not isinstance(window, int) or isinstance(window, bool) or window < 0:
        raise ConfigError("BAD_PLAN", f"{field}.window_days must be a whole number ≥ 0", file=file, field=field)
    if not isinstance(text, list) or not all(t in KEYABLE for t in text):
        raise ConfigError("BAD_PLAN", f"{field}.text must list columns among {', '.join(KEYABLE)}", file=file,
                          field=field)
    if not isinstance(similarity, int | float) or not 0 <= similarity <= 1:
        raise ConfigError("BAD_PLAN", f"{field}.min_similarity must be between 0 and 1", file=file, field=field)
    if (not isinstance(group_max, int) or isinstance(group_max, bool)
            or not (group_max == 0 or 2 <= group_max <= MAX_MEMBERS)):
        raise ConfigError("BAD_PLAN", f"{field}.group_max must be 0 (no groups) or a whole number from 2 to "
                          f"{MAX_MEMBERS}, not {group_max!r}", file=file, field=f"{field}.group_max",
                          hint="the most records of one side whose amounts may add up to one record of the other")
    return Candidates(window, tuple(text), float(similarity), group_max)
