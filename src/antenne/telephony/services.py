"""What the gateway writes: a call's row, PIN checks with their throttling, the caller's
attendance in the room, the call's end and metrics. Synchronous (run through
`services.db` by the IVR).

Wrong PINs count against the calling number (or, when it is withheld, the number the trunk
asserts in `P-Asserted-Identity`): a number over `ANTENNE_RATE_LIMIT_PIN` is refused. Callers
with no number at all cannot be told apart, so they share no bucket that one of them could
fill: their wrong PINs count against the *PIN typed*, in one of `HIDDEN_PIN_BUCKETS` buckets
chosen by a keyed hash of it, and a PIN is refused only when its own bucket is full. A right
PIN thus always lets its caller in unless that very PIN's bucket is under attack, while all
hidden callers together still get at most `HIDDEN_PIN_BUCKETS` times the limit wrong PINs per
window."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Sum
from django.utils import timezone

from antenne.core import ratelimit
from antenne.events.models import Session
from antenne.registrations.pins import PinMatch, find_by_pin
from antenne.rooms import stage_media
from antenne.rooms.attendance import touch as touch_presences
from antenne.rooms.models import PhoneCall, Presence, StageFeed

MAX_PIN_DIGITS = 12
HIDDEN_PIN_BUCKETS = 10
P = ParamSpec("P")
R = TypeVar("R")


def db(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`function` run on the thread for database work as a request's code is: its
    connection checked before and released after (`CONN_MAX_AGE`), as Django's request
    signals do for views. The gateway runs for weeks without requests: a connection broken
    by a database restart is replaced, and none is held between calls."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run)


OPEN_STATES = (Session.State.SCHEDULED, Session.State.GREEN_ROOM, Session.State.LIVE)


def caller_hash(number: str) -> str:
    """The throttling key of a calling number: keyed, so the table does not list numbers."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, b"antenne.telephony.caller:" + number.encode(), hashlib.sha256).hexdigest()


def is_number(value: str) -> bool:
    """Whether a caller's user part is a number one can throttle: at least four digits
    (`anonymous`, `restricted`, an empty or short value, a SIP user name are not)."""
    return sum(ch.isdigit() for ch in value) >= 4


def throttle_identity(caller: str, asserted: str = "") -> str:
    """The number a call's wrong PINs count against: the calling number, else the one the
    trunk asserts (`P-Asserted-Identity`, kept from staff as the caller asked); '' for a
    caller with neither (a hidden caller)."""
    for number in (caller, asserted):
        if is_number(number):
            return number
    return ""


def pin_bucket(pin: str) -> str:
    """The bucket of hidden callers' wrong PINs a typed PIN belongs to: keyed, so nobody can
    aim guesses at the bucket of a PIN they do not know."""
    key = settings.SECRET_KEY.encode()
    digest = hmac.new(key, b"antenne.telephony.pin:" + pin.encode(), hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % HIDDEN_PIN_BUCKETS)


def mask_number(number: str) -> str:
    """A calling number as staff see it: its country prefix and last two digits
    (`+33 •• 42`); a hidden or non-numeric caller is `••`."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 4:
        return "••"
    prefix = ""
    if number.startswith("+"):
        prefix = "+" + digits[:2] + " "
    elif number.startswith("00"):
        prefix = "+" + digits[2:4] + " "
    return f"{prefix}•• {digits[-2:]}"


def start_call(*, call_id: str, caller: str, codec: str, asserted: str = "") -> PhoneCall:
    """A call's row: the number staff see masked (a withheld one stays `••`), and the
    throttling key of `throttle_identity`."""
    return PhoneCall.objects.create(
        call_id=call_id[:200],
        caller_masked=mask_number(caller),
        caller_hash=caller_hash(throttle_identity(caller, asserted) or caller),
        codec=codec,
    )


def throttled(caller_key: str) -> bool:
    """Whether this number typed too many wrong PINs recently (`ANTENNE_RATE_LIMIT_PIN`)."""
    limit, seconds = settings.RATE_LIMIT_PIN
    since = timezone.now() - timedelta(seconds=seconds)
    wrong = PhoneCall.objects.filter(caller_hash=caller_key, started_at__gte=since).aggregate(
        total=Sum("wrong_pins")
    )["total"]
    return int(wrong or 0) >= limit


@dataclass(frozen=True)
class PinResult:
    match: PinMatch | None
    throttled: bool = False


def check_pin(*, call_pk: int, caller_key: str, digits: str, hidden: bool = False) -> PinResult:
    """A PIN typed on call `call_pk`. A wrong one counts against the calling number; a
    number over its limit is refused before its PIN is even looked at. For a `hidden`
    caller (no number), it counts against the PIN's bucket instead, and only a PIN whose
    bucket is full is refused unseen."""
    pin = digits[:MAX_PIN_DIGITS]
    if hidden:
        if pin and ratelimit.exceeded("pin-hidden", pin_bucket(pin), settings.RATE_LIMIT_PIN):
            return PinResult(None, throttled=True)
    elif throttled(caller_key):
        return PinResult(None, throttled=True)
    match = find_by_pin(pin) if pin else None
    if match is None and pin:
        PhoneCall.objects.filter(pk=call_pk).update(wrong_pins=F("wrong_pins") + 1)
        if hidden:
            ratelimit.hit("pin-hidden", pin_bucket(pin), settings.RATE_LIMIT_PIN)
    return PinResult(match)


@dataclass(frozen=True)
class Joined:
    presence_id: int
    session_id: int
    registration_id: int | None
    language: str
    state: str


def join(*, call_pk: int, match: PinMatch) -> Joined | None:
    """The caller enters the session's room: an attendance row (device "phone", their
    registration with a personal PIN). None when the session closed meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        session = (
            Session.objects.select_related("event")
            .filter(pk=match.session_id, state__in=OPEN_STATES)
            .first()
        )
        if session is None:  # the call is still the session's, for its report
            PhoneCall.objects.filter(pk=call_pk).update(session_id=match.session_id)
            return None
        presence = Presence.objects.create(
            session=session,
            registration_id=match.registration_id,
            role=Presence.Role.ATTENDEE,
            device=Presence.Device.PHONE,
            joined_at=now,
            seen_at=now,
        )
        PhoneCall.objects.filter(pk=call_pk).update(
            session=session, presence=presence, joined_at=now
        )
    return Joined(
        presence_id=presence.pk,
        session_id=session.pk,
        registration_id=match.registration_id,
        language=session.event.language,
        state=session.state,
    )


def session_state(session_id: int) -> str | None:
    return Session.objects.filter(pk=session_id).values_list("state", flat=True).first()


def end_call(
    *,
    call_pk: int,
    outcome: str,
    packets_received: int = 0,
    packets_lost: int = 0,
    packets_sent: int = 0,
) -> None:
    """The call is over: its attendance row closes, its outcome and metrics are kept."""
    now = timezone.now()
    with transaction.atomic():
        call = PhoneCall.objects.select_for_update().filter(pk=call_pk).first()
        if call is None:
            return
        if call.presence_id is not None:
            Presence.objects.filter(pk=call.presence_id, left_at__isnull=True).update(
                left_at=now, hand_raised_at=None
            )
            if call.session_id is not None:
                stage_media.end_feeds(session_id=call.session_id, presence_id=call.presence_id)
        PhoneCall.objects.filter(pk=call_pk).update(
            outcome=outcome,
            ended_at=now,
            floor=False,
            packets_received=packets_received,
            packets_lost=packets_lost,
            packets_sent=packets_sent,
        )


def open_floor_feed(*, session_id: int, presence_id: int, engine_feed_id: str) -> int | None:
    """Record the stage feed of a caller given the floor (their voice); None if the
    session is no longer live or the caller left."""
    with transaction.atomic():
        if not Session.objects.filter(pk=session_id, state=Session.State.LIVE).exists():
            return None
        call = (
            PhoneCall.objects.filter(presence_id=presence_id, presence__left_at__isnull=True)
            .only("caller_masked")
            .first()
        )
        if call is None:
            return None
        feed = StageFeed.objects.create(
            session_id=session_id,
            presence_id=presence_id,
            source=StageFeed.Source.CAMERA,
            engine_feed_id=engine_feed_id,
            name=call.caller_masked,
            role=Presence.Role.ATTENDEE,
        )
    return feed.pk


def touch(presence_ids: list[int]) -> int:
    """The heartbeat of this gateway's callers (their rows are not closed as stale)."""
    return touch_presences(presence_ids)
