"""REST API v1: bearer-token authenticated, errors as {"code", "message"}."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError, ValidationError

from antenne.accounts import access_requests, selectors, services
from antenne.api import schemas
from antenne.api.auth import TokenAuth
from antenne.api.events import router as events_router
from antenne.api.exports import router as exports_router
from antenne.api.registrations import router as registrations_router
from antenne.core.exceptions import AntenneError

logger = logging.getLogger("antenne.api")

api = NinjaAPI(
    title="Antenne API",
    version="1",
    urls_namespace="api-1",
    auth=TokenAuth(),
    docs_url=None,
    description="Bearer tokens come from `antenne token create --email E` or the back office.",
)
api.add_router("/", events_router)
api.add_router("/", registrations_router)
api.add_router("/", exports_router)


def _error(
    request: HttpRequest, status: int, code: str, message: str, **extra: Any
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(AntenneError)
def on_domain_error(request: HttpRequest, exc: AntenneError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, **exc.data)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "auth.unauthenticated", "A valid bearer token is required.")


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"loc": [str(part) for part in e.get("loc", [])], "msg": str(e.get("msg", ""))}
        for e in exc.errors
    ]
    return _error(request, 422, "request.invalid", "The request is not valid.", errors=errors)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "request.error", str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return _error(request, 500, "server.error", "Something went wrong on our side.")


ERRORS: dict[int, Any] = {
    401: schemas.Error,
    403: schemas.Error,
    404: schemas.Error,
    422: schemas.Error,
}


@api.get("/me", response={200: schemas.UserOut, **ERRORS}, tags=["accounts"])
def me(request: HttpRequest) -> Any:
    """The token's user, with their workspace role."""
    return request.user


@api.get("/members", response={200: list[schemas.UserOut], **ERRORS}, tags=["accounts"])
def list_members(
    request: HttpRequest, q: str = "", role: str = "", limit: int = 100, offset: int = 0
) -> Any:
    """Workspace members (admins only)."""
    limit = max(1, min(limit, 500))
    members = selectors.list_members(actor=request.user, search=q, role=role)
    return members[max(offset, 0) : max(offset, 0) + limit]


@api.put(
    "/members/{member_id}/role",
    response={200: schemas.UserOut, **ERRORS, 409: schemas.Error},
    tags=["accounts"],
)
def set_member_role(request: HttpRequest, member_id: int, body: schemas.RoleIn) -> Any:
    """Change a member's role (admins only)."""
    member = selectors.access_member(actor=request.user, pk=member_id)
    return services.change_role(actor=request.user, user=member, role=body.role)


@api.get(
    "/access-requests", response={200: list[schemas.AccessRequestOut], **ERRORS}, tags=["accounts"]
)
def list_access_requests(request: HttpRequest, status: str = "pending") -> Any:
    """Animator access requests (admins only); `status` = pending, approved, refused or empty."""
    return list(selectors.list_access_requests(actor=request.user, status=status)[:500])


@api.post(
    "/access-requests/{request_id}/approve",
    response={200: schemas.UserOut, **ERRORS, 409: schemas.Error},
    tags=["accounts"],
)
def approve_access_request(request: HttpRequest, request_id: int, body: schemas.DecisionIn) -> Any:
    """Grant animator access; the requester is emailed a login link (admins only)."""
    found = selectors.access_access_request(actor=request.user, pk=request_id)
    return access_requests.approve_access_request(
        actor=request.user, access_request=found, message=body.message
    )


@api.post(
    "/access-requests/{request_id}/refuse",
    response={200: schemas.AccessRequestOut, **ERRORS, 409: schemas.Error},
    tags=["accounts"],
)
def refuse_access_request(request: HttpRequest, request_id: int, body: schemas.DecisionIn) -> Any:
    """Refuse with a message emailed to the requester (admins only)."""
    found = selectors.access_access_request(actor=request.user, pk=request_id)
    return access_requests.refuse_access_request(
        actor=request.user, access_request=found, message=body.message
    )


class AuditFilters(schemas.Strict):
    action: str = ""
    actor: str = ""
    limit: int = 100


@api.get("/audit", response={200: list[schemas.AuditEntryOut], **ERRORS}, tags=["audit"])
def audit(request: HttpRequest, filters: Query[AuditFilters]) -> Any:
    """The audit log, newest first (admins only)."""
    entries = selectors.list_audit_entries(
        actor=request.user, action=filters.action, actor_email=filters.actor
    )
    return list(entries[: max(1, min(filters.limit, 1000))])
