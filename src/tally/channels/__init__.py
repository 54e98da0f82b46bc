"""Channel formats: one module per format, each turning a bill's bytes into normalized records.

The registry is a plain dict from source kind to parser, plus the ``tally.channels`` entry-point
group for third-party channels; a duplicate name is an error, never a silent override.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pyarrow as pa


@dataclass(frozen=True)
class ParseContext:
    """What a parser knows besides the bytes: which source, its declaration, the bill's identity."""

    source: str
    options: dict[str, Any] = field(default_factory=dict)
    bill_sha256: str = ""
    file_name: str = ""

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(str(self.options.get("timezone", "Asia/Shanghai")))


class Channel(Protocol):
    # The bill category in standard names: pay (trade bill), fund, stmt, ord (our orders), data.
    category: str

    def parse(self, data: bytes, ctx: ParseContext) -> Iterator[pa.RecordBatch]:
        """Records of the whole bill; raises InputRejected (with line) on anything wrong.

        Control totals are checked when the iterator is exhausted, so a caller must consume it
        fully before keeping anything.
        """
        ...

    def extension(self, data: bytes, ctx: ParseContext) -> str:
        """File extension of the raw bytes as received (for the standard name)."""
        ...

    def lines(self, data: bytes, ctx: ParseContext) -> list[str]:
        """The bill's text lines as its parser numbers them (line_no 1 is the first)."""
        ...


_BUILTIN: dict[str, str] = {
    "wechatpay": "tally.channels.wechatpay",
    "wechatpay_fund": "tally.channels.wechatpay_fund",
    "alipay": "tally.channels.alipay",
    "unionpay": "tally.channels.unionpay",
    "table": "tally.channels.tabular",
    "sql": "tally.channels.tabular",
    "camt053": "tally.channels.camt053",
    "mt940": "tally.channels.mt940",
    "bai2": "tally.channels.bai2",
    "ofx": "tally.channels.ofx",
    "paypal": "tally.channels.paypal",
    "stripe": "tally.channels.stripe",
}
_LOADED: dict[str, Channel] = {}


def _third_party() -> dict[str, Callable[[], Channel]]:
    found: dict[str, Callable[[], Channel]] = {}
    for ep in entry_points(group="tally.channels"):
        if ep.name in _BUILTIN or ep.name in found:
            raise RuntimeError(f"channel {ep.name!r} is registered twice")
        found[ep.name] = ep.load
    return found


def kinds() -> list[str]:
    return sorted({*_BUILTIN, *_third_party()})


def get(kind: str) -> Channel:
    """The parser for a source kind; KeyError for an unknown kind."""
    if kind not in _LOADED:
        if kind in _BUILTIN:
            module = import_module(_BUILTIN[kind])
            _LOADED[kind] = module.CHANNEL
        else:
            _LOADED[kind] = _third_party()[kind]()
    return _LOADED[kind]
