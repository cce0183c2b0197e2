"""Logging server errors without the secrets in their URLs.

Django logs every unhandled error of a view to `django.request` with the request's path and
the traceback; settings.LOGGING sends those records to the console (Django alone would only
mail them to ADMINS, which Antenne has none of). Several paths carry a credential (join keys,
login, setup, speaker, calendar and unsubscribe tokens): `PrivatePathFilter` writes each text
parameter of the path as its name (`/join/<key>/room/`), and the query string is never
logged."""

from __future__ import annotations

import logging

from django.http import HttpRequest
from django.urls import Resolver404, resolve

MAX_LOGGED_PATH = 300


def private_path(request: HttpRequest) -> str:
    """`request.path` with every text parameter of its route replaced by `<name>`; numbers
    (ids) are kept. A path that matches no route is shortened."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return path[:MAX_LOGGED_PATH]
    for name, value in match.kwargs.items():
        if isinstance(value, str) and value:
            path = path.replace(value, f"<{name}>")
    return path[:MAX_LOGGED_PATH]


class PrivatePathFilter(logging.Filter):
    """For `django.request`: replaces the record's path argument by `private_path`."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest) and isinstance(record.args, tuple):
            # Django's log_response escapes its string arguments this way.
            logged = request.path.encode("unicode_escape").decode("ascii")
            private = private_path(request).encode("unicode_escape").decode("ascii")
            record.args = tuple(private if arg == logged else arg for arg in record.args)
        return True
