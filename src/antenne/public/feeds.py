"""A member's personal iCalendar feed of the workspace's sessions. No login: calendar
applications fetch it on their own, so the secret token in the URL is the credential."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from antenne.accounts import selectors as account_selectors
from antenne.core import ratelimit
from antenne.core.ical import VEvent, calendar
from antenne.core.links import absolute_url
from antenne.core.views import rate_limited
from antenne.events import selectors as event_selectors
from antenne.events.models import Session

FEED_PAST = timedelta(days=30)
FEED_REFRESH = timedelta(hours=1)


def _description(session: Session, url: str) -> str:
    animators = ", ".join(str(a) for a in session.animators.all()) or "—"
    lines = [
        _("Team: %(team)s") % {"team": session.event.team.name},
        _("Animators: %(names)s") % {"names": animators},
        _("Back office: %(url)s") % {"url": url},
    ]
    if session.is_cancelled:
        lines.insert(0, _("This session is cancelled."))
    return "\n".join(lines)


def session_event(session: Session) -> VEvent:
    url = absolute_url(reverse("control:session", args=[session.pk]))
    revised_at = getattr(session, "revised_at", None)
    return VEvent(
        uid=event_selectors.session_uid(session),
        start=session.starts_at,
        end=session.ends_at,
        summary=session.event.title,
        stamp=max(session.created_at, revised_at or session.created_at),
        description=_description(session, url),
        url=url,
        status="CANCELLED" if session.is_cancelled else "CONFIRMED",
        sequence=getattr(session, "revisions", 0),
    )


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Sessions from 30 days ago onward, times in UTC. Unknown tokens and deactivated
    members get 404; each failed guess counts against the client's secret-check limit (a
    valid feed, polled by many calendar applications behind one address, never does)."""
    ip = ratelimit.client_ip(request)
    if ratelimit.exceeded("secret-ip", ip, settings.RATE_LIMIT_SECRET):
        return rate_limited(request)
    user = account_selectors.user_for_calendar_token(token=token)
    if user is None:
        ratelimit.hit("secret-ip", ip, settings.RATE_LIMIT_SECRET)
        raise Http404(_("No such calendar."))
    sessions = event_selectors.sessions_for_feed(actor=user, since=timezone.now() - FEED_PAST)
    with translation.override(user.language):
        body = calendar(
            (session_event(session) for session in sessions),
            name=_("%(workspace)s — webinar sessions") % {"workspace": settings.WORKSPACE_NAME},
            refresh_interval=FEED_REFRESH,
        )
    response = HttpResponse(body.encode(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="antenne.ics"'
    response["Cache-Control"] = "private, no-cache"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
