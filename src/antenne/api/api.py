"""REST API v1: bearer-token authenticated, errors as {"code", "message"}."""

from __future__ import annotations

import logging
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query
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
    if exc.status_code == 400:  # ninja: the body is not JSON
        return _error(request, 400, "request.malformed", _("The request body is not valid JSON."))
    return _error(request, exc.status_code, "request.error", str(exc))


@api.exception_handler(RequestDataTooBig)
def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(
        request,
        413,
        "request.too_large",
        _("The request body is too large (at most %(size)s bytes).")
        % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return _error(request, 500, "server.error", "Something went wrong on our side.")


ERRORS = schemas.ERRORS
BODY_WRITE_ERRORS = schemas.BODY_WRITE_ERRORS
MAX_LIST = 500


@api.get("/me", response={200: schemas.UserOut, **ERRORS}, tags=["accounts"])
def me(request: HttpRequest) -> Any:
    """The token's user, with their workspace role."""
    return request.user


@api.get("/members", response={200: list[schemas.UserOut], **ERRORS}, tags=["accounts"])
def list_members(
    request: HttpRequest,
    q: schemas.Search = "",
    role: schemas.Role | Literal[""] = "",
    limit: int = 100,
    offset: schemas.Offset = 0,
) -> Any:
    """Workspace members (admins only); `limit` is clamped to 1-500."""
    limit = max(1, min(limit, MAX_LIST))
    members = selectors.list_members(actor=request.user, search=q, role=role)
    return members[offset : offset + limit]


@api.put(
    "/members/{member_id}/role",
    response={200: schemas.UserOut, **BODY_WRITE_ERRORS},
    tags=["accounts"],
)
def set_member_role(request: HttpRequest, member_id: schemas.Id, body: schemas.RoleIn) -> Any:
    """Change a member's role (admins only)."""
    member = selectors.access_member(actor=request.user, pk=member_id)
    return services.change_role(actor=request.user, user=member, role=body.role)


@api.get(
    "/access-requests", response={200: list[schemas.AccessRequestOut], **ERRORS}, tags=["accounts"]
)
def list_access_requests(
    request: HttpRequest, status: Literal["pending", "approved", "refused", ""] = "pending"
) -> Any:
    """Animator access requests (admins only); `status` = pending, approved, refused or empty."""
    return list(selectors.list_access_requests(actor=request.user, status=status)[:MAX_LIST])


@api.post(
    "/access-requests/{request_id}/approve",
    response={200: schemas.UserOut, **BODY_WRITE_ERRORS},
    tags=["accounts"],
)
def approve_access_request(
    request: HttpRequest, request_id: schemas.Id, body: schemas.DecisionIn
) -> Any:
    """Grant animator access; the requester is emailed a login link (admins only)."""
    found = selectors.access_access_request(actor=request.user, pk=request_id)
    return access_requests.approve_access_request(
        actor=request.user, access_request=found, message=body.message
    )


@api.post(
    "/access-requests/{request_id}/refuse",
    response={200: schemas.AccessRequestOut, **BODY_WRITE_ERRORS},
    tags=["accounts"],
)
def refuse_access_request(
    request: HttpRequest, request_id: schemas.Id, body: schemas.DecisionIn
) -> Any:
    """Refuse with a message emailed to the requester (admins only)."""
    found = selectors.access_access_request(actor=request.user, pk=request_id)
    return access_requests.refuse_access_request(
        actor=request.user, access_request=found, message=body.message
    )


class AuditFilters(schemas.Strict):
    action: schemas.Search = ""
    actor: schemas.Search = ""
    limit: int = Field(100, description="Clamped to 1-1000.")


@api.get("/audit", response={200: list[schemas.AuditEntryOut], **ERRORS}, tags=["audit"])
def audit(request: HttpRequest, filters: Query[AuditFilters]) -> Any:
    """The audit log, newest first (admins only)."""
    entries = selectors.list_audit_entries(
        actor=request.user, action=filters.action, actor_email=filters.actor
    )
    return list(entries[: max(1, min(filters.limit, 1000))])
