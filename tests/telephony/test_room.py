"""The room side of telephone dial-in (`antenne.rooms.phone`): staff give a caller the
floor or take it back — the gateway hears it on the session's telephony group, the room's
staff on the room's group, both after commit —, the gateway raises and lowers a caller's
hand as the browser does, and the people list shows callers by their masked number."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from antenne.core.exceptions import AntenneError
from antenne.core.models import AuditEntry
from antenne.events.models import Speaker
from antenne.rooms import hands, people, push
from antenne.rooms import phone as phone_room
from antenne.rooms.models import Mute, PhoneCall, Presence, RoomSettings
from antenne.rooms.moderation import stage_target
from antenne.rooms.participants import Participant
from tests.factories import RegistrationFactory, SessionFactory, UserFactory

NUMBER = "+33 6 •• •• •• 42"


def phone_caller(
    session, *, registration=None, number=NUMBER, floor=False, hand=False, left=False
) -> Presence:
    """A caller whose PIN the gateway accepted: an attendance row (device phone) and its
    call, as the gateway leaves them."""
    now = timezone.now()
    presence = Presence.objects.create(
        session=session,
        registration=registration,
        role=Presence.Role.ATTENDEE,
        device=Presence.Device.PHONE,
        joined_at=now,
        seen_at=now,
        hand_raised_at=now if hand else None,
        left_at=now if left else None,
    )
    PhoneCall.objects.create(
        session=session,
        presence=presence,
        caller_masked=number,
        call_id=f"call-{presence.pk}@gateway",
        floor=floor,
        joined_at=now,
    )
    return presence


def staff_of(session, user) -> Participant:
    return Participant(session_id=session.pk, role="staff", name=user.full_name, user_id=user.pk)


@pytest.fixture
def room(animator):
    """A session starting in 10 minutes: its room is open."""
    return SessionFactory(animators=[animator], starts_at=timezone.now() + timedelta(minutes=10))


def refused(code: str, act) -> None:
    with pytest.raises(AntenneError) as error:
        act()
    assert error.value.code == code


# -- the floor: rules ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_sessions_staff_give_the_floor(room, animator):
    caller = phone_caller(room)
    alix = RegistrationFactory(session=room)
    attendee = Participant(session_id=room.pk, role="attendee", name="A", registration_id=alix.pk)
    guest = Speaker.objects.create(session=room, email="g@x.example", name="Invitée")
    speaker = Participant(session_id=room.pk, role="speaker", name="I", speaker_id=guest.pk)
    # Staff of the room once, no longer an animator of the session.
    removed = staff_of(room, UserFactory())
    for who, code in (
        (attendee, "permission.not_staff"),
        (speaker, "permission.not_staff"),
        (removed, "permission.not_animator"),
    ):
        refused(
            code,
            lambda who=who: phone_room.set_floor(
                participant=who, presence_id=caller.pk, floor=True
            ),
        )
    assert PhoneCall.objects.get(presence=caller).floor is False
    assert not AuditEntry.objects.filter(action__startswith="rooms.phone").exists()


@pytest.mark.django_db
def test_the_floor_is_for_callers_in_this_room_only(room, animator):
    staff = staff_of(room, animator)
    browser = Presence.objects.create(session=room, device="mobile", joined_at=timezone.now())
    # A phone row without its call (not a caller the gateway holds).
    bare = Presence.objects.create(session=room, device="phone", joined_at=timezone.now())
    elsewhere = phone_caller(SessionFactory(animators=[animator]))
    hung_up = phone_caller(room, left=True)

    def floor(presence_id):
        return lambda: phone_room.set_floor(participant=staff, presence_id=presence_id, floor=True)

    refused("phone.not_a_caller", floor(browser.pk))
    refused("phone.not_a_caller", floor(bare.pk))
    refused("room.not_found", floor(elsewhere.pk))
    refused("room.not_found", floor(10**9))
    refused("phone.hung_up", floor(hung_up.pk))
    assert not PhoneCall.objects.filter(floor=True).exists()


@pytest.mark.django_db
def test_giving_the_floor_lowers_the_hand_and_is_audited_once_per_change(room, animator):
    staff = staff_of(room, animator)
    caller = phone_caller(room, hand=True)

    for _ in range(2):  # the second time changes nothing
        given = phone_room.set_floor(participant=staff, presence_id=caller.pk, floor=True)
        assert given == {"presence_id": caller.pk, "floor": True}
    call = PhoneCall.objects.get(presence=caller)
    assert call.floor is True
    caller.refresh_from_db()
    assert caller.hand_raised_at is None
    phone_room.set_floor(participant=staff, presence_id=caller.pk, floor=False)
    assert PhoneCall.objects.get(presence=caller).floor is False

    entries = AuditEntry.objects.filter(action__startswith="rooms.phone").order_by("id")
    assert [(e.action, e.actor_id, e.object_id, e.data) for e in entries] == [
        (
            "rooms.phone.floor_given",
            animator.pk,
            str(room.pk),
            {"presence_id": caller.pk, "phone_call_id": call.pk},
        ),
        (
            "rooms.phone.floor_taken",
            animator.pk,
            str(room.pk),
            {"presence_id": caller.pk, "phone_call_id": call.pk},
        ),
    ]


@pytest.mark.django_db
def test_nothing_is_sent_for_a_change_that_rolls_back(
    room, animator, django_capture_on_commit_callbacks
):
    from django.db import transaction

    staff = staff_of(room, animator)
    caller = phone_caller(room, hand=True)
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                phone_room.set_floor(participant=staff, presence_id=caller.pk, floor=True)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert PhoneCall.objects.get(presence=caller).floor is False


# -- the floor: who is told, after commit ----------------------------------------------------------


async def listen(*names: str):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for name in names:
        await layer.group_add(name, channel)
    return layer, channel


async def received(layer, channel, wait=0.5) -> list[dict]:
    """Every message on `channel` until nothing more comes for `wait` seconds."""
    out = []
    while True:
        try:
            out.append(await asyncio.wait_for(layer.receive(channel), wait))
        except TimeoutError:
            return out


def room_events(messages):
    return [(m["event"], m["data"], m["level"]) for m in messages if m["type"] == "room.event"]


@pytest.mark.django_db(transaction=True)
async def test_the_gateway_and_the_rooms_staff_hear_of_the_floor(room, animator):
    caller = await sync_to_async(phone_caller)(room, hand=True)
    staff = staff_of(room, animator)
    layer, gateway = await listen(push.telephony_group(room.pk))
    _, console = await listen(push.room_group(room.pk))
    _, other_session = await listen(push.telephony_group(room.pk + 1))

    await sync_to_async(phone_room.set_floor)(participant=staff, presence_id=caller.pk, floor=True)

    assert await received(layer, gateway) == [
        {"type": "phone.floor", "presence_id": caller.pk, "floor": True}
    ]
    who = {
        "registration_id": None,
        "name": None,
        "presence_id": caller.pk,
        "phone": {"number": NUMBER},
    }
    # Backstage (level 1): speakers and staff; the hand went down with the floor.
    assert room_events(await received(layer, console)) == [
        ("phone.floor", {**who, "floor": True}, 1),
        ("hand.lowered", who, 1),
    ]
    assert await received(layer, other_session, wait=0.1) == []

    # Again: nothing changes, nobody is told. Then the floor is taken back.
    await sync_to_async(phone_room.set_floor)(participant=staff, presence_id=caller.pk, floor=True)
    assert await received(layer, gateway, wait=0.2) == []
    await sync_to_async(phone_room.set_floor)(participant=staff, presence_id=caller.pk, floor=False)
    assert await received(layer, gateway) == [
        {"type": "phone.floor", "presence_id": caller.pk, "floor": False}
    ]
    assert room_events(await received(layer, console)) == [
        ("phone.floor", {**who, "floor": False}, 1)
    ]


# -- hands from the telephone -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_caller_raises_and_lowers_a_hand_as_a_browser_does(room):
    caller = await sync_to_async(phone_caller)(room)
    await sync_to_async(RoomSettings.objects.create)(session=room, show_attendee_names=True)
    layer, console = await listen(push.room_group(room.pk))
    who = {
        "registration_id": None,
        "name": None,
        "presence_id": caller.pk,
        "phone": {"number": NUMBER},
    }

    assert await sync_to_async(phone_room.phone_hand)(presence_id=caller.pk, raised=True) is True
    await sync_to_async(caller.refresh_from_db)()
    assert caller.hand_raised_at is not None
    assert room_events(await received(layer, console)) == [
        ("hand.raised", who, 1),
        ("hands", {"count": 1}, 0),  # everyone: the room shows names
    ]
    # Raising again: still raised, nobody told twice.
    assert await sync_to_async(phone_room.phone_hand)(presence_id=caller.pk, raised=True) is True
    assert await received(layer, console, wait=0.2) == []

    assert await sync_to_async(phone_room.phone_hand)(presence_id=caller.pk, raised=False) is False
    await sync_to_async(caller.refresh_from_db)()
    assert caller.hand_raised_at is None
    assert room_events(await received(layer, console)) == [
        ("hand.lowered", who, 1),
        ("hands", {"count": 0}, 0),
    ]


@pytest.mark.django_db(transaction=True)
async def test_a_registrants_hand_is_one_whether_by_telephone_or_browser(room):
    alix = await sync_to_async(RegistrationFactory)(session=room, first_name="Alix")
    browser = await sync_to_async(Presence.objects.create)(
        session=room, registration=alix, joined_at=timezone.now()
    )
    caller = await sync_to_async(phone_caller)(room, registration=alix)
    layer, console = await listen(push.room_group(room.pk))
    who = {
        "registration_id": alix.pk,
        "name": "Alix",
        "presence_id": caller.pk,
        "phone": {"number": NUMBER},
    }

    assert await sync_to_async(phone_room.phone_hand)(presence_id=caller.pk, raised=True) is True
    assert room_events(await received(layer, console)) == [("hand.raised", who, 1)]
    # Lowered by telephone: down on every connection, and the attendee's pages told.
    await sync_to_async(Presence.objects.filter(pk=browser.pk).update)(
        hand_raised_at=timezone.now()
    )
    assert await sync_to_async(phone_room.phone_hand)(presence_id=caller.pk, raised=False) is False
    assert not await sync_to_async(
        Presence.objects.filter(registration=alix, hand_raised_at__isnull=False).exists
    )()
    assert room_events(await received(layer, console)) == [
        ("hand.lowered", who, 1),
        ("attendee.state", {"target": stage_target(alix.pk), "hand": False}, 0),
    ]


@pytest.mark.django_db
def test_the_gateways_hand_follows_the_rooms_rules(room):
    refused(
        "phone.hung_up",
        lambda: phone_room.phone_hand(presence_id=phone_caller(room, left=True).pk, raised=True),
    )
    browser = Presence.objects.create(session=room, joined_at=timezone.now())
    refused(
        "phone.not_a_caller", lambda: phone_room.phone_hand(presence_id=browser.pk, raised=True)
    )
    refused("room.not_found", lambda: phone_room.phone_hand(presence_id=10**9, raised=True))
    # A muted registrant cannot raise it by telephone either.
    alix = RegistrationFactory(session=room)
    Mute.objects.create(session=room, registration=alix)
    muted = phone_caller(room, registration=alix)
    refused("room.muted", lambda: phone_room.phone_hand(presence_id=muted.pk, raised=True))
    # Once the session is over, no more hands.
    caller = phone_caller(room)
    room.state = "ended"
    room.save(update_fields=["state"])
    refused("room.closed", lambda: phone_room.phone_hand(presence_id=caller.pk, raised=True))
    assert phone_room.phone_hand(presence_id=caller.pk, raised=False) is False


@pytest.mark.django_db
def test_each_caller_without_a_pin_of_theirs_counts_as_one_hand(room):
    phone_caller(room, hand=True)
    phone_caller(room, hand=True, number="+33 1 •• •• •• 07")
    alix = RegistrationFactory(session=room)
    now = timezone.now()
    for _ in range(2):  # one person on two devices: one hand
        Presence.objects.create(session=room, registration=alix, joined_at=now, hand_raised_at=now)
    phone_caller(room, hand=True, left=True)  # hung up: not in the room
    assert hands.hands_count(room.pk) == 3


# -- the people list ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_people_list_shows_callers_by_their_masked_number(
    room, animator, django_assert_num_queries
):
    anonymous = phone_caller(room, hand=True)
    alix = RegistrationFactory(session=room, first_name="Alix")
    personal = phone_caller(room, registration=alix, number="+33 1 •• •• •• 07", floor=True)
    browser = Presence.objects.create(session=room, registration=alix, joined_at=timezone.now())
    phone_caller(room, left=True)  # hung up

    with django_assert_num_queries(1):
        listed = people.connected_people(participant=staff_of(room, animator))
    by_id = {p["presence_id"]: p for p in listed["people"]}
    assert set(by_id) == {anonymous.pk, personal.pk, browser.pk}
    first = by_id[anonymous.pk]
    assert (first["name"], first["registration_id"], first["device"]) == (None, None, "phone")
    assert first["phone"] == {"number": NUMBER, "floor": False}
    assert first["hand_raised_at"] is not None
    assert by_id[personal.pk]["name"] == "Alix"
    assert by_id[personal.pk]["phone"] == {"number": "+33 1 •• •• •• 07", "floor": True}
    assert by_id[browser.pk]["phone"] is None
