"""The attendees' room page (`/join/<key>/room/`): what it renders in each phase of the
session, that a GET records no attendance (mail scanners, link previews), its privacy headers,
unknown and revoked keys, and the join page leading to it. The page's behaviour in a browser
is in tests/e2e/test_room.py."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from antenne.events import lifecycle
from antenne.events.models import Session
from antenne.public.join import ROOM_OPENS_BEFORE
from antenne.registrations import services
from antenne.registrations.models import Registration
from antenne.rooms.models import Presence
from antenne.rooms.reactions import EMOJIS
from tests.factories import RegistrationFactory, SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session():
    """Starts in 10 minutes: its room is open to registrants."""
    return SessionFactory(starts_at=timezone.now() + timedelta(minutes=10))


@pytest.fixture
def registration(session):
    return RegistrationFactory(session=session, first_name="Alix")


def room_path(registration) -> str:
    return f"/join/{registration.join_key}/room/"


def panel_shown(html: str, panel: str) -> bool:
    """Whether the server rendered panel `room-<panel>` visible (without `hidden`)."""
    tag = re.search(rf'<[a-z]+ [^>]*\bid="room-{panel}"[^>]*>', html)
    assert tag, f"no #room-{panel} in the page"
    return " hidden" not in tag.group(0)


def shown_panels(html: str) -> list[str]:
    return [p for p in ("waiting", "live", "ended", "cancelled", "closed") if panel_shown(html, p)]


def room_data(html: str) -> dict[str, str]:
    tag = re.search(r'<div id="antenne-room"[^>]*>', html)
    assert tag
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(0)))


def js_strings(html: str) -> dict:
    found = re.search(
        r'<script id="antenne-room-strings" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, "the room's strings are not in the page"
    return json.loads(found.group(1))


def test_the_room_page_waits_for_the_start_and_gives_its_script_the_key(session, registration):
    response = Client().get(room_path(registration))
    assert response.status_code == 200
    html = response.content.decode()
    data = room_data(html)
    assert data["join-key"] == registration.join_key  # what room.js sends in `join`
    assert data["socket-path"] == f"/ws/room/{session.pk}/"
    assert data["phase"] == "waiting"
    assert data["state"] == "scheduled"
    assert datetime.fromisoformat(data["starts-at"]) == session.starts_at
    assert datetime.fromisoformat(data["opens-at"]) == session.starts_at - ROOM_OPENS_BEFORE
    live_from = session.starts_at - lifecycle.START_EARLIEST  # an early start, before it opens
    assert datetime.fromisoformat(data["live-from"]) == live_from
    assert shown_panels(html) == ["waiting"]
    assert 'src="/static/antenne/room.js"' in html
    assert 'aria-live="polite"' in html  # announcements for screen readers
    # The script's strings are JSON data (the CSP forbids inline scripts; this one is inert).
    strings = js_strings(html)
    assert set(strings["announce_messages"]) == {"one", "other"}
    assert "%(count)s" in strings["announce_messages"]["other"]
    assert "%(seconds)s" in strings["reconnecting"]


def test_a_get_records_no_attendance_and_is_private(registration):
    path = room_path(registration)
    scanner = Client()
    response = scanner.get(path)
    assert scanner.head(path).status_code == 200
    assert Presence.objects.count() == 0  # only the WebSocket join counts someone in
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"  # the key is in the URL
    assert "noindex" in response["X-Robots-Tag"]
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]
    assert Client().post(path).status_code == 405


@pytest.mark.parametrize(
    ("state", "panel"),
    [
        (Session.State.GREEN_ROOM, "waiting"),
        (Session.State.LIVE, "live"),
        (Session.State.ENDED, "ended"),
        (Session.State.CANCELLED, "cancelled"),
    ],
)
def test_each_state_of_the_session_shows_its_panel(session, registration, state, panel):
    Session.objects.filter(pk=session.pk).update(state=state)
    html = Client().get(room_path(registration)).content.decode()
    assert shown_panels(html) == [panel]
    assert room_data(html)["phase"] == panel
    assert panel_shown(html, "green-room") == (state == Session.State.GREEN_ROOM)
    if panel == "live":
        # The stage's tiles are made by media.js from the feeds; without JavaScript the page
        # says so, and watching asks for no device (no camera/microphone control shown).
        english = Client()
        english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        html = english.get(room_path(registration)).content.decode()
        assert 'id="room-stage-tiles"' in html
        assert "The live room needs JavaScript" in html
        assert 'id="room-stage-self" class="antenne-stage__self" hidden' in html


def test_a_session_too_late_to_start_is_over(registration, session):
    Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() - timedelta(hours=3))
    html = Client().get(room_path(registration)).content.decode()
    assert shown_panels(html) == ["ended"]


def test_unknown_and_revoked_keys_are_not_found_and_count_as_guesses(registration, session):
    assert Client().get("/join/notakey/room/").status_code == 404
    services.revoke_registration(actor=session.event.owner, registration=registration)
    assert Client().get(room_path(registration)).status_code == 404
    other = RegistrationFactory(session=session)
    limit, _window = settings.RATE_LIMIT_SECRET
    guesser = Client()
    for number in range(limit):
        guesser.get(f"/join/guess{number}/room/")
    # Guessing through the room page is limited like the join page: same counter.
    assert guesser.get(room_path(other)).status_code == 429
    assert guesser.get(f"/join/{other.join_key}/").status_code == 429


def test_the_waiting_list_is_sent_back_to_the_join_page(session):
    waiting = RegistrationFactory(session=session, status=Registration.Status.WAITLISTED)
    response = Client().get(room_path(waiting))
    assert response.status_code == 302
    assert response["Location"] == f"/join/{waiting.join_key}/"


def test_names_and_titles_are_escaped(session):
    session.event.title = "<img src=x onerror=alert(1)>"
    session.event.save()
    registration = RegistrationFactory(session=session, first_name="<script>x</script>")
    html = Client().get(room_path(registration)).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_english_visitors_get_english_strings_for_the_script(registration):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(room_path(registration)).content.decode()
    assert '<html lang="en"' in html
    strings = js_strings(html)
    assert strings["announce_messages"] == {
        "one": "%(count)s new message",
        "other": "%(count)s new messages",
    }
    assert strings["errors"]["chat.slow_mode"].startswith("Slow mode is on")


def test_the_join_page_leads_to_the_room(session, registration):
    path = f"/join/{registration.join_key}/"
    html = Client().get(path).content.decode()
    assert f'href="{room_path(registration)}"' in html  # open: 10 minutes before the start
    session.starts_at = timezone.now() + timedelta(days=2)
    session.save()
    html = Client().get(path).content.decode()
    assert "antenne-countdown" in html
    assert f'href="{room_path(registration)}"' in html  # "wait in the room", early
    # A live session running past its planned end is still open, not "over".
    Session.objects.filter(pk=session.pk).update(
        state=Session.State.LIVE, starts_at=timezone.now() - timedelta(minutes=75)
    )
    html = Client().get(path).content.decode()
    assert f'href="{room_path(registration)}"' in html
    Session.objects.filter(pk=session.pk).update(state=Session.State.ENDED)
    html = Client().get(path).content.decode()
    assert f'href="{room_path(registration)}"' not in html


def test_the_room_opens_when_the_server_lets_attendees_in(session):
    opens_at = session.starts_at - ROOM_OPENS_BEFORE
    assert services.session_window_open(session, opens_at)
    assert not services.session_window_open(session, opens_at - timedelta(seconds=1))


def test_the_live_room_renders_questions_polls_hand_reactions_and_the_stage_dialog(
    session, registration
):
    Session.objects.filter(pk=session.pk).update(state=Session.State.LIVE)
    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = english.get(room_path(registration)).content.decode()
    # Three tabs (tabs.js, not DSFR's script), each controlling its panel; the chat's is
    # shown first, the others hidden until their tab is chosen.
    tabs = re.findall(r'<button [^>]*role="tab"[^>]*>', html)
    assert [re.search(r'aria-controls="([^"]+)"', tab).group(1) for tab in tabs] == [
        "room-panel-chat",
        "room-panel-qa",
        "room-panel-polls",
    ]
    assert 'aria-selected="true"' in tabs[0]
    assert "fr-tabs" not in html
    for panel in ("qa", "polls"):
        assert re.search(rf'<div id="room-panel-{panel}"[^>]*\bhidden>', html)
    for panel in ("chat", "qa", "polls"):
        assert f'id="room-panel-{panel}"' in html
    assert 'id="room-qa-anonymous"' in html
    assert "Ask anonymously" in html
    assert "only the organisers see it" in html  # who sees an anonymous asker's name
    hand = re.search(r'<button [^>]*id="room-hand"[^>]*>', html).group(0)
    # It says what it does next (room-stage.js switches the words).
    assert 'data-raise="Raise my hand"' in hand
    assert 'data-lower="Lower my hand"' in hand
    # A skip link past the stage, the hand and the reactions, to the chat.
    assert re.search(r'<a [^>]*href="#room-tabs-title"', html)
    # One button per reaction the server takes, each with a name for screen readers.
    buttons = re.findall(r'data-emoji="([^"]+)" aria-label="([^"]+)"', html)
    assert [emoji for emoji, _label in buttons] == list(EMOJIS)
    assert all(label and label != emoji for emoji, label in buttons)
    # The stage invitation: a dialog that says what accepting does, with a check first.
    dialog = re.search(r'<dialog id="room-stage-dialog"[^>]*>(.*?)</dialog>', html, re.S)
    assert dialog
    assert "You are invited on stage" in dialog.group(1)
    assert "later version" not in dialog.group(1)
    assert "your camera and your microphone are shared with everyone" in dialog.group(1)
    assert "nothing is shared before you accept" in dialog.group(1)
    assert 'id="room-devices-check"' in dialog.group(1)
    assert '<meter id="room-devices-level"' in dialog.group(1)
    assert 'id="room-chat-closed"' in html
    assert 'id="room-qa-closed"' in html
    assert 'id="room-muted"' in html


def test_the_script_gets_its_words_for_questions_polls_and_the_stage(registration):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    strings = js_strings(client.get(room_path(registration)).content.decode())
    assert strings["votes"] == {"one": "%(count)s vote", "other": "%(count)s votes"}
    assert strings["poll_voters"]["other"] == "%(count)s people answered"
    assert "%(question)s" in strings["announce_poll"]
    assert set(strings["reactions"]) == set(EMOJIS)
    assert strings["anonymous"] == "Anonymous"
    for code in ("qa.disabled", "qa.already_voted", "qa.own_question", "poll.already_voted"):
        assert strings["errors"][code]
    assert strings["stage_on"] == "You are on stage: everyone sees and hears you."
    assert strings["unread"] == {"one": "%(count)s new", "other": "%(count)s new"}
