"""The error answers an operation documents in its ``response={...}``.

Every error reaches the client through ``tally.web.api.root``'s handlers as ``{"detail": …}``,
plus ``"error": {"code", "message", "file", "line", "field", "hint"}`` when a ``TallyError``
(a stable code) is behind it; request validation puts its list of problems in ``detail`` (422).
"""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorDetail(Schema):
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    hint: str | None = None


class ErrorAnswer(Schema):
    detail: Any
    error: ErrorDetail | None = None


def errors(*statuses: int) -> dict[int, type[ErrorAnswer]]:
    """``{status: ErrorAnswer}`` for each of ``statuses``, to merge into an operation's ``response``."""
    return dict.fromkeys(statuses, ErrorAnswer)
