"""A JSON API client for tests: a user's token in the Authorization header, paths under /api."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tally.web.api.auth import create_token


class Api:
    def __init__(self, user: Any) -> None:
        _, token = create_token(user.username)
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api{path}", **self.headers)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api{path}", json.dumps(body or {}), content_type="application/json",
                                **self.headers)

    def upload(self, path: str, data: bytes, name: str = "rates.csv", content_type: str = "text/csv") -> Any:
        file = SimpleUploadedFile(name, data, content_type=content_type)
        return self.client.post(f"/api{path}", {"file": file}, **self.headers)
