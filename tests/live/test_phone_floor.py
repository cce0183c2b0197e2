"""`phone.floor` through the real ASGI application: staff give a telephone caller the floor
and take it back; speakers and staff see it backstage, attendees never; the gateway hears it
on the session's telephony group; every other role is refused, and so are loose payloads.
The people list shows the caller by their masked number."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from antenne.rooms import push
from antenne.rooms.models import PhoneCall, Presence
from tests.live.helpers import call, held
from tests.live.test_moderation import close, join_attendee, join_speaker, join_staff, pushes
from tests.telephony.test_room import NUMBER, phone_caller

pytestmark = pytest.mark.django_db(transaction=True)


async def test_staff_give_a_caller_the_floor_and_the_gateway_hears_it(room, animator):
    caller = await sync_to_async(phone_caller)(room, hand=True)
    layer = get_channel_layer()
    gateway = await layer.new_channel()
    await layer.group_add(push.telephony_group(room.pk), gateway)
    attendee, _ = await join_attendee(room)
    speaker = await join_speaker(room)
    staff = await join_staff(room, animator)

    listed = await call(staff, "people.list", {}, "p")
    [row] = [p for p in listed[2]["people"] if p["device"] == "phone"]
    assert (row["name"], row["phone"]) == (None, {"number": NUMBER, "floor": False})
    assert row["hand_raised_at"] is not None

    given = await call(staff, "phone.floor", {"presence_id": caller.pk, "floor": True}, "f")
    assert given == ["success", "f", {"presence_id": caller.pk, "floor": True}]
    message = await asyncio.wait_for(layer.receive(gateway), 2)
    assert message == {"type": "phone.floor", "presence_id": caller.pk, "floor": True}
    who = {
        "registration_id": None,
        "name": None,
        "presence_id": caller.pk,
        "phone": {"number": NUMBER},
    }
    for backstage in (staff, speaker):
        # What reached staff before the action's reply (the room's tick may come first) too.
        early = [json.loads(text) for text in held(backstage)]
        seen = await pushes(backstage) + [
            ("backstage", event, data)
            for kind, body in early
            if kind == "backstage"
            for event, data in body["events"]
        ]
        assert ("backstage", "phone.floor", {**who, "floor": True}) in seen
        assert ("backstage", "hand.lowered", who) in seen
    assert not [p for p in await pushes(attendee) if p[0] == "backstage"]

    listed = await call(staff, "people.list", {}, "p2")
    [row] = [p for p in listed[2]["people"] if p["device"] == "phone"]
    assert row["phone"]["floor"] is True
    assert row["hand_raised_at"] is None

    taken = await call(staff, "phone.floor", {"presence_id": caller.pk, "floor": False}, "t")
    assert taken[2] == {"presence_id": caller.pk, "floor": False}
    message = await asyncio.wait_for(layer.receive(gateway), 2)
    assert message == {"type": "phone.floor", "presence_id": caller.pk, "floor": False}
    assert (await sync_to_async(PhoneCall.objects.get)(presence=caller)).floor is False
    await close(attendee, speaker, staff)


async def test_phone_floor_is_for_staff_and_callers_only(room, animator):
    caller = await sync_to_async(phone_caller)(room)
    attendee, registration = await join_attendee(room)
    speaker = await join_speaker(room)
    staff = await join_staff(room, animator)
    payload = {"presence_id": caller.pk, "floor": True}

    for ws in (attendee, speaker):
        assert (await call(ws, "phone.floor", payload, "x"))[2]["code"] == "permission.denied"
    for loose in (
        {"presence_id": str(caller.pk), "floor": True},
        {"presence_id": caller.pk, "floor": 1},
        {"presence_id": caller.pk},
        {**payload, "extra": 1},
    ):
        answer = await call(staff, "phone.floor", loose, "l")
        assert answer[2]["code"] == "protocol.invalid_payload", loose
    browser = await sync_to_async(Presence.objects.get)(registration=registration)
    not_a_caller = await call(staff, "phone.floor", {"presence_id": browser.pk, "floor": True}, "b")
    assert not_a_caller[2]["code"] == "phone.not_a_caller"
    assert not_a_caller[2]["message"]
    assert (await sync_to_async(PhoneCall.objects.get)(presence=caller)).floor is False
    await close(attendee, speaker, staff)
