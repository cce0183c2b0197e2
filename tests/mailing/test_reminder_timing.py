"""Reminders never go late with false words: a reminder whose time has passed when the
session is scheduled, or when someone registers, is not sent (to them); the words say the
time really left; a session moved later makes its reminders due again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from antenne.core import periodic
from antenne.events import services as events
from antenne.mailing import reminders
from antenne.mailing.models import Reminder
from antenne.mailing.texts import starts_in
from antenne.outbox.models import OutgoingEmail
from antenne.registrations import services as registrations
from antenne.registrations.models import Registration
from tests.factories import EventFactory
from tests.helpers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def schedule(animator, ahead):
    event = EventFactory(owner=animator, published=True, title="Open data 2027")
    return events.schedule_session(
        actor=animator,
        event=event,
        starts_at=timezone.now() + ahead,
        time_zone="Europe/Paris",
        duration_minutes=60,
    )


def register(session, email, language="fr"):
    registration, _created = registrations.register(
        session=session,
        email=email,
        first_name="Alix",
        last_name="Martin",
        consent=True,
        language=language,
    )
    return registration


def registered_ago(registration, ago):
    Registration.objects.filter(pk=registration.pk).update(created_at=timezone.now() - ago)


def no_worker_ran_until(session, ahead):
    """Time passed with no worker: the session is now `ahead`, its reminders still pending."""
    session.__class__.objects.filter(pk=session.pk).update(starts_at=timezone.now() + ahead)


def move(animator, session, start):
    events.reschedule_session(
        actor=animator,
        session=session,
        starts_at=start,
        time_zone="Europe/Paris",
        duration_minutes=60,
    )


def run_the_periodic_job():
    periodic.JOBS["mailing.dispatch_due_reminders"].function()
    drain_tasks()


def subjects(sink, address):
    return [str(m["Subject"]).replace("\u00a0", " ").strip() for m in sink.to(address)]


def test_a_session_scheduled_20_minutes_ahead_sends_no_reminder(animator):
    session = schedule(animator, timedelta(minutes=20))
    register(session, "alix@public.example")
    assert sorted(session.reminders.values_list("offset_minutes", "state", "reason")) == [
        (60, "withheld", "too late"),
        (1440, "withheld", "too late"),
    ]
    now = timezone.now()
    assert reminders.dispatch_due_reminders(now) == 0
    assert reminders.dispatch_due_reminders(now + timedelta(minutes=15)) == 0
    assert not OutgoingEmail.objects.filter(kind="reminder").exists()


def test_through_the_periodic_job_the_registrant_gets_only_the_confirmation(animator, smtp_server):
    session = schedule(animator, timedelta(minutes=20))
    register(session, "alix@public.example")
    run_the_periodic_job()
    (confirmation,) = subjects(smtp_server, "alix@public.example")
    assert "Rappel" not in confirmation
    assert "demain" not in " ".join(smtp_server.text(m) for m in smtp_server.messages)


def test_a_registrant_of_30_minutes_before_gets_no_day_before_reminder(animator, smtp_server):
    session = schedule(animator, timedelta(days=3))
    early = register(session, "early@public.example")
    registered_ago(early, timedelta(days=2))
    no_worker_ran_until(session, timedelta(minutes=30))
    late = register(session, "late@public.example")
    run_the_periodic_job()
    assert subjects(smtp_server, "early@public.example")[1:] == [
        "Rappel : « Open data 2027 » commence dans 30 minutes"
    ]
    assert len(subjects(smtp_server, late.email)) == 1  # the confirmation only
    day = Reminder.objects.get(session=session, offset_minutes=1440)
    assert (day.state, day.reason) == ("withheld", "missed")  # the hour one said it all
    assert Reminder.objects.get(session=session, offset_minutes=60).recipients == 1


def test_a_late_reminder_says_the_true_time_left_in_french_and_english(animator, smtp_server):
    session = schedule(animator, timedelta(days=3))
    for address, language in (("fr@public.example", "fr"), ("en@public.example", "en")):
        registered_ago(register(session, address, language), timedelta(days=1))
    no_worker_ran_until(session, timedelta(minutes=20))
    run_the_periodic_job()
    assert subjects(smtp_server, "fr@public.example")[1:] == [
        "Rappel : « Open data 2027 » commence dans 20 minutes"
    ]
    assert subjects(smtp_server, "en@public.example")[1:] == [
        "Reminder: “Open data 2027” starts in 20 minutes"
    ]
    (message,) = smtp_server.to("en@public.example")[1:]
    assert "“Open data 2027” starts in 20 minutes." in smtp_server.text(message)


def test_a_session_moved_later_makes_its_reminders_due_again_with_the_right_words(
    animator, smtp_server
):
    session = schedule(animator, timedelta(days=3))
    register(session, "alix@public.example")
    for start in (timezone.now() + timedelta(minutes=20), timezone.now() + timedelta(days=2)):
        move(animator, session, start)
    assert set(session.reminders.values_list("state", "reason")) == {("pending", "")}
    drain_tasks()
    smtp_server.messages.clear()
    assert reminders.dispatch_due_reminders(start - timedelta(minutes=1440)) == 1
    assert reminders.dispatch_due_reminders(start - timedelta(minutes=59)) == 1
    drain_tasks()
    assert subjects(smtp_server, "alix@public.example") == [
        "Rappel : « Open data 2027 » commence demain",
        "Rappel : « Open data 2027 » commence dans 1 heure",
    ]


def test_a_session_scheduled_too_late_then_moved_later_gets_its_reminders(animator):
    session = schedule(animator, timedelta(minutes=20))
    start = timezone.now() + timedelta(days=2)
    events.reschedule_session(
        actor=animator,
        session=session,
        starts_at=start,
        time_zone="Europe/Paris",
        duration_minutes=60,
    )
    assert set(session.reminders.values_list("state", "reason")) == {("pending", "")}


def test_a_sent_reminder_is_due_again_when_the_session_moves_later(animator, smtp_server):
    session = schedule(animator, timedelta(hours=25))
    register(session, "alix@public.example")
    assert reminders.dispatch_due_reminders(session.starts_at - timedelta(days=1)) == 1
    start = session.starts_at + timedelta(days=7)
    events.reschedule_session(
        actor=animator,
        session=session,
        starts_at=start,
        time_zone="Europe/Paris",
        duration_minutes=60,
    )
    day = Reminder.objects.get(session=session, offset_minutes=1440)
    assert (day.state, day.recipients) == ("pending", 0)
    assert reminders.dispatch_due_reminders(start - timedelta(days=1)) == 1
    drain_tasks()
    reminder_subjects = [s for s in subjects(smtp_server, "alix@public.example") if "Rappel" in s]
    assert reminder_subjects == ["Rappel : « Open data 2027 » commence demain"] * 2


@pytest.mark.parametrize(
    ("minutes", "french", "english"),
    [
        (20, "dans 20 minutes", "in 20 minutes"),
        (59, "dans 1 heure", "in 1 hour"),
        (1439, "demain", "tomorrow"),
        (2880, "dans 2 jours", "in 2 days"),
    ],
)
def test_the_words_of_the_time_left(minutes, french, english):
    with translation.override("fr"):
        assert starts_in(minutes) == french
    with translation.override("en"):
        assert starts_in(minutes) == english
    with translation.override("en"):
        assert starts_in(150) == "in 2 hours and 30 minutes"
