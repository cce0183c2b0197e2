"""The session page's "Broadcast" section: open the green room, start, end, each through a
confirmation page (GET says what will happen and changes nothing, POST does it)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events.models import Session
from antenne.mailing.models import Reminder
from tests.conftest import client_for as french_client
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    """The wording assertions below read the English interface."""
    client = french_client(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def session(animator):
    return SessionFactory(starts_at=timezone.now() + timedelta(minutes=30), animators=[animator])


def url(session, action):
    return f"/app/sessions/{session.pk}/broadcast/{action}/"


def offered(page: str, session) -> list[str]:
    return re.findall(rf'href="/app/sessions/{session.pk}/broadcast/([a-z-]+)/"', page)


def _state(session) -> str:
    session.refresh_from_db()
    return session.state


@pytest.mark.parametrize(
    ("state", "buttons"),
    [
        ("scheduled", ["green-room", "start"]),
        ("green_room", ["start", "end"]),
        ("live", ["end"]),
        ("ended", []),
        ("cancelled", []),
    ],
)
def test_the_session_page_offers_the_steps_of_the_state(animator, session, state, buttons):
    Session.objects.filter(pk=session.pk).update(
        state=state,
        started_at=timezone.now() if state in ("live", "ended") else None,
        ended_at=timezone.now() if state == "ended" else None,
    )
    page = client_for(animator).get(f"/app/sessions/{session.pk}/broadcast/").content.decode()
    assert offered(page, session) == buttons
    assert ('id="broadcast"' in page) is (state != "cancelled")


def test_a_session_days_ahead_shows_when_its_broadcast_opens(animator):
    later = SessionFactory(starts_at=timezone.now() + timedelta(days=3), animators=[animator])
    page = client_for(animator).get(f"/app/sessions/{later.pk}/broadcast/").content.decode()
    assert offered(page, later) == []
    assert "you can open the green room" in page


def test_people_who_do_not_manage_the_session_see_no_broadcast_section(session):
    for user in (UserFactory(role=Role.MEMBER), SessionFactory().event.owner):
        page = client_for(user).get(f"/app/sessions/{session.pk}/broadcast/").content.decode()
        assert 'id="broadcast"' not in page
        assert offered(page, session) == []


def test_the_confirmation_says_what_will_happen_and_changes_nothing(animator, session):
    Reminder.objects.create(session=session, offset_minutes=15)
    Reminder.objects.create(session=session, offset_minutes=10)
    response = client_for(animator).get(url(session, "start"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The session goes live for everyone" in page
    assert "2 reminders not sent yet will be withheld" in page
    assert '<button class="fr-btn" type="submit">Start the broadcast now</button>' in page
    assert _state(session) == "scheduled"
    assert not AuditEntry.objects.filter(action__startswith="events.session.").exists()


def test_confirming_each_step_moves_the_session_and_says_so(animator, session):
    client = client_for(animator)
    for action, state, message in [
        ("green-room", "green_room", "The green room is open."),
        ("start", "live", "The broadcast has started."),
        ("end", "ended", "The broadcast has ended."),
    ]:
        response = client.post(url(session, action))
        assert response["Location"] == f"/app/sessions/{session.pk}/broadcast/"
        assert _state(session) == state
        page = client.get(response["Location"]).content.decode()
        assert message in page
    assert "Broadcast from" in page
    assert list(
        AuditEntry.objects.filter(action__startswith="events.session.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["events.session.green_room_opened", "events.session.started", "events.session.ended"]


def test_ending_from_the_green_room_warns_that_nothing_was_broadcast(animator, session):
    client = client_for(animator)
    client.post(url(session, "green-room"))
    page = client.get(url(session, "end")).content.decode()
    assert "never went live" in page
    client.post(url(session, "end"))
    page = client.get(f"/app/sessions/{session.pk}/broadcast/").content.decode()
    assert "without having been broadcast" in page


def test_a_refused_step_is_explained_before_and_after_confirming(animator):
    later = SessionFactory(starts_at=timezone.now() + timedelta(hours=3), animators=[animator])
    client = client_for(animator)
    page = client.get(url(later, "start")).content.decode()
    assert "at most 60 minutes before the scheduled start" in page
    assert "Start the broadcast now" not in page
    response = client.post(url(later, "start"), follow=True)
    assert "at most 60 minutes before the scheduled start" in response.content.decode()
    assert _state(later) == "scheduled"
    # Ending twice: the second confirmation is refused with a message, not an error page.
    Session.objects.filter(pk=later.pk).update(state="ended", ended_at=timezone.now())
    response = client.post(url(later, "end"), follow=True)
    assert response.status_code == 200
    assert "This session has already ended." in response.content.decode()


def test_only_the_session_managers_reach_the_steps(session):
    for user in (UserFactory(role=Role.MEMBER), SessionFactory().event.owner):
        client = client_for(user)
        assert client.get(url(session, "start")).status_code == 403
        assert client.post(url(session, "start")).status_code == 403
    assert _state(session) == "scheduled"
    admin = UserFactory(role=Role.ADMIN)
    assert client_for(admin).post(url(session, "start")).status_code == 302
    assert _state(session) == "live"


def test_an_unknown_step_is_404(animator, session):
    assert client_for(animator).get(url(session, "pause")).status_code == 404
    assert client_for(animator).post(url(session, "pause")).status_code == 404


# -- In place, from the studio ----------------------------------------------------------------


def test_the_studio_moves_the_session_in_place_and_learns_the_new_state(animator, session):
    client = client_for(animator)
    json_post = {"HTTP_ACCEPT": "application/json"}
    answer = client.post(url(session, "green-room"), **json_post)
    assert answer.status_code == 200
    assert answer.json() == {
        "state": "green_room",
        "started_at": None,
        "message": "The green room is open.",
    }
    answer = client.post(url(session, "start"), **json_post).json()
    session.refresh_from_db()
    assert answer["state"] == "live" == session.state
    assert answer["started_at"] == session.started_at.isoformat()
    assert answer["message"] == "The broadcast has started."
    # No page to go back to, no message left for the next page.
    assert (
        "The broadcast has started."
        not in client.get(f"/app/sessions/{session.pk}/").content.decode()
    )


def test_a_refusal_in_place_says_why_without_an_error_page(animator, session):
    client = client_for(animator)
    Session.objects.filter(pk=session.pk).update(state="ended", ended_at=timezone.now())
    answer = client.post(url(session, "end"), HTTP_ACCEPT="application/json")
    assert answer.status_code == 409
    assert answer.json() == {
        "code": "session.ended",
        "message": "This session has already ended.",
    }
    assert _state(session) == "ended"
    outsider = client_for(UserFactory(role=Role.MEMBER))
    assert outsider.post(url(session, "start"), HTTP_ACCEPT="application/json").status_code == 403
