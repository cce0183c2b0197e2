"""Views every interface shares: health check and error pages (JSON under /api/)."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

logger = logging.getLogger("antenne.core")

TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.exception("health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message}, status=status)
    return render(
        request,
        "errors/error.html",
        {"status": status, "code": code, "message": message},
        status=status,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, TOO_LARGE) and not request.path.startswith("/api/"):
        # A body over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB of form fields, files aside) or
        # with too many fields. The API answers its own (antenne.api).
        return _error(
            request,
            413,
            "request.too_large",
            _("This request is too large. Send less at once, for example a shorter text."),
        )
    return _error(request, 400, "request.bad", _("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 403, "permission.denied", _("You do not have permission to see this page.")
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "not_found", _("This page does not exist or no longer exists."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(
        request, 500, "server.error", _("Something went wrong on our side. Please try again.")
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(
        request,
        403,
        "request.csrf",
        _(
            "This form expired or was sent from another site. Go back, reload the page "
            "and send it again."
        ),
    )


def rate_limited(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        429,
        "rate_limited",
        _("Too many attempts in a short time. Please wait a few minutes and try again."),
    )
