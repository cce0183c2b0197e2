"""What the registration page says of a session near its title: when (in the session's zone;
the visitor's own is added by local-times.js), how long, and the add-to-calendar links.

The Google and Outlook links and the public .ics carry only the webinar's public
registration page, never a personal join link: whoever opens the calendar entry (or the
calendar service itself) sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from antenne.core import ical
from antenne.core.links import absolute_url
from antenne.events.models import Session
from antenne.events.selectors import session_revision, session_uid

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK = "https://outlook.live.com/calendar/0/deeplink/compose"
DETAILS_MAX = 600  # the event's description, cut: a calendar link is not the whole page


def page_url(session: Session) -> str:
    return absolute_url(reverse("public:register", args=[session.event_id]))


def _details(session: Session) -> str:
    description = " ".join(session.event.description.split())
    if len(description) > DETAILS_MAX:
        description = description[: DETAILS_MAX - 1].rstrip() + "…"
    more = gettext("Registration and details: %(url)s") % {"url": page_url(session)}
    return "\n\n".join(part for part in (description, more) if part)


def _google_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_url(session: Session) -> str:
    query = {
        "action": "TEMPLATE",
        "text": session.event.title,
        "dates": f"{_google_time(session.starts_at)}/{_google_time(session.ends_at)}",
        "details": _details(session),
        "location": page_url(session),
        "ctz": session.time_zone,
    }
    return f"{GOOGLE}?{urlencode(query)}"


def outlook_url(session: Session) -> str:
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": session.event.title,
        "startdt": session.starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "enddt": session.ends_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "body": _details(session),
        "location": page_url(session),
    }
    return f"{OUTLOOK}?{urlencode(query)}"


def public_calendar_file(session: Session) -> str:
    """The session as an .ics anyone may have: the public page, no join link. Its UID is the
    one of the registrant's own file, so importing both leaves one entry."""
    event = ical.VEvent(
        uid=session_uid(session),
        start=session.starts_at,
        end=session.ends_at,
        summary=session.event.title,
        stamp=session.created_at or timezone.now(),
        description=_details(session),
        location=page_url(session),
        url=page_url(session),
        status="CANCELLED" if session.is_cancelled else "CONFIRMED",
        sequence=session_revision(session),
    )
    return ical.calendar([event], name=session.event.title, method="PUBLISH")


@dataclass(frozen=True)
class When:
    """A session as the page shows it."""

    session: Session

    @property
    def label(self) -> str:
        """ "mardi 28 mars 2027, 10:00 to 11:00" (an en dash): in the session's own zone."""
        start = timezone.localtime(self.session.starts_at, self.session.local_start.tzinfo)
        end = timezone.localtime(self.session.ends_at, self.session.local_start.tzinfo)
        same_day = start.date() == end.date()
        end_text = date_format(end, "H:i" if same_day else "l j F Y H:i")
        dash = "\u00a0\u2013 "  # an en dash that never starts a line
        return f"{date_format(start, 'l j F Y')}, {date_format(start, 'H:i')}{dash}{end_text}"

    @property
    def left(self) -> tuple[int, int, int]:
        """(days, hours, minutes) before the start, as the countdown shows it first."""
        minutes = max(0, int((self.session.starts_at - timezone.now()).total_seconds() // 60))
        days, minutes = divmod(minutes, 1440)
        hours, minutes = divmod(minutes, 60)
        return days, hours, minutes

    @property
    def starts_at_iso(self) -> str:
        return self.session.starts_at.astimezone(UTC).isoformat()

    @property
    def ends_at_iso(self) -> str:
        return self.session.ends_at.astimezone(UTC).isoformat()

    @property
    def google_url(self) -> str:
        return google_url(self.session)

    @property
    def outlook_url(self) -> str:
        return outlook_url(self.session)

    @property
    def ics_url(self) -> str:
        return reverse("public:session_ics", args=[self.session.event_id, self.session.pk])
