"""Telephone dial-in PINs: a 9-digit PIN per session (unique among sessions not over), an
11-digit personal PIN per registration, and `find_by_pin` for what a caller types."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from antenne.events import pins
from antenne.events import services as events
from antenne.events.models import Session
from antenne.registrations import pins as personal_pins
from antenne.registrations import services as registrations
from antenne.registrations.models import Registration
from tests.factories import EventFactory, RegistrationFactory, SessionFactory

pytestmark = pytest.mark.django_db


def schedule(animator, days=3):
    return events.schedule_session(
        actor=animator,
        event=EventFactory(owner=animator, published=True),
        starts_at=timezone.now() + timedelta(days=days),
        time_zone="Europe/Paris",
        duration_minutes=60,
    )


def register(session, email="alix@public.example"):
    registration, _created = registrations.register(
        session=session, email=email, first_name="Alix", last_name="Martin", consent=True
    )
    return registration


def test_scheduling_and_registering_give_random_pins_of_9_and_11_digits(animator):
    first, second = schedule(animator), schedule(animator, days=4)
    alix, bea = register(first), register(first, "bea@public.example")
    for session in (first, second):
        assert len(session.phone_pin) == 9
        assert session.phone_pin.isdigit()
    for registration in (alix, bea):
        stored = Registration.objects.get(pk=registration.pk).phone_pin
        assert stored == registration.phone_pin
        assert len(stored) == 11
        assert stored.isdigit()
    assert first.phone_pin != second.phone_pin
    assert alix.phone_pin != bea.phone_pin


def test_generation_draws_again_when_an_open_session_has_the_pin(monkeypatch):
    SessionFactory(phone_pin="111111111")
    SessionFactory(phone_pin="222222222", state=Session.State.ENDED)
    drawn = iter(["111111111", "111111111", "333333333"])
    monkeypatch.setattr(pins, "_digits", lambda count: next(drawn))
    assert pins.new_session_pin() == "333333333"
    # An ended session's PIN is free again.
    monkeypatch.setattr(pins, "_digits", lambda count: "222222222")
    assert pins.new_session_pin() == "222222222"


def test_generation_gives_up_rather_than_looping_forever(monkeypatch):
    SessionFactory(phone_pin="111111111")
    RegistrationFactory(phone_pin="44444444444")
    monkeypatch.setattr(pins, "_digits", lambda count: "1" * 9 if count == 9 else "4" * 11)
    with pytest.raises(RuntimeError):
        pins.new_session_pin()
    with pytest.raises(RuntimeError):
        personal_pins.new_personal_pin()


@pytest.mark.parametrize("over", [Session.State.ENDED, Session.State.CANCELLED])
def test_an_over_sessions_pin_may_be_reused_but_not_by_two_open_sessions(over):
    old = SessionFactory(phone_pin="123456789", state=over)
    new = SessionFactory(phone_pin="123456789")  # the database accepts it
    assert {old.phone_pin, new.phone_pin} == {"123456789"}
    with pytest.raises(IntegrityError), transaction.atomic():
        SessionFactory(phone_pin="123456789", state=Session.State.LIVE)
    assert Session.objects.filter(phone_pin="123456789").count() == 2


def test_two_registrations_never_share_a_personal_pin_but_may_both_have_none():
    RegistrationFactory(phone_pin="12345678901")
    with pytest.raises(IntegrityError), transaction.atomic():
        RegistrationFactory(phone_pin="12345678901")
    RegistrationFactory(phone_pin="")
    RegistrationFactory(phone_pin="")
    assert Registration.objects.filter(phone_pin="").count() == 2


@pytest.mark.parametrize(
    "state", [Session.State.SCHEDULED, Session.State.GREEN_ROOM, Session.State.LIVE]
)
def test_a_session_pin_finds_its_open_session(state):
    session = SessionFactory(phone_pin="012345678", state=state)
    expected = personal_pins.PinMatch(session_id=session.pk, registration_id=None)
    assert personal_pins.find_by_pin("012345678") == expected
    assert personal_pins.find_by_pin("012 345 678") == expected  # as read from the email


@pytest.mark.parametrize(
    "state", [Session.State.SCHEDULED, Session.State.GREEN_ROOM, Session.State.LIVE]
)
def test_a_personal_pin_finds_the_person_and_their_session(state):
    registration = RegistrationFactory(phone_pin="01234567890", session__state=state)
    expected = personal_pins.PinMatch(
        session_id=registration.session_id, registration_id=registration.pk
    )
    assert personal_pins.find_by_pin("01234567890") == expected
    assert personal_pins.find_by_pin("012 345 678 90") == expected


@pytest.mark.parametrize("state", [Session.State.ENDED, Session.State.CANCELLED])
def test_pins_of_a_session_that_is_over_let_nobody_in(state):
    registration = RegistrationFactory(
        phone_pin="01234567890", session__phone_pin="987654321", session__state=state
    )
    assert registration.session.phone_pin == "987654321"
    assert personal_pins.find_by_pin("987654321") is None
    assert personal_pins.find_by_pin("01234567890") is None


@pytest.mark.parametrize("status", [Registration.Status.REVOKED, Registration.Status.WAITLISTED])
def test_a_personal_pin_of_someone_not_confirmed_lets_nobody_in(status):
    RegistrationFactory(phone_pin="01234567890", status=status)
    assert personal_pins.find_by_pin("01234567890") is None


@pytest.mark.parametrize(
    "typed",
    [
        "",
        " ",
        "#",
        "12345678",  # 8 digits
        "1234567890",  # 10 digits
        "123456789012",  # 12 digits
        "12345678a",
        "-12345678",
        "+12345678",
        "1234567.8",
        "١٢٣٤٥٦٧٨٩",  # Arabic-Indic digits: isdigit() but not what a keypad sends
        "¹²³⁴⁵⁶⁷⁸⁹",
        "123456789\n",
        "123456789\x00",
        "' OR 1=1 --",
        "9" * 10_000,
        "\ud800",
    ],
)
def test_garbage_never_raises_and_finds_nothing(typed):
    SessionFactory(phone_pin="123456789")
    RegistrationFactory(phone_pin="12345678901")
    assert personal_pins.find_by_pin(typed) is None


def test_non_strings_find_nothing():
    assert personal_pins.find_by_pin(None) is None  # type: ignore[arg-type]
    assert personal_pins.find_by_pin(123456789) is None  # type: ignore[arg-type]


def test_pins_are_grouped_by_three_for_reading():
    assert pins.grouped("123456789") == "123 456 789"
    assert pins.grouped("12345678901") == "123 456 789 01"
