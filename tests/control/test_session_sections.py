"""The organiser's path in the back office: the session's sections, the readiness checklist
phrased as what is to do, the webinar's share box, the dashboard, and flash messages that
say who was really emailed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from antenne.core.permissions import Role
from antenne.events.models import Speaker
from antenne.outbox.models import OutgoingEmail
from tests.conftest import client_for
from tests.factories import EventFactory, RegistrationFactory, SessionFactory, UserFactory
from tests.helpers import links_in

pytestmark = pytest.mark.django_db


def english(user):
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def checklist(page: str) -> list[tuple[str, str]]:
    """(done or to do, label) of each checklist item, in order."""
    block = page.split('class="antenne-checklist"', 1)[1]
    return [
        (state, re.sub(r"\s+", " ", label).strip())
        for state, label in re.findall(
            r'fr-badge--(success|error)">[^<]*</span>\s*<a href="[^"]*">([^<]*)</a>', block
        )
    ]


def test_the_checklist_says_what_is_to_do_and_a_session_without_speakers_is_no_item(animator):
    session = SessionFactory(event=EventFactory(owner=animator))
    client = english(animator)
    items = checklist(client.get(f"/app/sessions/{session.pk}/").content.decode())
    assert ("error", "Publish the registration page") in items
    assert ("error", "Do a test run in the green room") in items
    assert ("success", "No speaker invited") in items
    Speaker.objects.create(session=session, email="s@x.example", name="Sam")
    client.post(f"/app/events/{session.event.pk}/publish/", {"published": "1"})
    page = client.get(f"/app/sessions/{session.pk}/").content.decode()
    assert ("error", "Get the speakers to confirm") in checklist(page)
    assert ("success", "The registration page is published") in checklist(page)
    # The published page's link is on the overview, and the item leads to the share box.
    assert f'id="session-register-url">{settings.BASE_URL}/e/{session.event.pk}/<' in page
    assert f'href="/app/events/{session.event.pk}/#share"' in page


def test_a_conflict_the_organiser_confirmed_counts_as_resolved(animator):
    first = SessionFactory(event=EventFactory(owner=animator))
    second = SessionFactory(
        event=EventFactory(owner=animator), starts_at=first.starts_at + timedelta(minutes=70)
    )
    client = english(animator)
    for session in (first, second):
        page = client.get(f"/app/sessions/{session.pk}/").content.decode()
        assert ("error", "Resolve the slot conflicts") in checklist(page)
    second.confirmed_conflicts = [first.pk]
    second.save()
    for session in (first, second):
        page = client.get(f"/app/sessions/{session.pk}/").content.decode()
        assert ("success", "No slot conflict left") in checklist(page)


def test_each_section_has_its_address_and_forms_answer_in_their_section(animator):
    session = SessionFactory(event=EventFactory(owner=animator))
    client = english(animator)
    for path, heading in [
        ("", "Readiness checklist"),
        ("speakers/", "Invite a speaker"),
        ("broadcast/", "Test run"),
        ("settings/", "Move the session"),
        ("emails/", "Reminders"),
        ("registrants/", "Registrants"),
    ]:
        page = client.get(f"/app/sessions/{session.pk}/{path}").content.decode()
        assert heading in page, path
        current = re.search(r'href="([^"]*)" aria-current="page"', page)
        assert current, path
        assert current.group(1) == f"/app/sessions/{session.pk}/{path}", path
    # A bad invitation comes back in the speakers section with its error beside the field.
    response = client.post(f"/app/sessions/{session.pk}/speakers/", {"speaker-email": "nope"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'aria-current="page">Speakers<' in page
    assert "Enter a valid email address." in page
    # A bad move comes back in the settings section.
    response = client.post(f"/app/sessions/{session.pk}/reschedule/", {"slot-date": "x"})
    assert response.status_code == 422
    assert 'aria-current="page">Settings<' in response.content.decode()
    # A reminder goes back to the emails section.
    response = client.post(
        f"/app/sessions/{session.pk}/reminders/", {"reminder-amount": "2", "reminder-unit": "days"}
    )
    assert response["Location"] == f"/app/sessions/{session.pk}/emails/#reminders"


def test_the_conflict_confirmation_box_shows_only_when_there_is_a_conflict(animator):
    first = SessionFactory(event=EventFactory(owner=animator))
    event = EventFactory(owner=animator)
    client = english(animator)
    page = client.get(f"/app/events/{event.pk}/sessions/new/").content.decode()
    assert 'type="checkbox" name="confirm_conflicts"' not in page
    local = first.local_start + timedelta(minutes=70)
    response = client.post(
        f"/app/events/{event.pk}/sessions/new/",
        {
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "time_zone": "Europe/Paris",
            "duration_minutes": 60,
            "animators": [animator.pk],
        },
    )
    assert response.status_code == 422
    assert 'type="checkbox" name="confirm_conflicts"' in response.content.decode()


def test_flash_messages_say_who_was_emailed(animator):
    session = SessionFactory(event=EventFactory(owner=animator))
    RegistrationFactory(session=session)
    RegistrationFactory(session=session)
    client = english(animator)
    client.post(f"/app/sessions/{session.pk}/speakers/", {"speaker-email": "sam@x.example"})
    page = client.get(f"/app/sessions/{session.pk}/speakers/").content.decode()
    assert "their personal link was emailed to sam@x.example" in page
    later = session.local_start + timedelta(days=1)
    response = client.post(
        f"/app/sessions/{session.pk}/reschedule/",
        {
            "slot-date": later.date().isoformat(),
            "slot-time": later.strftime("%H:%M"),
            "slot-time_zone": session.time_zone,
            "slot-duration_minutes": 60,
        },
    )
    assert response["Location"] == f"/app/sessions/{session.pk}/settings/"
    page = client.get(response["Location"]).content.decode()
    assert "An email went to 2 registrants and 1 speaker." in page
    speaker = Speaker.objects.get()
    client.post(f"/app/sessions/{session.pk}/speakers/{speaker.pk}/revoke/")
    emails = OutgoingEmail.objects.count()
    page = client.get(f"/app/sessions/{session.pk}/speakers/").content.decode()
    assert "Nobody was emailed" in page
    assert OutgoingEmail.objects.count() == emails


def test_the_published_webinar_page_shares_its_link_and_embed_code(animator):
    event = EventFactory(owner=animator)
    client = english(animator)
    page = client.get(f"/app/events/{event.pk}/").content.decode()
    assert 'id="share-url"' not in page
    response = client.post(f"/app/events/{event.pk}/publish/", {"published": "1"})
    assert response["Location"] == f"/app/events/{event.pk}/#share"
    page = client.get(f"/app/events/{event.pk}/").content.decode()
    url = re.search(r'id="share-url" type="url" value="([^"]+)"', page).group(1)
    assert url.endswith(f"/e/{event.pk}/")
    assert f'id="share-preview" href="{url}"' in page
    assert f"&lt;iframe src=&quot;{url}?embed=1&quot;" in page
    assert client.get(url.replace("http://testserver", "")).status_code == 200


def test_the_dashboard_lists_ones_sessions_with_state_registrants_and_what_is_left(animator):
    session = SessionFactory(
        event=EventFactory(owner=animator, title="Données ouvertes"),
        starts_at=timezone.now() + timedelta(hours=20),
        capacity=100,
    )
    RegistrationFactory(session=session)
    page = english(animator).get("/app/").content.decode()
    assert 'href="/app/events/new/"' in page
    assert "Create a webinar" in page
    row = page.split("Données ouvertes", 1)[1].split("</tr>", 1)[0]
    assert "Scheduled" in row
    assert "1 / 100" in row
    assert "Publish the registration page" in row
    assert "Other coming sessions with items to fix" not in page  # not twice
    member_page = english(UserFactory(role=Role.MEMBER)).get("/app/").content.decode()
    assert 'href="/app/events/new/"' not in member_page
    assert "Other coming sessions with items to fix" in member_page


def test_a_speakers_confirmation_says_what_happened_and_emails_nobody(animator):
    session = SessionFactory(event=EventFactory(owner=animator))
    english(animator).post(
        f"/app/sessions/{session.pk}/speakers/", {"speaker-email": "sam@x.example"}
    )
    [invitation] = OutgoingEmail.objects.filter(to="sam@x.example")
    [link] = [u for u in links_in(invitation.body_text) if "/speaker/" in u]
    guest = Client()
    guest.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    path = link.removeprefix(settings.BASE_URL)
    response = guest.post(path, follow=True)
    assert "your participation is confirmed" in response.content.decode()
    assert "know you will speak" not in response.content.decode()
    assert OutgoingEmail.objects.count() == 1  # the invitation only


def test_a_started_session_on_the_dashboard_has_no_checklist_left(animator):
    session = SessionFactory(
        event=EventFactory(owner=animator, title="En direct"),
        starts_at=timezone.now() - timedelta(minutes=5),
        state="live",
    )
    page = english(animator).get("/app/").content.decode()
    row = page.split("En direct", 1)[1].split("</tr>", 1)[0]
    assert "Live" in row
    assert "Do a test run" not in row
    assert (
        f'href="/app/sessions/{session.pk}/room/"'
        in english(animator).get(f"/app/sessions/{session.pk}/").content.decode()
    )
