"""Personal telephone PINs (11 digits, unique for good, so that a call made with one counts
as that person's attendance) and the look-up of what a caller typed: a session's PIN or a
registrant's."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from antenne.events.models import SESSION_PIN_DIGITS, Session
from antenne.events.pins import OPEN_STATES, DialIn, draw, grouped, normalize
from antenne.registrations.models import PERSONAL_PIN_DIGITS, Registration


@dataclass(frozen=True)
class PinMatch:
    session_id: int
    registration_id: int | None


def new_personal_pin() -> str:
    """Eleven random digits no registration uses."""
    return draw(PERSONAL_PIN_DIGITS, Registration.objects.all())


def find_by_pin(digits: str) -> PinMatch | None:
    """The open session (9 digits) or confirmed registration of an open session (11 digits)
    a PIN lets in; None for anything else, whatever the input."""
    pin = normalize(digits)
    if pin is None:
        return None
    if len(pin) == SESSION_PIN_DIGITS:
        session_id = (
            Session.objects.filter(phone_pin=pin, state__in=OPEN_STATES)
            .values_list("pk", flat=True)
            .first()
        )
        return PinMatch(session_id=session_id, registration_id=None) if session_id else None
    if len(pin) == PERSONAL_PIN_DIGITS:
        row = (
            Registration.objects.filter(
                phone_pin=pin,
                status=Registration.Status.CONFIRMED,
                session__state__in=OPEN_STATES,
            )
            .values_list("session_id", "pk")
            .first()
        )
        return PinMatch(session_id=row[0], registration_id=row[1]) if row else None
    return None


def dial_in_for_registration(registration: Registration) -> DialIn | None:
    """The number and personal PIN a registrant is shown: only when Antenne has a telephone
    number and the person is confirmed (a waiting list PIN would let nobody in)."""
    if (
        not settings.PHONE_NUMBER
        or not registration.phone_pin
        or registration.status != Registration.Status.CONFIRMED
    ):
        return None
    return DialIn(number=str(settings.PHONE_NUMBER), pin=grouped(registration.phone_pin))
