"""Refusing malformed requests before any view reads them.

No URL of Antenne's pages holds a NUL character or runs to thousands of characters, and a
NUL cannot reach PostgreSQL (it refuses such text, and the query would fail with a server
error). So a path with a NUL or longer than `MAX_PATH_LENGTH` answers 404, a query string
with a NUL answers 400, before a view passes the value to a query; a session cookie that
could not be Antenne's is ignored (`core.sessions`). Form fields refuse NUL characters on
their own (Django's forms). The API (`/api/`) answers its own errors (`antenne.api`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from antenne.core import views
from antenne.core.middleware import Handler

MAX_PATH_LENGTH = 2048
API_PREFIX = "/api/"


def malformed(request: HttpRequest) -> HttpResponse | None:
    """The error page for a request no view should see, or None when it is well formed."""
    path = request.path
    if "\x00" in path or len(path) > MAX_PATH_LENGTH:
        return views.page_not_found(request)
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return views.bad_request(request)
    return None


class RequestChecksMiddleware:
    """Placed after the language middleware, so the error page is in the visitor's language."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            refused = malformed(request)
            if refused is not None:
                return refused
        return self.get_response(request)
