"""The NinjaAPI object, its error answers and its routers (one line per area)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema

from tally.errors import BadState, NotAllowed, NotFound, OperationFailed, TallyError
from tally.web.api import bills, browse, fxrates, plans, reports, rules, runs, sources, workflow
from tally.web.api.auth import api_auth


class TallyAPI(NinjaAPI):
    """The API; its OpenAPI document also lists the error answers every operation may give."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        error = {"description": "", "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                answers = operation.setdefault("responses", {})
                for status, text in ERRORS.items():
                    if status not in answers and str(status) not in answers:
                        answers[status] = {**error, "description": text}
        return schema


# {"detail": "…", "error": {"code": …}} from TallyError, {"detail": [...]} from request validation.
ERROR_SCHEMA = {"type": "object", "required": ["detail"], "properties": {
    "detail": {}, "error": {"type": "object", "properties": {"code": {"type": "string"}}}}}
ERRORS = {400: "The input was refused (error.code says why)", 401: "No valid token or session",
          403: "The user may not do this", 404: "No such object, or none the user may see",
          409: "The object's state or a lock does not allow it now", 422: "The request does not fit its schema"}

api = TallyAPI(
    title="Tally",
    version="1",
    description="Payment reconciliation: sources, bills, plans, runs, breaks, rules, reports, FX rates. "
                "Authenticate with `Authorization: Bearer <token>` (`tally token create USER`).",
    urls_namespace="api",
    auth=api_auth(),
)


class Me(Schema):
    username: str
    roles: list[str]
    permissions: list[str]


@api.get("/me", response=Me, tags=["users"], summary="Who the token belongs to")
def me(request: HttpRequest) -> Me:
    user = request.user
    return Me(username=user.get_username(), roles=sorted(g.name for g in user.groups.all()),
              permissions=sorted(user.get_all_permissions()))


@api.exception_handler(TallyError)
def tally_error(request: HttpRequest, exc: TallyError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "error": exc.as_dict()}, status=error_status(exc))


def error_status(exc: TallyError) -> int:
    """Rejected input is the client's to fix (400); an object the user may not see is 404 like a
    missing one; a refused permission 403; a wrong state or a failed operation (lock held) 409."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotAllowed):
        return 403
    if isinstance(exc, BadState | OperationFailed):
        return 409
    return 400


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


api.add_router("/sources", sources.router)
api.add_router("/bills", bills.router)
api.add_router("/plans", plans.router)
api.add_router("/runs", runs.router)
api.add_router("/browse", browse.router)
api.add_router("/breaks", workflow.breaks_router)
api.add_router("/actions", workflow.actions_router)
api.add_router("/approvals", workflow.approvals_router)
api.add_router("/rules", rules.router)
api.add_router("/reports", reports.router)
api.add_router("/fx-rates", fxrates.router)
