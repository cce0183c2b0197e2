"""The voice menu end to end on loopback: the real gateway and IVR, a Python softphone
typing DTMF, the database, and the embedded media engine with an aiortc speaker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings
from django.utils import timezone

from antenne.events.models import Session
from antenne.media.signaling import set_engine
from antenne.rooms.models import PhoneCall, Presence
from tests.factories import RegistrationFactory, SessionFactory
from tests.media.conftest import TONE_HZ, Publisher, loopback_ice  # noqa: F401 (fixture)
from tests.telephony.calls import call_of, ended, eventually, joined
from tests.telephony.softphone import dominant_frequency

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

db = sync_to_async


def _session(**kwargs) -> Session:
    return SessionFactory(starts_at=timezone.now() + timedelta(minutes=10), **kwargs)


async def test_wrong_pins_then_the_right_one_then_waiting_until_live_then_goodbye(phones):
    session = await db(_session)()
    phone = await phones()
    assert await phone.call() == 200
    await asyncio.sleep(0.5)
    await phone.dial("000000000#")
    await phone.dial("12#")

    async def two_wrong():
        call = await db(call_of)(phone)
        return call is not None and call.wrong_pins == 2

    await eventually(two_wrong)
    await phone.dial(session.phone_pin + "#")

    call = await joined(phone)
    presence = await db(Presence.objects.get)(pk=call.presence_id)
    assert (presence.device, presence.role, presence.left_at) == ("phone", "attendee", None)
    assert presence.registration_id is None
    assert call.session_id == session.pk
    assert call.caller_masked == "+33 •• 78"
    # Waiting: the caller hears the waiting message and the hold music (not silence).
    before = len(phone.heard)
    await asyncio.sleep(1.0)
    assert len(phone.heard) - before >= 2 * 8000 * 0.8
    assert _rms(phone.heard[before:]) > 300
    # The session ends: goodbye, then the gateway hangs up.
    await db(Session.objects.filter(pk=session.pk).update)(state=Session.State.ENDED)
    call = await ended(phone, 15)
    assert call.outcome == PhoneCall.Outcome.COMPLETED
    assert call.packets_sent > 50
    presence = await db(Presence.objects.get)(pk=call.presence_id)
    assert presence.left_at is not None


async def test_five_wrong_pins_hang_up_and_the_number_is_then_refused(phones):
    await db(_session)()
    with override_settings(RATE_LIMIT_PIN=(5, 900)):
        phone = await phones(number="+33700000001")
        assert await phone.call() == 200
        for attempt in range(5):
            await phone.dial(f"99999999{attempt}#", gap=0.05)
            await asyncio.sleep(0.3)
        await asyncio.wait_for(phone.bye.wait(), 20)
        call = await db(call_of)(phone)
        assert call.wrong_pins == 5
        assert call.outcome == PhoneCall.Outcome.WRONG_PIN
        # The same number again: refused before any PIN (and its right PIN would not help).
        again = await phones(number="+33700000001")
        assert await again.call() == 200
        await asyncio.wait_for(again.bye.wait(), 15)
        refused = await db(call_of)(again)
        assert refused.outcome == PhoneCall.Outcome.THROTTLED
        assert refused.presence_id is None
        # Another number is not affected.
        other = await phones(number="+33700000002")
        assert await other.call() == 200
        await asyncio.sleep(0.3)
        assert not other.bye.is_set()


async def test_a_personal_pin_attributes_the_call_to_its_registrant(phones):
    session = await db(_session)()
    registration = await db(RegistrationFactory)(session=session, phone_pin="31415926535")
    phone = await phones()
    assert await phone.call() == 200
    await phone.dial(registration.phone_pin + "#")

    call = await joined(phone)
    presence = await db(Presence.objects.get)(pk=call.presence_id)
    assert presence.registration_id == registration.pk
    assert presence.device == "phone"


async def test_no_pin_typed_hangs_up(phones, monkeypatch):
    monkeypatch.setattr("antenne.telephony.ivr.FIRST_DIGIT_WAIT", 0.3)
    phone = await phones()
    assert await phone.call() == 200
    await asyncio.wait_for(phone.bye.wait(), 90)
    call = await db(call_of)(phone)
    assert call.outcome == PhoneCall.Outcome.NO_PIN


async def test_live_callers_hear_the_speaker_through_the_embedded_engine(
    phones,
    loopback_ice,  # noqa: F811
):
    from antenne.media.embedded import EmbeddedEngine

    engine = EmbeddedEngine()
    set_engine(engine)
    # Audio only: a 640x480 VP8 encoder in this same process starves its event loop on a
    # loaded machine (stalls the callers would hear as loss); the camera case, video
    # answered inactive, is in tests/e2e/test_phone_media.py.
    publisher = Publisher(video=False)
    try:
        session = await db(_session)(state=Session.State.LIVE)
        await publisher.publish(engine, "p424242", room=session.pk)
        listeners = [
            await phones(number=f"+3361000000{n}", codec=codec)
            for n, codec in enumerate(["PCMU", "PCMA", "PCMU"])
        ]
        for phone in listeners:
            assert await phone.call() == 200
            await phone.dial(session.phone_pin + "#")

        for phone in listeners:
            await joined(phone)
        await asyncio.sleep(6)  # the "live" prompt, then the stage
        for phone in listeners:
            tail = bytes(phone.heard[-8000 * 2 :])  # the last second
            frequency, share = dominant_frequency(tail)
            assert abs(frequency - TONE_HZ) < 15, (frequency, share)
            assert share > 0.5
            assert phone.lost == 0
        # One subscription for the session, whatever the number of callers.
        room = engine._rooms[session.pk]
        assert len(room.subscriptions) == 1
    finally:
        await publisher.close()
        await engine.close()
        set_engine(None)


def _rms(pcm: bytes | bytearray) -> float:
    from array import array

    samples = array("h", bytes(pcm[: len(pcm) - len(pcm) % 2]))
    return (sum(s * s for s in samples) / max(len(samples), 1)) ** 0.5


async def test_star_one_raises_and_lowers_the_hand_and_the_animator_gives_the_floor(
    phones,
    loopback_ice,  # noqa: F811
):
    from antenne.accounts.models import Role
    from antenne.media.embedded import EmbeddedEngine
    from antenne.rooms.models import StageFeed
    from antenne.rooms.phone import set_floor
    from antenne.rooms.services import Participant
    from tests.factories import UserFactory

    engine = EmbeddedEngine()
    set_engine(engine)
    publisher = Publisher(video=False)
    try:
        animator = await db(UserFactory)(role=Role.ANIMATOR)
        session = await db(_session)(state=Session.State.LIVE, animators=[animator])
        await publisher.publish(engine, "p515151", room=session.pk)
        phone = await phones()
        assert await phone.call() == 200
        await phone.dial(session.phone_pin + "#")

        call = await joined(phone)

        async def hand():
            return (await db(Presence.objects.get)(pk=call.presence_id)).hand_raised_at

        await phone.dial("*1")
        await eventually(hand)
        await phone.dial("*1")

        async def lowered():
            return await hand() is None

        await eventually(lowered)
        await phone.dial("1*9")  # not the command: nothing happens
        await asyncio.sleep(0.5)
        assert await hand() is None

        staff = Participant(session_id=session.pk, role="staff", name="Ana", user_id=animator.pk)
        await db(set_floor)(participant=staff, presence_id=call.presence_id, floor=True)
        speaking = asyncio.create_task(phone.speak_tone(1000, 4.0))

        async def on_stage():
            feeds = await db(list)(
                StageFeed.objects.filter(presence_id=call.presence_id, ended_at__isnull=True)
            )
            return (
                feeds
                if feeds
                and feeds[0].engine_feed_id
                in {f.feed_id for f in await engine.list_feeds(session.pk)}
                else None
            )

        [feed] = await eventually(on_stage)
        assert feed.name == "+33 •• 78"
        await db(set_floor)(participant=staff, presence_id=call.presence_id, floor=False)

        async def off_stage():
            ended = await db(StageFeed.objects.get)(pk=feed.pk)
            listed = {f.feed_id for f in await engine.list_feeds(session.pk)}
            return ended.ended_at is not None and feed.engine_feed_id not in listed

        await eventually(off_stage)
        speaking.cancel()
    finally:
        await publisher.close()
        await engine.close()
        set_engine(None)


async def test_the_floor_given_before_the_broadcast_is_not_kept(phones):
    from antenne.accounts.models import Role
    from antenne.rooms.phone import set_floor
    from antenne.rooms.services import Participant
    from tests.factories import UserFactory

    animator = await db(UserFactory)(role=Role.ANIMATOR)
    session = await db(_session)(animators=[animator])
    phone = await phones()
    assert await phone.call() == 200
    await phone.dial(session.phone_pin + "#")

    call = await joined(phone)
    staff = Participant(session_id=session.pk, role="staff", name="Ana", user_id=animator.pk)
    await db(set_floor)(participant=staff, presence_id=call.presence_id, floor=True)

    async def taken_back():
        return not (await db(call_of)(phone)).floor

    # Waiting, not live: nothing can be published, and the console is told so.
    await eventually(taken_back)
    assert not phone.bye.is_set()
