"""``tally serve``: the back office under gunicorn (a production WSGI server), static files by whitenoise."""

from __future__ import annotations

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
    _Gunicorn({"bind": f"{host}:{port}", "workers": 2, "threads": 4, "accesslog": "-", "timeout": 120}).run()
