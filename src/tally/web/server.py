"""``tally serve``: the back office under gunicorn (a production WSGI server), static files by whitenoise."""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Imported only now: whitenoise indexes STATIC_ROOT when the application is built,
        # which must happen after collectstatic has filled it.
        from tally.web.wsgi import application

        return application


def serve(host: str, port: int) -> None:
    call_command("collectstatic", interactive=False, verbosity=0)
    # Requests are logged by Tally itself, one JSON line each (tally.web.middleware.RequestLog),
    # so gunicorn's own access log stays off. Processes and threads: TALLY_WEB_WORKERS / _THREADS.
    workers = int(os.environ.get("TALLY_WEB_WORKERS", "2"))
    threads = int(os.environ.get("TALLY_WEB_THREADS", "4"))
    _Gunicorn({"bind": f"{host}:{port}", "workers": workers, "threads": threads, "accesslog": None,
               "errorlog": "-", "timeout": 120}).run()
