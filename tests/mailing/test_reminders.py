"""Reminders: default rules, sent once at their derived time to the current registrants,
moved with the session, withheld when overtaken or cancelled; one-click unsubscribe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from antenne.core.models import AuditEntry
from antenne.events import services as events
from antenne.mailing import reminders, unsubscribe
from antenne.mailing.models import Reminder
from antenne.outbox.models import OutgoingEmail
from antenne.registrations import services as registrations
from antenne.registrations.models import Registration
from tests.factories import EventFactory, RegistrationFactory
from tests.helpers import drain_tasks, links_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(animator):
    event = EventFactory(owner=animator, published=True, title="Open data 2027")
    return events.schedule_session(
        actor=animator,
        event=event,
        starts_at=timezone.now() + timedelta(days=3),
        time_zone="Europe/Paris",
        duration_minutes=60,
    )


def register(session, email, first_name="Alix"):
    registration, _created = registrations.register(
        session=session, email=email, first_name=first_name, last_name="Martin", consent=True
    )
    return registration


def reminder_mails(sink):
    return [m for m in sink.messages if m["List-Unsubscribe"]]


def hour_reminder_time(session):
    session.refresh_from_db()
    return session.starts_at - timedelta(minutes=60)


def send_both(session):
    """Dispatch at the day-before reminder's time, then at the hour-before one's."""
    day = hour_reminder_time(session) - timedelta(minutes=1440 - 60)
    return reminders.dispatch_due_reminders(day) + reminders.dispatch_due_reminders(
        hour_reminder_time(session)
    )


def test_a_scheduled_session_gets_the_default_reminders(session):
    assert sorted(session.reminders.values_list("offset_minutes", "state")) == [
        (60, "pending"),
        (1440, "pending"),
    ]


def test_dispatch_sends_one_reminder_per_confirmed_registrant_once(smtp_server, session):
    alix = register(session, "alix@public.example")
    bea = register(session, "bea@public.example", first_name="Béa")
    revoked = register(session, "rev@public.example")
    registrations.revoke_registration(actor=session.event.owner, registration=revoked)
    drain_tasks()
    smtp_server.messages.clear()
    before = hour_reminder_time(session) - timedelta(minutes=1)
    assert reminders.dispatch_due_reminders(before - timedelta(days=1)) == 0
    assert send_both(session) == 2  # day + hour
    assert reminders.dispatch_due_reminders(hour_reminder_time(session)) == 0
    drain_tasks()
    mails = reminder_mails(smtp_server)
    assert len(mails) == 4  # two reminders × two confirmed registrants, nobody else
    assert smtp_server.to("rev@public.example") == []
    for registration in (alix, bea):
        mine = smtp_server.to(registration.email)
        assert len(mine) == 2
        for message in mine:
            text = smtp_server.text(message)
            join = [u for u in links_in(text) if "/join/" in u]
            assert join == [registrations.join_url(registration)]
            other = bea if registration == alix else alix
            assert other.join_key not in message.as_string()
            assert other.email not in message.as_string()
            url = message["List-Unsubscribe"].strip("<>")
            assert unsubscribe.registration_for_unsubscribe(token=url.split("/u/")[1].strip("/"))
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Registrants registered in French: the subjects are French (non-breaking spaces aside).
    subjects = sorted(
        str(m["Subject"]).replace("\u00a0", " ").strip() for m in smtp_server.to(alix.email)
    )
    assert subjects == [
        "Rappel : « Open data 2027 » commence dans 1 heure",
        "Rappel : « Open data 2027 » commence demain",
    ]
    assert set(session.reminders.values_list("state", flat=True)) == {"sent"}


def test_moving_the_session_moves_the_reminder(animator, smtp_server, session):
    register(session, "alix@public.example")
    old = hour_reminder_time(session)
    Reminder.objects.filter(session=session, offset_minutes=1440).delete()
    events.reschedule_session(
        actor=animator,
        session=session,
        starts_at=session.starts_at + timedelta(days=2),
        time_zone="Europe/Paris",
        duration_minutes=60,
    )
    assert reminders.dispatch_due_reminders(old + timedelta(minutes=1)) == 0
    new = hour_reminder_time(session)
    assert new == old + timedelta(days=2)
    assert reminders.dispatch_due_reminders(new) == 1
    drain_tasks()
    assert len(reminder_mails(smtp_server)) == 1


def test_a_move_closer_than_the_offset_withholds_the_reminder(animator, session):
    register(session, "alix@public.example")
    events.reschedule_session(
        actor=animator,
        session=session,
        starts_at=timezone.now() + timedelta(hours=5),
        time_zone="Europe/Paris",
        duration_minutes=60,
    )
    day = Reminder.objects.get(session=session, offset_minutes=1440)
    hour = Reminder.objects.get(session=session, offset_minutes=60)
    assert (day.state, day.reason) == ("withheld", "moved")
    assert hour.state == "pending"
    assert reminders.dispatch_due_reminders() == 0
    assert not OutgoingEmail.objects.filter(kind="reminder").exists()


def test_cancelling_withholds_the_reminders(animator, session):
    register(session, "alix@public.example")
    events.cancel_session(actor=animator, session=session)
    assert set(session.reminders.values_list("state", "reason")) == {("withheld", "cancelled")}
    assert reminders.dispatch_due_reminders(hour_reminder_time(session)) == 0
    assert not OutgoingEmail.objects.filter(kind="reminder").exists()


def test_a_session_started_early_withholds_pending_reminders(session):
    assert reminders.withhold_pending_reminders(session, reminders.STARTED_EARLY) == 2
    assert set(session.reminders.values_list("reason", flat=True)) == {"started early"}


def test_unsubscribed_registrants_get_no_reminder_but_their_confirmation(smtp_server, session):
    alix = register(session, "alix@public.example")
    unsubscribe.unsubscribe(registration=alix)
    register(session, "bea@public.example")
    drain_tasks()
    assert len(smtp_server.to("alix@public.example")) == 1  # the confirmation
    smtp_server.messages.clear()
    assert send_both(session) == 2
    drain_tasks()
    assert smtp_server.to("alix@public.example") == []
    assert len(smtp_server.to("bea@public.example")) == 2


def test_one_click_post_unsubscribes_and_a_get_does_not(session):
    alix = register(session, "alix@public.example")
    url = unsubscribe.unsubscribe_url(alix).split("antenne.test", 1)[1]
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200
    alix.refresh_from_db()
    assert alix.reminders_unsubscribed_at is None
    response = client.post(
        url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    alix.refresh_from_db()
    assert alix.reminders_unsubscribed_at is not None
    assert client.post(url).status_code == 200  # idempotent


def test_a_person_who_unsubscribed_can_resubscribe_from_the_same_page(smtp_server, session):
    alix = register(session, "alix@public.example")
    url = unsubscribe.unsubscribe_url(alix).split("antenne.test", 1)[1]
    client = Client(enforce_csrf_checks=True)
    client.cookies["django_language"] = "en"
    page = client.post(url).content.decode()
    assert "I changed my mind" in page
    page = client.post(url, {"resubscribe": "1"}).content.decode()
    assert "you will receive the emails of this webinar again" in page
    alix.refresh_from_db()
    assert alix.reminders_unsubscribed_at is None
    drain_tasks()
    smtp_server.messages.clear()
    assert send_both(session) == 2
    drain_tasks()
    assert len(smtp_server.to("alix@public.example")) == 2  # the day-before and 1-hour ones
    codes = AuditEntry.objects.values_list("action", flat=True)
    assert "registrations.registration.resubscribed" in codes


def test_bad_unsubscribe_tokens_are_404_and_rate_limited(settings, session):
    alix = register(session, "alix@public.example")
    token = unsubscribe.unsubscribe_token(alix)
    client = Client()
    assert client.post(f"/u/{token[:-2]}xx/").status_code == 404
    assert client.get("/u/nothing/").status_code == 404
    settings.RATE_LIMIT_SECRET = (2, 600)
    client.get("/u/nothing/")
    assert client.get(f"/u/{token}/").status_code == 429
    alix.refresh_from_db()
    assert alix.reminders_unsubscribed_at is None


@pytest.mark.parametrize("name", ["{join_url}", "Eve\r\nBcc: x@example.org"])
def test_hostile_names_are_shown_literally_to_one_recipient(smtp_server, session, name):
    registration = RegistrationFactory(session=session, email="eve@public.example", first_name=name)
    assert send_both(session) == 2
    drain_tasks()
    mails = reminder_mails(smtp_server)
    assert len(mails) == 2
    assert smtp_server.envelopes == [["eve@public.example"], ["eve@public.example"]]
    for message in mails:
        assert message["Bcc"] is None
        text = smtp_server.text(message)
        assert " ".join(name.split()) + "," in " ".join(text.split())
        assert text.count(registrations.join_url(registration)) == 1
        if name == "{join_url}":
            assert "{join_url}" in text


def test_revoked_registrations_get_nothing(session, animator):
    revoked = register(session, "rev@public.example")
    registrations.revoke_registration(actor=animator, registration=revoked)
    assert send_both(session) == 2
    assert not OutgoingEmail.objects.filter(kind="reminder").exists()
    assert Registration.objects.get(pk=revoked.pk).status == "revoked"


def test_reminders_are_edited_by_the_session_animators_only(animator, member, session):
    from tests.conftest import client_for

    client = client_for(animator)
    response = client.post(
        f"/app/sessions/{session.pk}/reminders/",
        {"reminder-amount": "2", "reminder-unit": "days"},
    )
    assert response.status_code == 302
    assert sorted(session.reminders.values_list("offset_minutes", flat=True)) == [60, 1440, 2880]
    hour = session.reminders.get(offset_minutes=60)
    client.post(
        f"/app/reminders/{hour.pk}/change/",
        {f"reminder-{hour.pk}-amount": "30", f"reminder-{hour.pk}-unit": "minutes"},
    )
    hour.refresh_from_db()
    assert hour.offset_minutes == 30
    client.post(f"/app/reminders/{hour.pk}/remove/")
    assert not session.reminders.filter(pk=hour.pk).exists()
    page = client.get(f"/app/sessions/{session.pk}/emails/")  # the session's Emails section
    assert b'id="reminders"' in page.content
    day = session.reminders.get(offset_minutes=1440)
    assert client_for(member).post(f"/app/reminders/{day.pk}/remove/").status_code == 403
    assert session.reminders.filter(pk=day.pk).exists()
