"""One exception tree with stable codes.

Every error a user can cause carries a code matching ``[A-Z][A-Z0-9_]+``, a message that says
what is wrong, and where it applies the file, line and field. The CLI and the web turn them into
``error[CODE]: message (FILE:LINE)`` in one place each; nothing else formats errors.
"""

from __future__ import annotations

from dataclasses import dataclass


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

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.where.file,
            "line": self.where.line,
            "field": self.where.field,
            "hint": self.hint,
        }


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
