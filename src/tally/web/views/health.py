from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and ``tally serve`` checks: no login, no database."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
