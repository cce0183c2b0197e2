"""Join links: a registration's personal entrance. Nothing here is consumed by a GET, so a
mail scanner following the link changes nothing; the link works on several devices."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from antenne.core import ratelimit
from antenne.core.views import rate_limited
from antenne.registrations import services
from antenne.registrations.models import Registration


def _registration(request: HttpRequest, key: str) -> Registration:
    client = ratelimit.client_ip(request)
    if ratelimit.exceeded("join-guess", client, settings.RATE_LIMIT_SECRET):
        raise ratelimit.Limited
    registration = services.registration_for_key(key=key)
    if registration is None:
        ratelimit.hit("join-guess", client, settings.RATE_LIMIT_SECRET)
        raise Http404
    return registration


@require_safe
def join(request: HttpRequest, key: str) -> HttpResponse:
    try:
        registration = _registration(request, key)
    except ratelimit.Limited:
        return rate_limited(request)
    session = registration.session
    now = timezone.now()
    if registration.status == Registration.Status.WAITLISTED:
        phase = "waitlisted"
    elif session.is_over or now >= session.ends_at:
        phase = "ended"
    elif services.session_window_open(session, now):
        phase = "open"
    else:
        phase = "before"
    response = render(
        request,
        "public/join.html",
        {"registration": registration, "session": session, "event": session.event, "phase": phase},
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def join_ics(request: HttpRequest, key: str) -> HttpResponse:
    try:
        registration = _registration(request, key)
    except ratelimit.Limited:
        return rate_limited(request)
    response = HttpResponse(
        services.calendar_file(registration), content_type="text/calendar; charset=utf-8"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="webinaire.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
