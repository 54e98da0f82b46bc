"""A plan: what to reconcile against what. A value, separate from the algorithm that runs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tally.errors import ConfigError
from tally.records import COLUMNS

KEYABLE = ("order_no", "refund_no", "channel_txn_id", "record_kind", "currency", "item", "status")
COMPARABLE = ("amount_minor", "fee_minor", "discount_minor", "currency", "status", "quantity", "record_kind")
# auto_run (default true): the worker runs a day by itself once every side has its bill.
PLAN_FIELDS = {"ours", "theirs", "keys", "compare", "carry_over_days", "tolerance_minor", "description", "auto_run"}


@dataclass(frozen=True)
class Plan:
    name: str
    ours: tuple[str, ...]
    theirs: tuple[str, ...]
    keys: tuple[str, ...] = ("order_no", "refund_no", "record_kind")
    compare: tuple[str, ...] = ("amount_minor", "currency")
    carry_over_days: int = 1
    tolerance_minor: int = 0

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

        def names(field: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
            value = spec.get(field, list(default))
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

        return cls(
            name=name,
            ours=sides("ours"),
            theirs=sides("theirs"),
            keys=names("keys", KEYABLE, cls.keys),
            compare=names("compare", COMPARABLE, cls.compare),
            carry_over_days=count("carry_over_days", cls.carry_over_days),
            tolerance_minor=count("tolerance_minor", cls.tolerance_minor),
        )

    @property
    def sources(self) -> tuple[str, ...]:
        return self.ours + self.theirs
