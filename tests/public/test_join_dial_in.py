"""The join page gives a registrant the telephone number and their own PIN, only when
Antenne has a number and the PIN would let them in."""

from __future__ import annotations

import pytest
from django.test import Client

from antenne.events.models import Session
from antenne.registrations.models import Registration
from tests.factories import RegistrationFactory

pytestmark = pytest.mark.django_db

NUMBER = "+33 1 23 45 67 89"


def join_page(registration) -> str:
    response = Client().get(f"/join/{registration.join_key}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_join_page_shows_the_number_and_the_personal_pin(settings):
    settings.PHONE_NUMBER = NUMBER
    registration = RegistrationFactory(phone_pin="12345678901", session__phone_pin="987654321")
    page = join_page(registration)
    assert NUMBER in page
    assert "123 456 789 01" in page
    assert "987654321" not in page
    assert "987 654 321" not in page


def test_without_a_number_the_join_page_says_nothing_of_telephone(settings):
    settings.PHONE_NUMBER = ""
    registration = RegistrationFactory(phone_pin="12345678901")
    page = join_page(registration)
    assert 'id="dial-in"' not in page
    assert "123 456 789 01" not in page


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (Registration.Status.WAITLISTED, Session.State.SCHEDULED),
        (Registration.Status.CONFIRMED, Session.State.ENDED),
        (Registration.Status.CONFIRMED, Session.State.CANCELLED),
    ],
)
def test_no_pin_where_it_would_let_nobody_in(settings, status, state):
    settings.PHONE_NUMBER = NUMBER
    registration = RegistrationFactory(phone_pin="12345678901", status=status, session__state=state)
    page = join_page(registration)
    assert "123 456 789 01" not in page
    assert 'id="dial-in"' not in page
