"""Structured logs: one JSON object per line, to stdout and to ``TALLY_HOME/logs/requests.log``."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", …the record's request_fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        entry.update(getattr(record, "request_fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class HomeFileHandler(logging.Handler):
    """Appends to ``TALLY_HOME/logs/<name>``, found when a line is written (TALLY_HOME is a setting)."""

    def __init__(self, name: str = "requests.log") -> None:
        super().__init__()
        self.file_name = name
        self._path: Path | None = None
        self._stream: IO[str] | None = None
        self._open_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from django.conf import settings

            path = Path(settings.TALLY_HOME) / "logs" / self.file_name
            line = self.format(record) + "\n"
            with self._open_lock:
                if self._path != path or self._stream is None:
                    if self._stream is not None:
                        self._stream.close()
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self._stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
                    self._path = path
                self._stream.write(line)
                self._stream.flush()
        except Exception:  # a log line must never break a request
            self.handleError(record)

    def close(self) -> None:
        with self._open_lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
        super().close()
