"""Middleware of the back office: the user's language and time zone, security headers, and one
structured log line per request.

- ``UserPreferences`` (after authentication): the language and time zone a user chose on their
  preferences page win over the browser's; times render in that zone everywhere.
- ``SecurityHeaders``: a Content-Security-Policy without inline scripts (the app's JavaScript is
  in static files), and a Permissions-Policy; Django's SecurityMiddleware sets the rest. A body
  over ``TALLY_REQUEST_MAX_BYTES`` is refused with 413 before any view reads it; a NUL character
  in the path, a query string or a JSON body with 400 (PostgreSQL cannot hold one in text: it would be a
  500 deep inside a filter); an /api/ URL no route takes answers a JSON 404, not the HTML page.
- ``RequestLog``: one JSON line per request on the ``tally.requests`` logger: method, path (no
  query string: it may carry search terms), status, duration, user id. Never a header, a cookie
  or a body, so no secret or token can reach the log.
"""

from __future__ import annotations

import logging
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation

from tally.errors import InputRejected

log = logging.getLogger("tally.requests")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI (the API docs) sets style attributes from its own static script.
CSP_DOCS = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

Handler = Callable[[HttpRequest], HttpResponse]


class UserPreferences:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        profile = _profile(request)
        zone = None
        if profile is not None and profile.time_zone:
            try:
                zone = zoneinfo.ZoneInfo(profile.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = None
        language = profile.language if profile is not None and profile.language else None
        # Overrides, not activations: the thread goes back to the defaults after this request.
        with timezone.override(zone), translation.override(language or translation.get_language()):
            if language:
                request.LANGUAGE_CODE = translation.get_language()
            return self.get_response(request)


def _profile(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.tally_profile
    except ObjectDoesNotExist:  # no profile yet: the site's defaults
        return None


class SecurityHeaders:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = _too_large(request) or _nul(request) or self.get_response(request)
        if response.status_code == 404 and request.path.startswith("/api/") and \
                response.get("Content-Type", "").startswith("text/html"):
            # A URL under /api/ that no route takes (e.g. /api/runs/-1) answers like the API does.
            response = JsonResponse({"detail": "Not found."}, status=404)
        docs = request.path.startswith("/api/docs")
        response.headers.setdefault("Content-Security-Policy", CSP_DOCS if docs else CSP)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def _too_large(request: HttpRequest) -> HttpResponse | None:
    """A body larger than TALLY_REQUEST_MAX_BYTES is refused before anything reads it (413); each
    file's own limit (TALLY_UPLOAD_MAX_BYTES) is the upload pages' to check as the bytes arrive."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = int(getattr(settings, "TALLY_REQUEST_MAX_BYTES", 0) or 0)
    if limit and length > limit:
        return HttpResponse(f"The request is larger than the limit of {limit} bytes.\n", status=413,
                            content_type="text/plain; charset=utf-8")
    return None


def _nul(request: HttpRequest) -> HttpResponse | None:
    """A NUL character in the path, the query string or a JSON body is refused (400) before any view."""
    in_query = "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists())
    in_json = request.content_type == "application/json" and (b"\\u0000" in request.body or b"\x00" in request.body)
    if not (in_query or in_json):
        return None
    refused = InputRejected("NUL_CHARACTER", "the request contains a NUL character (\\u0000), which no text may hold",
                            hint="remove it and send the request again")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": refused.message, "error": refused.as_dict()}, status=400)
    return HttpResponse(f"{refused.message}.\n", status=400, content_type="text/plain; charset=utf-8")


class RequestLog:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        if request.path.startswith(settings.STATIC_URL):
            return response
        user = getattr(request, "user", None)
        log.info("request", extra={"request_fields": {
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "user_id": user.pk if user is not None and user.is_authenticated else None,
        }})
        return response
