"""The live room's page for attendees, `/join/<key>/room/`, reached from the join page.

A GET only renders the page, so a mail scanner or a link preview that follows it records
nothing: attendance starts when the page's script (`static/antenne/room.js`) joins the room's
WebSocket with the join key (docs/live-protocol.md). The page then waits with a countdown
while the session is not live, switches to the room by itself when a `state` event says
`live`, and thanks people in place when it says `ended`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from antenne.core import ratelimit
from antenne.core.views import rate_limited
from antenne.events import lifecycle
from antenne.media.views import media_strings
from antenne.public.join import ROOM_OPENS_BEFORE, registration_from_link, room_phase
from antenne.registrations.models import Registration
from antenne.rooms.reactions import EMOJIS


def reaction_labels() -> dict[str, str]:
    """What each reaction button says to screen readers (and in its tooltip), in the order
    of the server's set (`antenne.rooms.reactions.EMOJIS`)."""
    labels = {
        "👏": _("Applause"),
        "❤️": _("Love it"),
        "😂": _("Laughing"),
        "😮": _("Surprised"),
        "👍": _("Agreed"),
        "🎉": _("Celebrate"),
    }
    return {emoji: labels[emoji] for emoji in EMOJIS}


def room_strings() -> dict[str, Any]:
    """What room.js says, in the page's language (passed as a json_script element: data, not
    code, so the CSP allows it). `%(name)s` placeholders are filled in by room.js."""
    return {
        "media": media_strings(),
        "connecting": _("Connecting…"),
        "connected": _("Connected"),
        "reconnecting": _("Connection lost: retrying in %(seconds)s s"),
        "opens_at": _("The room opens at %(time)s"),
        "starts_in": _("The broadcast starts %(when)s."),
        "starting_soon": _("The broadcast should start in a moment."),
        "announce_live": _("The broadcast has started."),
        "announce_ended": _("The broadcast has ended."),
        "announce_cancelled": _("This session is cancelled."),
        "announce_green_room": _("The speakers are getting ready."),
        "announce_lost": _("Connection lost. Reconnecting…"),
        "announce_back": _("Connected again."),
        "announce_muted": _("A moderator has muted you in this session."),
        "announce_unmuted": _("A moderator has unmuted you: you can write again."),
        "announce_message": _("%(author)s: %(text)s"),
        # Both forms, picked by Intl.PluralRules' `one` and `other` (French and English
        # have no others); literal arguments, so that makemessages finds them.
        "announce_messages": {
            "one": ngettext("%(count)s new message", "%(count)s new messages", 1),
            "other": ngettext("%(count)s new message", "%(count)s new messages", 2),
        },
        # After a tab's name, for screen readers, when it got news while another was shown.
        "unread": {
            "one": ngettext("%(count)s new", "%(count)s new", 1),
            "other": ngettext("%(count)s new", "%(count)s new", 2),
        },
        "roles": {"staff": _("Organiser"), "speaker": _("Speaker")},
        # The author of an attendee's message when the room does not show names.
        "someone": _("Attendee"),
        "anonymous": _("Anonymous"),
        "slow_mode": _("Slow mode: one message every %(seconds)s s at most."),
        # Q&A
        "votes": {
            "one": ngettext("%(count)s vote", "%(count)s votes", 1),
            "other": ngettext("%(count)s vote", "%(count)s votes", 2),
        },
        "upvote": _("Upvote"),
        "upvoted": _("Upvoted"),
        "own_question": _("Your question"),
        "answered": _("Answered"),
        "question_sent": _("Your question is sent."),
        # Polls
        "poll_open": _("Open"),
        "poll_closed": _("Closed"),
        "poll_multiple": _("Several answers possible."),
        "poll_single": _("One answer."),
        "poll_vote": _("Vote"),
        "poll_voted": _("Your vote is recorded."),
        "poll_results_later": _("The results are shown when the poll closes."),
        "poll_results": _("Results"),
        "poll_voters": {
            "one": ngettext("%(count)s person answered", "%(count)s people answered", 1),
            "other": ngettext("%(count)s person answered", "%(count)s people answered", 2),
        },
        "poll_your_answer": _("your answer"),
        "announce_poll": _("New poll: %(question)s"),
        "announce_poll_closed": _("Poll closed, results shown: %(question)s"),
        # Hand, stage, reactions
        "hand_raised": _("Your hand is raised: the organisers can see it."),
        "hand_lowered": _("Your hand is lowered."),
        "announce_invited": _("You are invited on stage."),
        "stage_invited": _("You are invited on stage."),
        "stage_on": _("You are on stage: everyone sees and hears you."),
        "announce_stage_ended": _("You are no longer on stage."),
        # A camera or microphone whose name the browser does not give.
        "device_fallback": _("Device %(count)s"),
        "reactions": reaction_labels(),
        "errors": {
            "chat.empty": _("Write a message first."),
            "chat.too_long": _("This message is too long (2,000 characters at most)."),
            "chat.slow_mode": _("Slow mode is on: wait a little before sending another message."),
            "slow_mode_wait": _(
                "Slow mode is on: you can send your next message in %(seconds)s s."
            ),
            "chat.disabled": _("The chat is closed."),
            "room.muted": _("A moderator has muted you: your messages are not sent."),
            "room.closed": _("This session is over or cancelled."),
            "room.not_joined": _("Not connected: your message was not sent. Try again."),
            "join.invalid_link": _("This join link is not valid any more."),
            "join.not_confirmed": _(
                "Your registration is not confirmed: your join page tells you more."
            ),
            "connection.lost": _("Not connected: your message was not sent. Try again."),
            "generic": _("Your message was not sent. Try again."),
            "action": _("That did not work. Try again."),
            "request.timeout": _("No answer from the server. Try again."),
            "qa.empty": _("Write a question first."),
            "qa.disabled": _("Questions are closed."),
            "qa.already_voted": _("You have already upvoted this question."),
            "qa.own_question": _("You cannot upvote your own question."),
            "qa.not_open": _("This question is not open to votes any more."),
            "poll.no_choice": _("Choose an answer first."),
            "poll.already_voted": _("You have already answered this poll."),
            "poll.not_open": _("This poll is closed."),
            "stage.not_pending": _("This invitation is not open any more."),
            "stage.not_found": _("This invitation is not open any more."),
            "reaction.too_fast": _("One reaction per second at most."),
        },
    }


@require_safe
def room(request: HttpRequest, key: str) -> HttpResponse:
    try:
        registration = registration_from_link(request, key)
    except ratelimit.Limited:
        return rate_limited(request)
    if registration.status != Registration.Status.CONFIRMED:
        # Waiting list: the join page says where they stand; the room would refuse them.
        return redirect("public:join", key=registration.join_key)
    session = registration.session
    phase = room_phase(session, timezone.now())
    response = render(
        request,
        "public/room.html",
        {
            "registration": registration,
            "session": session,
            "event": session.event,
            "phase": phase,
            "opens_at": session.starts_at - ROOM_OPENS_BEFORE,
            # The broadcast may start this early (before the room opens to attendees).
            "live_from": session.starts_at - lifecycle.START_EARLIEST,
            "socket_path": f"/ws/room/{session.pk}/",
            "room_strings": room_strings(),
            "reactions": list(reaction_labels().items()),
        },
    )
    # The key in the URL is the person's credential: never cached, sent on or indexed.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
