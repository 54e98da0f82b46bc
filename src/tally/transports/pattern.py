"""File name patterns with business-day placeholders, e.g. ``STL-{yyyymmdd}.*.CSV``.

A pattern is a shell-style glob (``*`` any run of characters, ``?`` one character) in which
``{yyyymmdd}`` (20240820) and ``{yyyy-mm-dd}`` (2024-08-20) stand for the business day. The
same pattern selects one day's files on a server (PayPal's ``STL-20240820.01.009.CSV``) and
tells which day a file in an inbox folder belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tally.errors import ConfigError

PLACEHOLDERS = {"yyyymmdd": r"(?P<yyyymmdd>\d{8})", "yyyy-mm-dd": r"(?P<iso>\d{4}-\d{2}-\d{2})"}
_TOKEN = re.compile(r"\{([^{}]*)\}|\*|\?|[^{}*?]+|[{}]")
# A date written in a file name, for inboxes whose pattern has no placeholder.
_DAY_IN_NAME = re.compile(r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})(?!\d)")


@dataclass(frozen=True)
class Pattern:
    text: str
    regex: re.Pattern[str]

    @property
    def has_day(self) -> bool:
        return "yyyymmdd" in self.regex.groupindex or "iso" in self.regex.groupindex

    def day_of(self, name: str) -> date | bool | None:
        """False when ``name`` does not match; else the day its placeholder names (None without one)."""
        found = self.regex.fullmatch(name)
        if found is None:
            return False
        groups = found.groupdict()
        text = groups.get("yyyymmdd") or (groups.get("iso") or "").replace("-", "")
        if not text:
            return None
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return False  # 20241399 is no day: not one of ours

    def selects(self, name: str, day: date) -> bool:
        """Whether ``name`` is one of ``day``'s files (a pattern without a day: a date in the name)."""
        found = self.day_of(name)
        if found is False:
            return False
        if found is None:
            return day_in_name(name) == day
        return found == day


def compile_pattern(text: str, *, field: str = "pattern") -> Pattern:
    """ConfigError for an unknown placeholder (``{yyyymm}``) or a path separator."""
    if not text or "/" in text or "\\" in text:
        raise ConfigError("BAD_PATTERN", f"{field} {text!r} must be a file name pattern without folders",
                          field=field, hint="e.g. \"STL-{yyyymmdd}.*.CSV\"; the folder goes in remote_dir or path")
    parts: list[str] = []
    used: set[str] = set()
    for token in _TOKEN.finditer(text):
        piece = token.group(0)
        if token.group(1) is not None:
            name = token.group(1)
            if name not in PLACEHOLDERS:
                raise ConfigError("BAD_PATTERN", f"{field} {text!r}: unknown placeholder {{{name}}}", field=field,
                                  hint="use {yyyymmdd} or {yyyy-mm-dd}")
            if name in used:
                parts.append(rf"(?P={'iso' if name == 'yyyy-mm-dd' else name})")
                continue
            used.add(name)
            parts.append(PLACEHOLDERS[name])
        elif piece == "*":
            parts.append(".*")
        elif piece == "?":
            parts.append(".")
        else:
            parts.append(re.escape(piece))
    return Pattern(text, re.compile("".join(parts), re.DOTALL))


def day_in_name(name: str) -> date | None:
    found = _DAY_IN_NAME.search(name)
    if found is None:
        return None
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None
