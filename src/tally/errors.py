"""One exception tree with stable codes.

Every error a user can cause carries a code matching ``[A-Z][A-Z0-9_]+``, a message that says
what is wrong, and where it applies the file, line and field. The CLI and the web turn them into
``error[CODE]: message (FILE:LINE)`` in one place each; nothing else formats errors. A failed
run, a failed job and a rejected bill keep that text (``str(exc)``); ``TallyError.parse`` reads
it back into its parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class Where:
    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        place = self.file or ""
        if self.line is not None:
            place = f"{place}:{self.line}" if place else f"line {self.line}"
        if self.field:
            place = f"{place}, field {self.field}" if place else f"field {self.field}"
        return place


class TallyError(Exception):
    """An input was rejected: exit code 2, nothing from the input is kept."""

    exit_code = 2

    def __init__(
        self,
        code: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.where = Where(file, line, field)
        self.hint = hint

    def located(self, *, file: str | None = None, line: int | None = None) -> TallyError:
        """The same error with a file (and line) filled in where it had none."""
        self.where = Where(self.where.file or file, self.where.line if self.where.line is not None else line,
                           self.where.field)
        return self

    def __str__(self) -> str:
        text = f"error[{self.code}]: {self.message}"
        where = str(self.where)
        if where:
            text += f" ({where})"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    @classmethod
    def parse(cls, text: str, *, file_name: str | None = None) -> TallyError | None:
        """The error whose ``str()`` is ``text``, or None for text no TallyError wrote (a bug's
        ``TypeError: …``). The class is not kept: the text does not say it.

        The text is ambiguous where a message closes with parentheses of its own ("… (at most
        10)") or a file name holds some: the place is the closing parenthesised part whose
        parentheses balance, or the one before ``file_name`` (a bill's own name) when that is in
        the text; a place of a file alone (no line, no field) must name ``file_name`` or look like
        a path, else the parentheses are the message's.
        """
        body, _, hint = text.partition(_HINT)
        matched = _TEXT.fullmatch(body)
        if matched is None:
            return None
        code, rest = matched.group("code"), matched.group("rest")
        name = PurePosixPath(file_name).name if file_name else ""
        for at in _place_starts(rest, name):
            where = _where(rest[at + 2:-1], name)
            if where is not None:
                return cls(code, rest[:at], file=where.file, line=where.line, field=where.field, hint=hint or None)
        return cls(code, rest, hint=hint or None)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.where.file,
            "line": self.where.line,
            "field": self.where.field,
            "hint": self.hint,
        }


# What TallyError.__str__ writes, read back by TallyError.parse.
_TEXT = re.compile(r"error\[(?P<code>[A-Z][A-Z0-9_]*)\]: (?P<rest>.*)", re.DOTALL)
_HINT = "\n  hint: "
_LINE = re.compile(r"(?:(?P<file>.*):|line )(?P<line>\d+)", re.DOTALL)
# A file alone as the place: a path, or one word with an extension ("in.csv"), not words in
# parentheses that end a message.
_PATH = re.compile(r"[/\\]|^\S+\.[A-Za-z][A-Za-z0-9]*$")


def _place_starts(rest: str, name: str) -> Iterator[int]:
    """Where `` (`` may open the place that ends ``rest``: before the file's own name first, then
    where the parentheses inside balance (at most one ``" ("`` does)."""
    if not rest.endswith(")"):
        return
    if name and (named := rest.rfind(name)) > 0 and (at := rest.rfind(" (", 0, named)) >= 0:
        yield at
    at = rest.find(" (")
    while at >= 0:
        if _balanced(rest[at + 2:-1]):
            yield at
        at = rest.find(" (", at + 1)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == "(") - (char == ")")
        if depth < 0:
            return False
    return depth == 0


def _where(text: str, name: str) -> Where | None:
    """``Where.__str__`` read back; None when ``text`` is not a place."""
    place, field = text, None
    if text.startswith("field "):
        place, field = "", text.removeprefix("field ")
    elif ", field " in text:
        place, _, field = text.partition(", field ")
    located = _LINE.fullmatch(place)
    if located:
        return Where(located.group("file"), int(located.group("line")), field)
    if field is None and not (_PATH.search(place) or (name and name in place)):
        return None
    return Where(place or None, None, field)


class InputRejected(TallyError):
    """A bill, a row or a value in it is not acceptable."""


class ConfigError(TallyError):
    """A source or plan declaration is not acceptable."""


class OperationFailed(TallyError):
    """Something outside the input went wrong (a missing bill, a lock held): exit code 1."""

    exit_code = 1


class NotAllowed(TallyError):
    """The user may not do this: their role, their plans, or maker-checker (SELF_APPROVAL) say no."""


class NotFound(TallyError):
    """No such object, or not one the user may see (the two are told apart for nobody)."""


class BadState(TallyError):
    """The action does not fit the object's state (e.g. suspending a resolved break)."""
