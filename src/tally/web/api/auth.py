"""Token authentication for the JSON API, and the permission check every endpoint makes.

A token reads ``tally_<prefix>_<secret>``; the database keeps its SHA-256 and prefix only.
Clients send ``Authorization: Bearer <token>``. A logged-in browser session works as well
(with CSRF on unsafe methods), so the back office's own pages may call the API.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from tally.errors import ConfigError
from tally.web.models import ApiToken

TOKEN_PREFIX = "tally_"  # noqa: S105 (a marker, not a secret)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(username: str, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``username``: the row, and the token itself (shown once, never stored)."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ConfigError("UNKNOWN_USER", f"there is no active user named {username!r}",
                          hint="create it with `tally createuser` or in the admin pages")
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=digest(token))
    return row, token


def user_for_token(token: str) -> Any:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = ApiToken.objects.select_related("user").filter(digest=digest(token), revoked=False).first()
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


def api_auth() -> list[Any]:
    """Bearer token first, then the browser session (which checks CSRF on unsafe methods)."""
    return [TokenAuth(), SessionAuth()]


def require(request: HttpRequest, perm: str) -> None:
    """403 unless the authenticated user holds ``perm`` (same permission names as the pages)."""
    if not request.user.has_perm(perm):
        raise HttpError(403, "You do not have permission to do this.")


class _WithPermission:
    """Put before an authentication scheme: it also demands ``perm`` of the user it finds (403)."""

    def __init__(self, perm: str) -> None:
        super().__init__()
        self.perm = perm

    def __call__(self, request: HttpRequest) -> Any:
        user = super().__call__(request)  # type: ignore[misc]  # the scheme's, next in the MRO
        if user is not None and not user.has_perm(self.perm):
            raise HttpError(403, "You do not have permission to do this.")
        return user


class _TokenWithPermission(_WithPermission, TokenAuth):
    pass


class _SessionWithPermission(_WithPermission, SessionAuth):
    pass


# The same security schemes in the OpenAPI document as the plain ones (it names them by class).
_TokenWithPermission.__name__ = "TokenAuth"
_SessionWithPermission.__name__ = "SessionAuth"


def needs(perm: str) -> list[Any]:
    """Authentication of an operation that changes something: 401 without a token or session,
    403 without ``perm`` (before the request body is even read, so a refusal says nothing else)."""
    return [_TokenWithPermission(perm), _SessionWithPermission(perm)]
