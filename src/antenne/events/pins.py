"""Telephone dial-in PINs: the sessions' own, and what every PIN shares.

Each session has a 9-digit PIN, unique among the sessions that are not over (the database
refuses a second open session with the same PIN; an ended or cancelled session's PIN may be
given again). Each registration has its own 11-digit PIN, unique for good, so that a call
made with it counts as that person's attendance. The lengths tell them apart: a caller types
either one, followed by #.

PINs are shown grouped by three digits ("123 456 789", "123 456 789 01") and accepted with
or without the spaces (`normalize`). Personal PINs and the look-up of a typed PIN are
`registrations.pins`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from antenne.events.models import SESSION_PIN_DIGITS, Session

OPEN_STATES = (Session.State.SCHEDULED, Session.State.GREEN_ROOM, Session.State.LIVE)
# A random PIN collides with an open session's once in ~10⁶ draws at 1,000 open sessions:
# this many draws in a row means something is wrong with the random source, not bad luck.
MAX_DRAWS = 20


@dataclass(frozen=True)
class DialIn:
    """What a person needs to join by telephone: the number to call and their PIN, grouped
    for reading."""

    number: str
    pin: str


def _digits(count: int) -> str:
    return f"{secrets.randbelow(10**count):0{count}d}"


def draw(count: int, taken: QuerySet[Any]) -> str:
    for _attempt in range(MAX_DRAWS):
        candidate = _digits(count)
        if not taken.filter(phone_pin=candidate).exists():
            return candidate
    raise RuntimeError(f"no free {count}-digit PIN after {MAX_DRAWS} draws")


def new_session_pin() -> str:
    """Nine random digits no open session uses (the database constraint is the backstop)."""
    return draw(SESSION_PIN_DIGITS, Session.objects.filter(state__in=OPEN_STATES))


def normalize(typed: object) -> str | None:
    """The digits of a PIN as someone typed or read it ("123 456 789" → "123456789"), or
    None when it holds anything but ASCII digits and spaces."""
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    digits = typed.replace(" ", "").replace("\u00a0", "")
    if not digits.isascii() or not digits.isdigit():
        return None
    return digits


def grouped(pin: str) -> str:
    """A PIN grouped by three digits for reading: "123 456 789", "123 456 789 01"."""
    return " ".join(pin[i : i + 3] for i in range(0, len(pin), 3))


def dial_in_for_session(session: Session) -> DialIn | None:
    """The number and session PIN shown to staff (for speakers who call in)."""
    if not settings.PHONE_NUMBER or not session.phone_pin:
        return None
    return DialIn(number=str(settings.PHONE_NUMBER), pin=grouped(session.phone_pin))
