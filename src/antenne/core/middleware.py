from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

Handler = Callable[[HttpRequest], HttpResponse]


class ContentSecurityPolicyMiddleware:
    """A strict CSP on every response: scripts only from us, or inline with this request's
    nonce (`request.csp_nonce`); no framing unless a view opts in with `csp_frame_ancestors`;
    connections (fetch, WebSocket) only to this site. `'self'` covers its ws(s):// form in
    current browsers; the address of ANTENNE_BASE_URL in that form is named too, for the
    browsers whose `'self'` does not (Safari before 15.4)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        base = urlsplit(settings.BASE_URL)
        socket = "wss" if base.scheme == "https" else "ws"
        self.connect_src = f"connect-src 'self' {socket}://{base.netloc}"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        frame_ancestors = getattr(response, "csp_frame_ancestors", "'none'")
        response.headers.setdefault(
            "Content-Security-Policy",
            "; ".join(
                [
                    "default-src 'self'",
                    f"script-src 'self' 'nonce-{nonce}'",
                    "style-src 'self'",
                    "img-src 'self' data:",
                    "font-src 'self' data:",
                    self.connect_src,
                    "media-src 'self' blob:",
                    "object-src 'none'",
                    "base-uri 'self'",
                    "form-action 'self'",
                    f"frame-ancestors {frame_ancestors}",
                ]
            ),
        )
        response.headers.setdefault("Permissions-Policy", "geolocation=(), payment=()")
        return response


class LanguageMiddleware:
    """French first: the language is the visitor's explicit choice (the language cookie set
    by the selector), else ANTENNE_LANGUAGE. The browser's Accept-Language is not used, so a
    French administration's pages are French whatever the browser's locale."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class TimeZoneMiddleware:
    """Dates are shown in the viewer's zone: a member's own setting, else ANTENNE_TIME_ZONE."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        name = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        try:
            timezone.activate(zoneinfo.ZoneInfo(name or settings.TIME_ZONE))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(settings.TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
