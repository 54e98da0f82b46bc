"""What every transport returns, and how failures are told apart.

Outcomes (CONTRACT.md `tally fetch`): the bill's bytes (``FETCHED``), the channel says there is
no bill for that day (``NO_BILL``: a valid answer, not a failure), the bill is not ready yet
(``NOT_READY``: try again later), the channel's answer was refused (``REFUSED``: bad signature
or hash — exit 2, nothing kept), or the attempt failed (``FAILED``: auth, network, server —
exit 1; ``transient`` says whether a retry may help).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from tally.errors import ConfigError


class Outcome(enum.StrEnum):
    FETCHED = "fetched"
    NO_BILL = "no_bill"
    NOT_READY = "not_ready"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True)
class Fetched:
    outcome: Outcome
    data: bytes = b""
    file_name: str = ""
    reason: str = ""
    transient: bool = False
    # Transport-specific facts worth keeping in the fetch history (never secrets).
    details: dict[str, Any] = field(default_factory=dict)


class Transport(Protocol):
    def fetch(self, source: str, settings: dict[str, Any], day: date) -> list[Fetched]:
        """Acquire the bill(s) of one business day; a transport that finds several files returns each."""
        ...


def secret(settings: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """A secret named by ``NAME_env`` (an environment variable) or ``NAME_file`` (a file path).

    Secrets are never written inline in a declaration and never logged.
    """
    if env := settings.get(f"{name}_env"):
        value = os.environ.get(str(env))
        if value is None:
            raise ConfigError("MISSING_SECRET", f"environment variable {env} ({name}_env) is not set")
        return value
    if path := settings.get(f"{name}_file"):
        try:
            return Path(str(path)).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("MISSING_SECRET", f"cannot read {name}_file {path}: {exc.strerror}") from None
    if required:
        raise ConfigError("MISSING_SECRET", f"set {name}_env or {name}_file")
    return None
