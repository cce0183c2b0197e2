"""Dial-in in the registrants' emails: the confirmation, the reminders (organiser texts
with `{phone_number}` and `{phone_pin}`) and the calendar file carry the telephone number
and the person's own PIN only when Antenne has a number; erasing a person takes their PIN."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from antenne.events import pins
from antenne.events import services as events
from antenne.mailing import placeholders, reminders, texts
from antenne.outbox.kinds import REMINDER
from antenne.outbox.models import OutgoingEmail
from antenne.registrations import pins as personal_pins
from antenne.registrations import services as registrations
from antenne.registrations.models import Registration
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db

NUMBER = "+33 1 23 45 67 89"


@pytest.fixture
def session(animator):
    return events.schedule_session(
        actor=animator,
        event=EventFactory(owner=animator, published=True, title="Open data 2027"),
        starts_at=timezone.now() + timedelta(days=3),
        time_zone="Europe/Paris",
        duration_minutes=60,
    )


def register(session, email="alix@public.example", language="en"):
    registration, _created = registrations.register(
        session=session,
        email=email,
        first_name="Alix",
        last_name="Martin",
        consent=True,
        language=language,
    )
    return registration


def confirmation(registration) -> OutgoingEmail:
    return OutgoingEmail.objects.filter(to=registration.email).latest("pk")


def send_reminders(session) -> None:
    """Send the day-before and hour-before reminders, each at its time."""
    session.refresh_from_db()
    assert reminders.dispatch_due_reminders(session.starts_at - timedelta(days=1)) == 1
    assert reminders.dispatch_due_reminders(session.starts_at - timedelta(minutes=60)) == 1


def reminders_to(registration) -> list[OutgoingEmail]:
    emails = list(OutgoingEmail.objects.filter(to=registration.email, kind=REMINDER))
    assert len(emails) == 2
    return emails


@override_settings(PHONE_NUMBER=NUMBER)
def test_the_confirmation_gives_the_number_and_the_personal_pin(session):
    registration = register(session)
    email = confirmation(registration)
    grouped = pins.grouped(registration.phone_pin)
    sentence = f"By telephone: call {NUMBER}, then type {grouped} followed by #."
    assert sentence in email.body_text
    assert sentence in email.body_html
    assert session.phone_pin not in email.body_text  # the session's PIN is not theirs
    [attachment] = email.attachments
    assert grouped in attachment["content"].replace("\r\n ", "")  # unfolded .ics lines


def test_without_a_number_the_confirmation_says_nothing_of_telephone(session, settings):
    settings.PHONE_NUMBER = ""
    registration = register(session)
    email = confirmation(registration)
    for body in (email.body_text, email.body_html, email.attachments[0]["content"]):
        assert pins.grouped(registration.phone_pin) not in body
        assert registration.phone_pin not in body
        assert "telephone" not in body.lower()
    # The text reads as before: no blank lines left where the paragraph would be.
    assert "\n\n\n" not in email.body_text


@override_settings(PHONE_NUMBER=NUMBER)
def test_the_waiting_list_gets_no_pin(session):
    session.capacity = 0
    session.waitlist_enabled = True
    session.save()
    registration = register(session)
    assert registration.status == Registration.Status.WAITLISTED
    email = confirmation(registration)
    assert pins.grouped(registration.phone_pin) not in email.body_text
    assert NUMBER not in email.body_text


@override_settings(PHONE_NUMBER=NUMBER)
def test_reminders_give_each_person_their_own_pin_in_text_and_html(session):
    alix = register(session, "alix@public.example", language="en")
    bea = register(session, "bea@public.example", language="fr")
    send_reminders(session)
    for person in (alix, bea):
        for email in reminders_to(person):
            grouped = pins.grouped(person.phone_pin)
            for body in (email.body_text, email.body_html):
                assert NUMBER in body
                assert grouped in body
            other = bea if person == alix else alix
            assert other.phone_pin not in email.body_text.replace(" ", "")
    for english in reminders_to(alix):
        assert (
            f"By telephone: call {NUMBER}, then type {pins.grouped(alix.phone_pin)} followed by #."
            in english.body_text
        )


def test_without_a_number_reminders_leave_the_telephone_paragraph_out(session, settings):
    settings.PHONE_NUMBER = ""
    alix = register(session)
    send_reminders(session)
    for email in reminders_to(alix):
        for body in (email.body_text, email.body_html):
            assert "telephone" not in body.lower()
            assert "{phone" not in body
            assert pins.grouped(alix.phone_pin) not in body
        assert "\n\n\n" not in email.body_text
        assert "<p></p>" not in email.body_html
        assert "See you soon!" in email.body_text  # the paragraphs around it stay


def test_the_default_reminder_texts_offer_dial_in_in_every_language():
    for language in texts.LANGUAGES:
        _subject, body = texts.DEFAULTS[REMINDER][language]
        assert {"phone_number", "phone_pin"} <= placeholders.used_placeholders(body)
        texts.validate_text(kind=REMINDER, subject="s", body=body)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"phone_number": "01 23", "phone_pin": "123"},
            "Hello\n\nCall 01 23, type 123.\n\nBye",
        ),
        ({"phone_number": "01 23", "phone_pin": ""}, "Hello\n\nBye"),
        ({"phone_number": "", "phone_pin": "123"}, "Hello\n\nBye"),
        ({}, "Hello\n\nBye"),
    ],
)
def test_a_paragraph_with_an_empty_optional_placeholder_is_left_out(values, expected):
    text = "Hello\n\nCall {phone_number}, type {phone_pin}.\n\nBye"
    assert placeholders.fill(text, values) == expected
    html = placeholders.fill_html(text, values)
    assert html.count("<p>") == expected.count("\n\n") + 1
    # Only the paragraph goes: the others keep their text, first and last paragraphs too.
    assert placeholders.fill("{phone_pin}\n\nBye", {}) == "Bye"
    assert placeholders.fill("Hi\n\n{phone_pin}", {}) == "Hi"


def test_a_paragraph_with_an_empty_ordinary_placeholder_stays():
    assert placeholders.fill("Hi {first_name}\n\nBye", {}) == "Hi \n\nBye"


@override_settings(PHONE_NUMBER=NUMBER)
def test_erasing_a_registrant_takes_their_pin_with_them(session, animator):
    alix = register(session)
    pin = alix.phone_pin
    assert personal_pins.find_by_pin(pin) == personal_pins.PinMatch(
        session_id=session.pk, registration_id=alix.pk
    )
    registrations.erase_registration(actor=animator, registration=alix)
    assert personal_pins.find_by_pin(pin) is None
    assert not Registration.objects.filter(phone_pin=pin).exists()
    for email in OutgoingEmail.objects.all():
        assert pins.grouped(pin) not in email.body_text + email.body_html
