"""``tally serve``: the back office under gunicorn (a production WSGI server), static files by whitenoise."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from gunicorn.app.base import BaseApplication

from tally.web.wsgi import application


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return application


def serve(host: str, port: int) -> None:
    call_command("collectstatic", interactive=False, verbosity=0)
    _Gunicorn({"bind": f"{host}:{port}", "workers": 2, "threads": 4, "accesslog": "-", "timeout": 120}).run()
