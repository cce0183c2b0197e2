"""The console's two doors: `/app/sessions/<pk>/room/` for the session's animators and admins,
`/speaker/<token>/room/` for a speaker by their link. Who gets in, what each page gives its
script (role, credential, broadcast links), privacy headers, no attendance from a GET, and the
links that lead there. The console's behaviour in a browser is in tests/e2e/test_console.py."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from antenne.accounts.models import hash_secret
from antenne.core.permissions import Role
from antenne.events.models import Session, Speaker
from antenne.rooms.models import Presence
from tests.conftest import client_for
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "speaker-link-for-tests"


@pytest.fixture
def session(animator):
    return SessionFactory(starts_at=timezone.now() + timedelta(minutes=30), animators=[animator])


@pytest.fixture
def speaker(session):
    return Speaker.objects.create(
        session=session,
        email="sacha@x.example",
        name="Sacha Orateur",
        token_hash=hash_secret(TOKEN),
    )


def staff_url(session) -> str:
    return f"/app/sessions/{session.pk}/room/"


def speaker_url(token: str = TOKEN) -> str:
    return f"/speaker/{token}/room/"


def console_data(html: str) -> dict[str, str]:
    tag = re.search(r'<div id="antenne-console"[^>]*>', html)
    assert tag, "no console in the page"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(0)))


def js_strings(html: str) -> dict:
    found = re.search(
        r'<script id="antenne-console-strings" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, "the console's strings are not in the page"
    return json.loads(found.group(1))


def broadcast_links(html: str) -> dict[str, bool]:
    """slug -> shown, for the links to the back office's confirmation pages."""
    found = re.findall(r'<li data-broadcast="([a-z-]+)" data-states="[^"]*"( hidden)?>', html)
    return {slug: not hidden for slug, hidden in found}


def assert_private(response) -> None:
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]


# -- Who gets in ----------------------------------------------------------------------------


def test_the_sessions_animators_and_admins_open_the_console_and_nobody_else(session, animator):
    other_animator = UserFactory(role=Role.ANIMATOR)
    expected = [
        (None, 302),
        (UserFactory(role=Role.MEMBER), 403),
        (other_animator, 403),  # an animator, but not of this session
        (animator, 200),
        (UserFactory(role=Role.ADMIN), 200),
    ]
    for user, status in expected:
        response = client_for(user).get(staff_url(session))
        assert response.status_code == status, (user, status)
    anonymous = Client().get(staff_url(session))
    assert anonymous["Location"] == f"/login/?next={staff_url(session)}"
    assert client_for(animator).get(f"/app/sessions/{session.pk + 1000}/room/").status_code == 404


def test_a_speaker_opens_theirs_with_their_link_and_a_revoked_link_is_refused(session, speaker):
    assert Client().get(speaker_url()).status_code == 200
    assert Client().get(speaker_url("not-a-link")).status_code == 403
    speaker.revoked_at = timezone.now()
    speaker.save(update_fields=["revoked_at"])
    english = Client()
    english.cookies["django_language"] = "en"
    refused = english.get(speaker_url())
    assert refused.status_code == 403
    assert "This speaker link cannot be used" in refused.content.decode()
    assert_private(refused)  # the token is in the URL even when refused


def test_a_back_office_login_does_not_replace_the_speaker_link(session, animator):
    assert client_for(animator).get(speaker_url("not-a-link")).status_code == 403


def test_failed_speaker_links_are_rate_limited_but_a_valid_one_is_not_counted(
    session, speaker, settings
):
    settings.RATE_LIMIT_SECRET = (3, 600)
    client = Client()
    for _ in range(5):
        assert client.get(speaker_url()).status_code == 200
    statuses = [client.get(speaker_url("guess")).status_code for _ in range(4)]
    assert statuses == [403, 403, 403, 429]


# -- What the pages carry -------------------------------------------------------------------


def test_the_staff_console_is_private_records_nothing_and_joins_without_a_token(session, animator):
    response = client_for(animator).get(staff_url(session))
    html = response.content.decode()
    assert_private(response)
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]
    data = console_data(html)
    assert data["role"] == "staff"
    assert data["socket-path"] == f"/ws/room/{session.pk}/"
    assert data["state"] == "scheduled"
    assert "speaker-token" not in data  # staff join with their login cookie
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'src="/static/antenne/console.js" nonce="{nonce}"' in html
    for panel in ("backstage", "chat", "qa", "hands", "people", "polls", "settings"):
        assert f'id="console-{panel}"' in html, panel
    strings = js_strings(html)
    assert set(strings["votes"]) == {"one", "other"}
    assert "%(name)s" in strings["actions"]["mute_label"]
    assert Presence.objects.count() == 0  # only the WebSocket join counts someone in
    assert client_for(animator).post(staff_url(session)).status_code == 405


def test_the_speaker_console_has_fewer_controls_and_joins_with_the_link(session, speaker):
    response = Client().get(speaker_url())
    html = response.content.decode()
    assert_private(response)
    data = console_data(html)
    assert data["role"] == "speaker"
    assert data["speaker-token"] == TOKEN
    for panel in ("backstage", "chat", "qa", "hands", "people"):
        assert f'id="console-{panel}"' in html, panel
    for panel in ("polls", "settings"):  # staff only
        assert f'id="console-{panel}"' not in html, panel
    assert broadcast_links(html) == {}  # only animators start and end
    assert "/broadcast/" not in html
    assert Presence.objects.count() == 0
    assert Client().post(speaker_url()).status_code == 405


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        ("scheduled", {"green-room", "start"}),
        ("green_room", {"start", "end"}),
        ("live", {"end"}),
        ("ended", set()),
    ],
)
def test_staff_get_the_broadcast_buttons_the_state_offers(session, animator, state, shown):
    Session.objects.filter(pk=session.pk).update(state=state)
    html = client_for(animator).get(staff_url(session)).content.decode()
    links = broadcast_links(html)
    # All three are in the page (the script shows them as the state changes), each marked
    # with the states that offer it.
    assert set(links) == {"green-room", "start", "end"}
    assert {slug for slug, visible in links.items() if visible} == shown
    # Each is a button of the studio, which confirms in a dialog and POSTs there for JSON.
    assert f'data-url="/app/sessions/{session.pk}/broadcast/start/"' in html
    assert 'id="studio-dialog"' in html


def test_a_step_confirmed_from_the_console_leads_back_to_it(session, animator):
    client = client_for(animator)
    page = client.get(f"/app/sessions/{session.pk}/broadcast/start/?from=console").content
    assert f'href="{staff_url(session)}"'.encode() in page  # "Not now" goes back there
    assert b'name="from" value="console"' in page
    response = client.post(f"/app/sessions/{session.pk}/broadcast/start/", {"from": "console"})
    assert response["Location"] == staff_url(session)
    session.refresh_from_db()
    assert session.state == "live"
    # Without it, the session page's broadcast section.
    response = client.post(f"/app/sessions/{session.pk}/broadcast/end/")
    assert response["Location"] == f"/app/sessions/{session.pk}/broadcast/"


# -- The way in -----------------------------------------------------------------------------


def test_the_session_page_leads_its_managers_to_the_console(session, animator, member):
    link = f'href="{staff_url(session)}"'
    assert link in client_for(animator).get(f"/app/sessions/{session.pk}/").content.decode()
    assert link not in client_for(member).get(f"/app/sessions/{session.pk}/").content.decode()


def test_the_speaker_page_leads_to_the_green_room_until_the_session_is_over(session, speaker):
    link = f'href="{speaker_url()}"'
    assert link in Client().get(f"/speaker/{TOKEN}/").content.decode()
    Session.objects.filter(pk=session.pk).update(state="cancelled")
    assert link not in Client().get(f"/speaker/{TOKEN}/").content.decode()
