"""Guessing PINs: 10,000 random wrong PINs never let anyone in, and the per-number
throttling holds.

How likely is a lucky guess? A session PIN is 9 random digits, unique among the sessions
that are not over, so one random 9-digit guess opens *some* session with probability
N / 10⁹ for N open sessions (a personal PIN: R / 10¹¹ for R confirmed registrations of open
sessions). The throttling (`ANTENNE_RATE_LIMIT_PIN`, 10 wrong PINs per calling number per
15 minutes) allows one number 10 × 96 = 960 guesses a day: with 1,000 open sessions that is
a chance of about 960 × 1,000 / 10⁹ ≈ 1 in 1,000 per number and per day, and 1 in 10⁵ per
day with 10 open sessions. The guesses here are drawn apart from the real PINs, so the
test is deterministic; what it checks is that nothing *else* than a real PIN (a prefix,
an extension, a neighbour, a PIN of the other kind's length) is accepted, and that a
throttled number is refused even with the right PIN.

Callers with no number at all are counted per bucket of the PIN typed (10 buckets, keyed):
together they get at most 10 × 10 wrong PINs looked at per window (what ten numbers get),
and one of them typing wrong PINs never refuses another's right PIN unless that very PIN's
bucket is full.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings
from django.utils import timezone

from antenne.events.models import Session
from antenne.rooms.models import PhoneCall
from antenne.telephony import services
from tests.factories import RegistrationFactory, SessionFactory
from tests.telephony.calls import call_of, ended, joined
from tests.telephony.softphone import Phone

db = sync_to_async
Outcome = PhoneCall.Outcome

GUESSES = 10_000
NUMBERS = 1_000
LIMIT = 10  # wrong PINs per number and window (the default)
TRIES_PER_CALL = 5  # the voice menu's tries before it hangs up


def _open_sessions() -> tuple[list[Session], set[str]]:
    """A few open sessions (scheduled, green room, live) with registrants, and a closed
    one; the PINs that must let someone in."""
    now = timezone.now()
    sessions = [
        SessionFactory(starts_at=now + timedelta(hours=1)),
        SessionFactory(starts_at=now + timedelta(days=2)),
        SessionFactory(starts_at=now, state=Session.State.GREEN_ROOM),
        SessionFactory(starts_at=now, state=Session.State.LIVE),
    ]
    real = {session.phone_pin for session in sessions}
    for session in sessions:
        for _ in range(5):
            real.add(RegistrationFactory(session=session).phone_pin)
    assert all(len(pin) in (9, 11) for pin in real)
    return sessions, real


def _near_misses(pin: str) -> list[str]:
    """What a caller mistyping (or an attacker guessing around) a real PIN would send."""
    changed = pin[:-1] + str((int(pin[-1]) + 1) % 10)
    return [pin[:-1], pin + "0", pin + "00", "0" + pin, changed, pin[1:], pin[::-1]]


def _wrong_pins(real: set[str]) -> list[str]:
    """`GUESSES` wrong PINs: near misses of every real PIN, then uniformly random digits
    of random lengths from 1 to 14 (with `secrets`), none of them a real PIN."""
    guesses = [miss for pin in sorted(real) for miss in _near_misses(pin) if miss not in real]
    while len(guesses) < GUESSES:
        length = 1 + secrets.randbelow(14)
        guess = f"{secrets.randbelow(10**length):0{length}d}"
        if guess not in real:
            guesses.append(guess)
    guesses = guesses[:GUESSES]
    secrets.SystemRandom().shuffle(guesses)
    return guesses


@pytest.mark.django_db
def test_ten_thousand_random_wrong_pins_let_nobody_in_and_every_number_is_throttled():
    sessions, real = _open_sessions()
    guesses = _wrong_pins(real)
    assert len(guesses) == GUESSES
    assert real.isdisjoint(guesses)
    lengths = {len(guess) for guess in guesses}
    assert lengths == set(range(1, 15))  # every length, the PIN lengths 9 and 11 included

    with override_settings(RATE_LIMIT_PIN=(LIMIT, 900)):
        numbers = [f"+3361{n:07d}" for n in range(NUMBERS)]
        tries = iter(guesses)
        results = []
        last_calls = {}
        for number in numbers:
            key = services.caller_hash(number)
            for _call in range(LIMIT // TRIES_PER_CALL):  # as the IVR does: 5 tries a call
                call = services.start_call(
                    call_id=secrets.token_hex(8), caller=number, codec="PCMA"
                )
                for _try in range(TRIES_PER_CALL):
                    results.append(
                        services.check_pin(call_pk=call.pk, caller_key=key, digits=next(tries))
                    )
            last_calls[number] = call
        assert len(results) == GUESSES
        assert all(result.match is None for result in results)
        assert not any(result.throttled for result in results)  # 10 wrong PINs are allowed

        # Each number is now over its limit: refused, even with the right session PIN.
        right = sessions[0].phone_pin
        for number, call in last_calls.items():
            key = services.caller_hash(number)
            assert services.throttled(key)
            refused = services.check_pin(call_pk=call.pk, caller_key=key, digits=right)
            assert refused == services.PinResult(None, throttled=True), number
        # Every wrong PIN was counted against its number, and only those.
        assert PhoneCall.objects.count() == NUMBERS * LIMIT // TRIES_PER_CALL
        assert set(PhoneCall.objects.values_list("wrong_pins", flat=True)) == {TRIES_PER_CALL}

        # A fresh number with the right PIN gets in; so does a registrant's personal PIN.
        for number, pin, session in [
            ("+33699999998", right, sessions[0]),
            ("+33699999999", sessions[3].registrations.first().phone_pin, sessions[3]),
        ]:
            call = services.start_call(call_id=secrets.token_hex(8), caller=number, codec="PCMU")
            result = services.check_pin(
                call_pk=call.pk, caller_key=services.caller_hash(number), digits=pin
            )
            assert not result.throttled
            assert result.match is not None
            assert result.match.session_id == session.pk


@pytest.mark.django_db
def test_the_throttling_window_holds_until_it_is_over():
    session = SessionFactory(starts_at=timezone.now() + timedelta(hours=1))
    number = "+33612000000"
    key = services.caller_hash(number)
    with override_settings(RATE_LIMIT_PIN=(LIMIT, 900)):
        call = services.start_call(call_id="w-1", caller=number, codec="PCMA")
        for n in range(LIMIT):
            services.check_pin(call_pk=call.pk, caller_key=key, digits=f"{n:09d}")
        assert services.throttled(key)
        for age, refused in [(899, True), (901, False)]:
            PhoneCall.objects.filter(pk=call.pk).update(
                started_at=timezone.now() - timedelta(seconds=age)
            )
            result = services.check_pin(call_pk=call.pk, caller_key=key, digits=session.phone_pin)
            assert result.throttled is refused, age
            assert (result.match is None) is refused, age


# --- Through the gateway, with a softphone -----------------------------------------------


async def _wrong(phone: Phone, count: int) -> None:
    for n in range(count):
        await phone.dial(f"00000000{n}#", gap=0.05)
        await asyncio.sleep(0.3)


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
async def test_a_number_reaching_its_limit_during_a_call_is_refused_there(phones):
    """The limit reached in the middle of a second call: the right PIN typed next is
    refused on that call (`throttled`), and the number's next call is refused at once."""
    session = await db(SessionFactory)(starts_at=timezone.now() + timedelta(hours=1))
    number = "+33700000007"
    with override_settings(RATE_LIMIT_PIN=(7, 900)):
        first = await phones(number=number)
        assert await first.call() == 200
        await _wrong(first, 5)
        assert (await ended(first)).outcome == Outcome.WRONG_PIN

        second = await phones(number=number)
        assert await second.call() == 200
        await _wrong(second, 2)
        await second.dial(session.phone_pin + "#", gap=0.05)
        call = await ended(second)
        assert (call.outcome, call.wrong_pins, call.presence_id) == (Outcome.THROTTLED, 2, None)

        third = await phones(number=number)
        assert await third.call() == 200
        call = await ended(third)
        assert (call.outcome, call.wrong_pins, call.presence_id) == (Outcome.THROTTLED, 0, None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
async def test_parallel_calls_from_one_number_share_its_limit(phones):
    """Three calls at once from one number, 15 wrong PINs typed in parallel: the number
    gets its 10 wrong PINs in all, not 10 per call."""
    await db(SessionFactory)(starts_at=timezone.now() + timedelta(hours=1))
    number = "+33700000008"
    with override_settings(RATE_LIMIT_PIN=(LIMIT, 900)):
        callers = [await phones(number=number) for _ in range(3)]
        for phone in callers:
            assert await phone.call() == 200
        await asyncio.gather(*(_wrong(phone, TRIES_PER_CALL) for phone in callers))
        calls = [await ended(phone) for phone in callers]
    assert sum(call.wrong_pins for call in calls) == LIMIT
    assert Outcome.THROTTLED in {call.outcome for call in calls}
    assert all(call.presence_id is None for call in calls)


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
async def test_one_over_long_entry_counts_as_one_wrong_pin(phones):
    await db(SessionFactory)(starts_at=timezone.now() + timedelta(hours=1))
    phone = await phones(number="+33700000009")
    assert await phone.call() == 200
    await phone.dial("12345678901234#", gap=0.05)  # 14 digits, then #
    await asyncio.sleep(2)
    call = await db(call_of)(phone)
    assert call.wrong_pins == 1


# --- Callers with no number --------------------------------------------------------------


def _hidden_wrong_pins(count: int, avoid: set[str], real: set[str]) -> list[str]:
    """`count` random wrong PINs of the real PINs' lengths, none in the buckets of `avoid`."""
    buckets = {services.pin_bucket(pin) for pin in avoid}
    guesses: list[str] = []
    while len(guesses) < count:
        length = secrets.choice((9, 11))
        guess = f"{secrets.randbelow(10**length):0{length}d}"
        if guess not in real and services.pin_bucket(guess) not in buckets:
            guesses.append(guess)
    return guesses


@pytest.mark.django_db
def test_hidden_callers_never_lock_out_another_hidden_caller_with_the_right_pin():
    """The audit's attack: callers with a withheld number type wrong PINs (far more than
    the limit that used to lock every hidden caller out); a hidden caller with the right
    PIN still gets in, at once. Only a PIN whose own bucket is full is refused."""
    sessions, real = _open_sessions()
    right = sessions[0].phone_pin
    personal = sessions[3].registrations.first().phone_pin
    with override_settings(RATE_LIMIT_PIN=(LIMIT, 900)):
        key = services.caller_hash("anonymous")
        for guess in _hidden_wrong_pins(20 * LIMIT, {right, personal}, real):
            call = services.start_call(
                call_id=secrets.token_hex(8), caller="anonymous", codec="PCMA"
            )
            result = services.check_pin(call_pk=call.pk, caller_key=key, digits=guess, hidden=True)
            assert result.match is None
        for pin, session in [(right, sessions[0]), (personal, sessions[3])]:
            call = services.start_call(call_id=secrets.token_hex(8), caller="", codec="PCMU")
            result = services.check_pin(call_pk=call.pk, caller_key=key, digits=pin, hidden=True)
            assert not result.throttled
            assert result.match is not None
            assert result.match.session_id == session.pk

        # That very PIN under attack: its bucket full, it is refused unseen for the window.
        bucket = services.pin_bucket(right)
        near = []
        while len(near) < LIMIT:
            guess = f"{secrets.randbelow(10**9):09d}"
            if guess not in real and services.pin_bucket(guess) == bucket:
                near.append(guess)
        for guess in near:
            services.check_pin(call_pk=call.pk, caller_key=key, digits=guess, hidden=True)
        refused = services.check_pin(call_pk=call.pk, caller_key=key, digits=right, hidden=True)
        assert refused == services.PinResult(None, throttled=True)


@pytest.mark.django_db
def test_hidden_callers_together_get_a_bounded_number_of_guesses():
    """10,000 wrong PINs from callers with no number: none lets anyone in, and at most
    HIDDEN_PIN_BUCKETS × the limit of them were even looked at."""
    _sessions, real = _open_sessions()
    guesses = _wrong_pins(real)
    with override_settings(RATE_LIMIT_PIN=(LIMIT, 900)):
        key = services.caller_hash("anonymous")
        call = services.start_call(call_id="hidden-1", caller="anonymous", codec="PCMA")
        results = [
            services.check_pin(call_pk=call.pk, caller_key=key, digits=guess, hidden=True)
            for guess in guesses
        ]
    assert all(result.match is None for result in results)
    looked_at = sum(not result.throttled for result in results)
    assert looked_at <= services.HIDDEN_PIN_BUCKETS * LIMIT
    assert looked_at >= LIMIT  # every bucket is used: the guesses spread over them


def test_only_callers_with_no_number_at_all_are_hidden():
    assert services.throttle_identity("+33612345678") == "+33612345678"
    assert services.throttle_identity("anonymous", "+33612345678") == "+33612345678"
    assert services.throttle_identity("0612345678", "+33699999999") == "0612345678"
    for caller in ("anonymous", "", "restricted", "12", "tester"):
        assert services.throttle_identity(caller) == ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
async def test_hidden_callers_wrong_pins_do_not_refuse_a_hidden_caller_with_the_right_pin(phones):
    """Through the gateway: two calls with a withheld number type the limit's wrong PINs
    (which used to refuse every hidden caller for 15 minutes); the next hidden caller is
    not refused and joins with the right PIN."""
    session = await db(SessionFactory)(starts_at=timezone.now() + timedelta(hours=1))
    with override_settings(RATE_LIMIT_PIN=(LIMIT, 900)):
        for _attacker in range(LIMIT // TRIES_PER_CALL):
            attacker = await phones(number="anonymous")
            assert await attacker.call() == 200
            await _wrong(attacker, TRIES_PER_CALL)
            assert (await ended(attacker)).outcome == Outcome.WRONG_PIN
        innocent = await phones(number="anonymous")
        assert await innocent.call() == 200
        await asyncio.sleep(0.3)
        await innocent.dial(session.phone_pin + "#", gap=0.05)
        call = await joined(innocent)
    assert call.session_id == session.pk
    assert call.caller_masked == "••"


@pytest.mark.django_db(transaction=True)
@pytest.mark.e2e
async def test_a_withheld_number_the_trunk_asserts_is_throttled_as_that_number(phones):
    """A trunk sends the real number in P-Asserted-Identity when the caller withholds it:
    wrong PINs count against that number (still shown masked as `••`), and other hidden
    callers are not affected."""
    session = await db(SessionFactory)(starts_at=timezone.now() + timedelta(hours=1))
    with override_settings(RATE_LIMIT_PIN=(TRIES_PER_CALL, 900)):
        first = await phones(number="anonymous", asserted="+33700000011")
        assert await first.call() == 200
        await _wrong(first, TRIES_PER_CALL)
        assert (await ended(first)).caller_masked == "••"
        again = await phones(number="anonymous", asserted="+33700000011")
        assert await again.call() == 200
        call = await ended(again)
        assert (call.outcome, call.wrong_pins) == (Outcome.THROTTLED, 0)
        other = await phones(number="anonymous")
        assert await other.call() == 200
        await asyncio.sleep(0.3)
        await other.dial(session.phone_pin + "#", gap=0.05)
        assert (await joined(other)).session_id == session.pk
