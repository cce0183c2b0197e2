"""Domain errors. Each carries a stable dotted code; interfaces turn codes into messages
(views), JSON bodies (API) or `["error", id, {"code": ...}]` frames (live room)."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class AntenneError(Exception):
    """Base of every domain error. `status` is the HTTP status the API answers with."""

    code = "error"
    status = 400

    def __init__(self, message: str | Promise, *, code: str | None = None, **data: Any) -> None:
        super().__init__(message)
        self.message = str(message)
        if code is not None:
            self.code = code
        self.data = data


class NotFound(AntenneError):
    code = "not_found"
    status = 404


class PermissionDenied(AntenneError):
    code = "permission.denied"
    status = 403


class Invalid(AntenneError):
    code = "invalid"
    status = 422


class Conflict(AntenneError):
    code = "conflict"
    status = 409


class RateLimited(AntenneError):
    code = "rate_limited"
    status = 429
