"""The console: the staff's and speakers' side of the live room.

Two doors, one page (`templates/control/console.html`, script `static/antenne/console.js`):
`/app/sessions/<pk>/room/` for the session's animators and admins (they join the room's
WebSocket with their back-office login), and `/speaker/<token>/room/` for a speaker by their
personal link (`public.speaker_room`), with fewer controls. A GET only renders the page:
attendance starts when the script joins (docs/live-protocol.md). The page is the studio: the
stage in the centre, the room's tabs beside it, the session's state and timer above. Staff
open the green room, start and end in place: a dialog confirms, the script POSTs to
`control:session_broadcast` for JSON, and nobody on stage leaves it."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from antenne.control.broadcast import STEPS
from antenne.control.views import member_required
from antenne.events import lifecycle, selectors
from antenne.events.models import Session
from antenne.mailing.models import Reminder
from antenne.media.views import media_strings
from antenne.rooms.models import Poll, Presence, Question, StageInvitation
from antenne.rooms.moderation import MAX_SLOW_MODE_SECONDS
from antenne.rooms.polls import MAX_OPTION, MAX_OPTIONS, MAX_QUESTION, MIN_OPTIONS

STAFF, SPEAKER = "staff", "speaker"
PEOPLE_REFRESH_SECONDS = 15


def _labels(choices: Any) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


def console_strings() -> dict[str, Any]:
    """What console.js says, in the page's language (a json_script element: data, not code,
    so the CSP allows it). `%(name)s` placeholders are filled in by console.js."""
    return {
        "media": media_strings(),
        "connecting": _("Connecting…"),
        "connected": _("Connected"),
        "reconnecting": _("Connection lost: retrying in %(seconds)s s"),
        "closed": _("Disconnected"),
        "states": _labels(Session.State.choices),
        "roles": {**_labels(Presence.Role.choices), STAFF: _("Organiser")},
        "devices": _labels(Presence.Device.choices),
        "question_states": _labels(Question.State.choices),
        "poll_states": _labels(Poll.State.choices),
        "stage_states": _labels(StageInvitation.State.choices),
        # The author of an attendee's message when the room does not show names.
        "someone": _("Attendee"),
        "unnamed_speaker": _("A speaker (guest link)"),
        "registration": _("registration #%(id)s"),
        "asked_anonymously": _("asked anonymously"),
        "muted": _("muted"),
        "hand_since": _("hand raised at %(time)s"),
        "votes": {
            "one": ngettext("%(count)s vote", "%(count)s votes", 1),
            "other": ngettext("%(count)s vote", "%(count)s votes", 2),
        },
        "voters": {
            "one": ngettext("%(count)s voter", "%(count)s voters", 1),
            "other": ngettext("%(count)s voter", "%(count)s voters", 2),
        },
        "people_count": {
            "one": ngettext("%(count)s connection", "%(count)s connections", 1),
            "other": ngettext("%(count)s connection", "%(count)s connections", 2),
        },
        "people_truncated": _("Only the first %(count)s connections are listed."),
        "people_updated": _("Updated at %(time)s"),
        "poll_single": _("One answer"),
        "poll_multiple": _("Several answers"),
        "poll_results_live": _("Results shown live"),
        "poll_results_at_close": _("Results shown at the close"),
        "option_label": _("Option %(n)s"),
        "unread": {
            "one": ngettext("%(count)s new", "%(count)s new", 1),
            "other": ngettext("%(count)s new", "%(count)s new", 2),
        },
        "backstage_nobody": _("nobody else yet"),
        "test_sound": _(
            "You should hear a short tone. If not, check your speakers or headphones and their "
            "volume."
        ),
        "timer": {
            "live": _("On air for %(time)s"),
            "soon": _("Planned start in %(time)s"),
            "late": _("Planned start %(time)s ago"),
        },
        "broadcast": {
            slug: {"title": str(step.title), "button": str(step.button), "text": str(step.explain)}
            for slug, step in STEPS.items()
        },
        "remove_option": _("Remove option %(n)s"),
        "actions": {
            "delete": _("Delete"),
            "delete_label": _("Delete the message of %(name)s"),
            "mute": _("Mute"),
            "mute_label": _("Mute %(name)s"),
            "unmute": _("Unmute"),
            "unmute_label": _("Unmute %(name)s"),
            "lower_hand": _("Lower the hand"),
            "lower_hand_label": _("Lower the hand of %(name)s"),
            "invite": _("Invite on stage"),
            "invite_label": _("Invite %(name)s on stage"),
            "remove": _("Remove from stage"),
            "remove_label": _("Remove %(name)s from the stage"),
            "withdraw": _("Withdraw the invitation"),
            "withdraw_label": _("Withdraw the invitation of %(name)s"),
            "answer": _("Mark as answered"),
            "dismiss": _("Dismiss"),
            "reopen": _("Reopen"),
            "open_poll": _("Open the poll"),
            "close_poll": _("Close the poll"),
        },
        "announce": {
            "backstage": _("Backstage, %(author)s: %(text)s"),
            "hand_raised": _("%(name)s raised a hand"),
            "hand_lowered": _("%(name)s lowered their hand"),
            "state": _("Session: %(state)s"),
            "lost": _("Connection lost. Reconnecting…"),
            "back": _("Connected again."),
        },
        "done": {
            "settings": _("Room settings saved."),
            "poll_created": _("Poll saved as a draft: open it when you are ready."),
            "muted": _("%(name)s is muted."),
            "unmuted": _("%(name)s can write again."),
            "invited": _("%(name)s is invited on stage."),
            "removed": _("%(name)s is no longer on stage."),
            "withdrawn": _("The invitation of %(name)s is withdrawn."),
        },
        # Most refusals carry the server's own message, in the page's language; these are
        # the page's own checks and the errors made in the page (live-client.js).
        "errors": {
            "chat.empty": _("Write a message first."),
            "chat.too_long": _("This message is too long (2,000 characters at most)."),
            "poll.empty": _("The poll's question is empty."),
            "poll.options_count": _("A poll has 2 to 10 options."),
            "poll.option_invalid": _("Each option has 1 to 200 characters."),
            "connection.lost": _("Not connected: nothing was done. Try again."),
            "request.timeout": _("The room did not answer. Try again."),
            "generic": _("That did not work. Try again."),
        },
    }


def broadcast_links(session: Session) -> list[dict[str, Any]]:
    """The studio's broadcast buttons (open the green room, start, end): the URL its dialog
    POSTs to for JSON, and the session states in which each is offered (console.js shows
    them as the state changes)."""
    links = []
    for slug, step in STEPS.items():
        states = [
            state
            for state in Session.State.values
            if step.transition in lifecycle.offered(Session(state=state))
        ]
        url = reverse("control:session_broadcast", args=[session.pk, slug])
        links.append(
            {
                "slug": slug,
                "title": step.title,
                "url": url,
                "states": " ".join(states),
                "shown": session.state in states,
            }
        )
    return links


def render_console(
    request: HttpRequest, *, session: Session, role: str, speaker: Any = None, token: str = ""
) -> HttpResponse:
    staff = role == STAFF
    response = render(
        request,
        "control/console.html",
        {
            "session": session,
            "event": session.event,
            "role": role,
            "staff": staff,
            "speaker": speaker,
            "speaker_token": token,
            "socket_path": f"/ws/room/{session.pk}/",
            "broadcast_links": broadcast_links(session) if staff else [],
            "pending_reminders": (
                session.reminders.filter(state=Reminder.State.PENDING).count() if staff else 0
            ),
            "console_strings": console_strings(),
            "people_refresh_seconds": PEOPLE_REFRESH_SECONDS,
            "max_streams": django_settings.STAGE_MAX_STREAMS,
            "max_slow_mode": MAX_SLOW_MODE_SECONDS,
            "poll_limits": {
                "min": MIN_OPTIONS,
                "max": MAX_OPTIONS,
                "question": MAX_QUESTION,
                "option": MAX_OPTION,
            },
        },
    )
    # Moderation data, and for speakers a credential in the URL: never cached, sent on or
    # indexed.
    private(response)
    return response


def private(response: HttpResponse) -> HttpResponse:
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_safe
@member_required
def session_console(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.access_managed_session(actor=request.user, pk=pk)
    return render_console(request, session=session, role=STAFF)
