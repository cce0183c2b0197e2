"""What the registration page says of a session near its title: the date and time in the
session's zone, the countdown, the speakers (initials: no photo is stored), the
add-to-calendar links that carry only the public page; the page after registering and the
confirmation email repeat the date and time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from antenne.events.models import Speaker
from antenne.outbox.models import MailboxMessage
from antenne.registrations.models import Registration
from tests.factories import EventFactory, RegistrationFactory, SessionFactory
from tests.helpers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2031, 3, 25, 8, 0, tzinfo=UTC)  # 09:00 in Paris


@pytest.fixture
def session():
    event = EventFactory(published=True, title="Données & ouvertes", description="Tout savoir.")
    return SessionFactory(event=event, starts_at=START, duration_minutes=90)


def french(client=None):
    client = client or Client()
    client.cookies["django_language"] = "fr"
    return client


def html(response) -> str:
    return response.content.decode()


def links(page: str) -> dict[str, str]:
    """The add-to-calendar links, by their visible name."""
    found = re.findall(r'<a class="fr-btn fr-btn--sm[^"]*" href="([^"]+)"[^>]*>([^<]+)', page)
    return {name.strip(): unescape(href) for href, name in found}


def test_the_date_and_time_come_right_under_the_title(session):
    page = html(french().get(f"/e/{session.event.pk}/"))
    title = page.index("<h1>Données &amp; ouvertes</h1>")
    when = page.index("mardi 25 mars 2031, 09:00\u00a0– 10:30")
    assert title < when < page.index('<form method="post" novalidate>')
    assert "(Europe/Paris)" in page[when : when + 200]
    assert 'datetime="2031-03-25T08:00:00+00:00"' in page


def test_the_countdown_is_written_by_the_server_for_people_without_javascript(session):
    session.starts_at = timezone.now() + timedelta(days=2, hours=3, minutes=30, seconds=20)
    session.save()
    page = html(Client().get(f"/e/{session.event.pk}/"))
    boxes = re.findall(r'data-unit="(\w+)"><strong>(\d+)</strong>', page)
    assert boxes == [("day", "2"), ("hour", "3"), ("minute", "30")]


def test_calendar_links_carry_the_session_and_only_the_public_page(session):
    RegistrationFactory(session=session, email="alix@public.example")
    page = html(french().get(f"/e/{session.event.pk}/"))
    found = links(page)
    google = parse_qs(urlsplit(found["Google"]).query)
    assert urlsplit(found["Google"]).netloc == "calendar.google.com"
    assert google["action"] == ["TEMPLATE"]
    assert google["text"] == ["Données & ouvertes"]
    assert google["dates"] == ["20310325T080000Z/20310325T093000Z"]
    assert google["location"] == [f"https://antenne.test/e/{session.event.pk}/"]
    assert "Tout savoir." in google["details"][0]
    outlook = parse_qs(urlsplit(found["Outlook"]).query)
    assert urlsplit(found["Outlook"]).netloc == "outlook.live.com"
    assert outlook["subject"] == ["Données & ouvertes"]
    assert (outlook["startdt"], outlook["enddt"]) == (
        ["2031-03-25T08:00:00Z"],
        ["2031-03-25T09:30:00Z"],
    )
    [ics_url] = [href for name, href in found.items() if name.endswith("(.ics)")]
    ics = Client().get(ics_url)
    assert ics["Content-Type"].startswith("text/calendar")
    calendar = ics.content.decode().replace("\r\n ", "")
    assert "DTSTART:20310325T080000Z" in calendar
    assert "DTEND:20310325T093000Z" in calendar
    assert f"URL:https://antenne.test/e/{session.event.pk}/" in calendar
    join_key = Registration.objects.get().join_key
    assert len(join_key) > 10
    for text in (page, calendar, found["Google"], found["Outlook"]):
        assert "/join/" not in text
        assert join_key not in text


def test_a_calendar_file_only_for_a_session_of_a_published_webinar(session):
    other = SessionFactory(event=EventFactory(published=True))
    hidden = SessionFactory(event=EventFactory(published=False))
    client = Client()
    assert client.get(f"/e/{session.event.pk}/s/{other.pk}/calendar.ics").status_code == 404
    assert client.get(f"/e/{hidden.event.pk}/s/{hidden.pk}/calendar.ics").status_code == 404
    assert client.get(f"/e/{session.event.pk}/s/{session.pk}/calendar.ics").status_code == 200


def test_speakers_show_their_initials_name_and_role_escaped(session):
    session.event.show_speakers = True
    session.event.save()
    Speaker.objects.create(
        session=session, email="c@x.example", name="Camille Dupont-Léger", title="Cheffe"
    )
    Speaker.objects.create(session=session, email="e@x.example", name="<b>Ève</b>", title="")
    page = html(Client().get(f"/e/{session.event.pk}/"))
    assert '<span class="antenne-avatar" aria-hidden="true">CL</span>' in page
    assert "<strong>Camille Dupont-Léger</strong>" in page
    assert "Cheffe" in page
    assert "&lt;b&gt;Ève&lt;/b&gt;" in page
    assert "<b>Ève" not in page


def test_the_page_after_registering_and_the_email_repeat_the_date_and_time(session):
    client = french()
    response = client.post(
        f"/e/{session.event.pk}/",
        {
            "session": str(session.pk),
            "email": "alix@public.example",
            "first_name": "Alix",
            "last_name": "Martin",
            "consent": "on",
        },
    )
    page = html(client.get(response["Location"]))
    assert "mardi 25 mars 2031, 09:00\u00a0– 10:30" in page
    assert set(links(page)) >= {"Google", "Outlook"}
    assert "/join/" not in page
    drain_tasks()
    [email] = MailboxMessage.objects.filter(to="alix@public.example")
    assert "25 mars 2031 09:00" in email.body_text.replace("\u00a0", " ")
