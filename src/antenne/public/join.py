"""Join links: a registration's personal entrance. Nothing here is consumed by a GET, so a
mail scanner following the link changes nothing; the link works on several devices. The
join page leads to the room page (`public.room`), where attendance starts only once the
page's script joins the WebSocket."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from antenne.core import ratelimit
from antenne.core.views import rate_limited
from antenne.events import lifecycle
from antenne.events.models import Session
from antenne.registrations import services
from antenne.registrations.models import Registration
from antenne.registrations.pins import dial_in_for_registration

# The room lets attendees in from this long before the start
# (`registrations.services.session_window_open`; tests/public/test_room_page.py checks both
# agree).
ROOM_OPENS_BEFORE = timedelta(minutes=30)


def registration_from_link(request: HttpRequest, key: str) -> Registration:
    """The registration of a join link, or 404 (unknown or revoked). Failed guesses count
    towards the client's rate limit (raises `ratelimit.Limited` once it is used up)."""
    client = ratelimit.client_ip(request)
    if ratelimit.exceeded(ratelimit.JOIN_GUESS, client, settings.RATE_LIMIT_SECRET):
        raise ratelimit.Limited
    registration = services.registration_for_key(key=key)
    if registration is None:
        ratelimit.hit(ratelimit.JOIN_GUESS, client, settings.RATE_LIMIT_SECRET)
        raise Http404
    return registration


def room_phase(session: Session, now: datetime) -> str:
    """Where a session's room stands for its attendees: `waiting` (not live yet), `live`,
    `ended` (over, or too late to start at all) or `cancelled`."""
    if session.state == Session.State.CANCELLED:
        return "cancelled"
    if session.state == Session.State.ENDED:
        return "ended"
    if session.state == Session.State.LIVE:
        return "live"
    if now >= session.ends_at + lifecycle.LATEST_AFTER_END:
        return "ended"
    return "waiting"


@require_safe
def join(request: HttpRequest, key: str) -> HttpResponse:
    try:
        registration = registration_from_link(request, key)
    except ratelimit.Limited:
        return rate_limited(request)
    session = registration.session
    now = timezone.now()
    room = room_phase(session, now)
    if registration.status == Registration.Status.WAITLISTED:
        phase = "waitlisted"
    elif room in ("ended", "cancelled"):
        phase = "ended"
    elif room == "live" or now >= session.starts_at - ROOM_OPENS_BEFORE:
        phase = "open"  # a live session running past its planned end stays open
    else:
        phase = "before"
    response = render(
        request,
        "public/join.html",
        {
            "registration": registration,
            "session": session,
            "event": session.event,
            "phase": phase,
            "dial_in": dial_in_for_registration(registration),
        },
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def join_ics(request: HttpRequest, key: str) -> HttpResponse:
    try:
        registration = registration_from_link(request, key)
    except ratelimit.Limited:
        return rate_limited(request)
    response = HttpResponse(
        services.calendar_file(registration), content_type="text/calendar; charset=utf-8"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="webinaire.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
