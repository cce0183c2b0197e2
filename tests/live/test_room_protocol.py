"""The live room's WebSocket protocol, driven through the real ASGI application: joining with
each kind of credential, the envelope and its errors, chat with moderation and backstage,
attendance rows, coalesced frames with resync, and slow clients dropped."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from antenne.accounts.models import hash_secret
from antenne.events.models import Speaker
from antenne.live import hub
from antenne.rooms.models import ChatMessage, Presence
from tests.factories import RegistrationFactory, SessionFactory, UserFactory
from tests.live.helpers import call, connect, login_cookie, next_frame, revoke_quietly

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_attendee_joins_with_their_link_and_is_counted(room):
    registration = await sync_to_async(RegistrationFactory)(session=room, first_name="Alix")
    ws = await connect(room.pk)
    reply = await call(ws, "join", {"join_key": registration.join_key, "device": "mobile"})
    assert reply[0] == "success"
    assert reply[2]["role"] == "attendee"
    assert reply[2]["snapshot"]["state"] == "scheduled"
    presence = await sync_to_async(Presence.objects.get)(registration=registration)
    assert (presence.device, presence.left_at) == ("mobile", None)
    await ws.disconnect()
    await sync_to_async(presence.refresh_from_db)()
    assert presence.left_at is not None


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"join_key": "nope"}, "join.invalid_link"),
        ({}, "join.unauthenticated"),
        ({"join_key": "x", "admin": True}, "protocol.invalid_payload"),
        ({"device": "toaster"}, "protocol.invalid_payload"),
    ],
)
async def test_bad_joins_are_refused_with_a_code(room, payload, code):
    ws = await connect(room.pk)
    reply = await call(ws, "join", payload)
    assert reply[0] == "error"
    assert reply[2]["code"] == code
    assert await sync_to_async(Presence.objects.count)() == 0
    await ws.disconnect()


async def test_the_room_opens_30_minutes_before_the_start_for_attendees(animator):
    later = await sync_to_async(SessionFactory)(animators=[animator])  # in a week
    person = await sync_to_async(RegistrationFactory)(session=later)
    ws = await connect(later.pk)
    refused = await call(ws, "join", {"join_key": person.join_key})
    assert refused[2]["code"] == "room.not_open_yet"
    staff = await connect(later.pk, cookie=await sync_to_async(login_cookie)(animator))
    assert (await call(staff, "join", {}))[0] == "success"  # staff prepare any time
    for socket in (ws, staff):
        await socket.disconnect()


async def test_a_revoked_registration_cannot_chat_any_more(room, animator):
    person = await sync_to_async(RegistrationFactory)(session=room)
    ws = await connect(room.pk)
    await call(ws, "join", {"join_key": person.join_key})
    assert (await call(ws, "chat.send", {"text": "bonjour"}, "1"))[0] == "success"
    # Revoked behind the room's back (no push): the write itself re-checks the right.
    await sync_to_async(revoke_quietly)(person)
    refused = await call(ws, "chat.send", {"text": "encore"}, "2")
    assert refused[2]["code"] == "join.invalid_link"
    nul = await call(ws, "chat.send", {"text": "a\x00b"}, "3")
    assert nul[2]["code"] == "protocol.invalid_payload"
    await ws.disconnect()


async def test_a_link_of_another_session_does_not_open_this_room(room):
    elsewhere = await sync_to_async(RegistrationFactory)()
    ws = await connect(room.pk)
    reply = await call(ws, "join", {"join_key": elsewhere.join_key})
    assert reply[2]["code"] == "join.invalid_link"
    await ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "protocol.invalid_json"),
        ('{"a": 1}', "protocol.invalid_envelope"),
        ('["chat.send", true, {}]', "protocol.invalid_request_id"),
        ('["chat.send", "1", {"text": "hi"}]', "room.not_joined"),
        ("[" + '"x",' * 3000 + "1]", "protocol.frame_too_large"),
    ],
)
async def test_malformed_frames_get_an_error_and_the_connection_stays(room, frame, code):
    ws = await connect(room.pk)
    await ws.send_to(text_data=frame)
    reply = json.loads(await ws.receive_from(timeout=3))
    assert reply[0] == "error"
    assert reply[2]["code"] == code
    assert (await call(ws, "ping", {}))[2]["code"] == "room.not_joined"  # still answering
    await ws.disconnect()


async def test_chat_reaches_everyone_as_text_in_one_frame_per_tick(room):
    people = [await sync_to_async(RegistrationFactory)(session=room) for _ in range(3)]
    sockets = []
    for person in people:
        ws = await connect(room.pk)
        assert (await call(ws, "join", {"join_key": person.join_key}))[0] == "success"
        sockets.append(ws)
    hostile = '<img src=x onerror="alert(1)">'
    for index, text in enumerate([hostile, "deux", "trois"]):
        reply = await call(sockets[0], "chat.send", {"text": text}, request_id=f"m{index}")
        assert reply[0] == "success"
    frames = [await next_frame(ws) for ws in sockets]
    for frame in frames:
        texts = [data["text"] for event, data in frame["events"] if event == "chat.message"]
        assert texts[0] == hostile  # data, never markup: the page renders it as text
        assert frame["seq"] >= 1
    # Three messages sent in one tick travel in one frame.
    assert {len(frame["events"]) for frame in frames} == {3}
    unknown = await call(sockets[1], "chat.send", {"text": "x", "color": "red"}, "m9")
    assert unknown[2]["code"] == "protocol.invalid_payload"
    for ws in sockets:
        await ws.disconnect()


async def test_only_staff_delete_messages_and_backstage_stays_backstage(room, animator):
    attendee = await sync_to_async(RegistrationFactory)(session=room)
    await sync_to_async(Speaker.objects.create)(
        session=room, email="guest@x.example", name="Guest", token_hash=hash_secret("guest-link")
    )
    a = await connect(room.pk)
    await call(a, "join", {"join_key": attendee.join_key})
    staff = await connect(room.pk, cookie=await sync_to_async(login_cookie)(animator))
    assert (await call(staff, "join", {}))[2]["role"] == "staff"
    guest = await connect(room.pk)
    joined = await call(guest, "join", {"speaker_token": "guest-link"})
    assert joined[2]["role"] == "speaker"

    backstage = await call(guest, "chat.send", {"text": "on est prêts ?", "backstage": True})
    assert backstage[0] == "success"
    refused = await call(a, "chat.send", {"text": "psst", "backstage": True}, "b2")
    assert refused[2]["code"] == "chat.backstage"
    pushed = json.loads(await staff.receive_from(timeout=2))
    assert pushed[0] == "backstage"
    assert [d["text"] for _, d in pushed[1]["events"]] == ["on est prêts ?"]
    assert await a.receive_nothing(timeout=0.5)  # attendees never see backstage events

    sent = await call(a, "chat.send", {"text": "spam"}, "s1")
    message_id = sent[2]["id"]
    denied = await call(a, "chat.delete", {"message_id": message_id}, "d1")
    assert denied[2]["code"] == "permission.denied"
    assert (await call(staff, "chat.delete", {"message_id": message_id}, "d2"))[0] == "success"
    message = await sync_to_async(ChatMessage.objects.get)(pk=message_id)
    assert message.deleted_at is not None
    for ws in (a, staff, guest):
        await ws.disconnect()


async def test_a_member_who_does_not_manage_the_session_cannot_join_from_the_back_office(room):
    member = await sync_to_async(UserFactory)(role="member")
    ws = await connect(room.pk, cookie=await sync_to_async(login_cookie)(member))
    assert (await call(ws, "join", {}))[2]["code"] == "permission.not_animator"
    await ws.disconnect()


async def test_a_reconnecting_client_gets_exactly_the_frames_it_missed(room):
    one = await sync_to_async(RegistrationFactory)(session=room)
    two = await sync_to_async(RegistrationFactory)(session=room)
    talker = await connect(room.pk)
    await call(talker, "join", {"join_key": one.join_key})
    listener = await connect(room.pk)
    joined = await call(listener, "join", {"join_key": two.join_key})
    epoch = joined[2]["epoch"]
    await call(talker, "chat.send", {"text": "avant"}, "a")
    seen = await next_frame(listener)
    await listener.disconnect()
    for index in range(3):
        await call(talker, "chat.send", {"text": f"pendant {index}"}, f"p{index}")
        await asyncio.sleep(hub.TICK * 1.5)  # one frame each
    back = await connect(room.pk)
    rejoined = await call(
        back, "join", {"join_key": two.join_key, "epoch": epoch, "last_seq": seen["seq"]}
    )
    assert rejoined[2]["resynced"] is True
    assert rejoined[2]["snapshot"] is None
    replayed = [await next_frame(back) for _ in range(3)]
    assert [f["seq"] for f in replayed] == [seen["seq"] + 1, seen["seq"] + 2, seen["seq"] + 3]
    texts = [d["text"] for f in replayed for _, d in f["events"]]
    assert texts == ["pendant 0", "pendant 1", "pendant 2"]
    # An unknown epoch (another process, a restart) gets a snapshot instead.
    other = await connect(room.pk)
    fresh = await call(other, "join", {"join_key": two.join_key, "epoch": "abcdef", "last_seq": 9})
    assert fresh[2]["resynced"] is False
    assert [m["text"] for m in fresh[2]["snapshot"]["chat"]][-1] == "pendant 2"
    for ws in (talker, back, other):
        await ws.disconnect()


async def test_a_client_that_does_not_read_is_dropped_without_slowing_the_others():
    sent: list[str] = []
    dropped = asyncio.Event()

    async def never_returns(text: str) -> None:
        await asyncio.Event().wait()

    async def fast(text: str) -> None:
        sent.append(text)

    slow = hub.Outbox(never_returns, dropped.set)
    quick = hub.Outbox(fast, lambda: None)
    for index in range(hub.OUTBOX_FRAMES + 2):  # one frame per tick, as the room sends them
        slow.put(f"frame {index}")
        quick.put(f"frame {index}")
        await asyncio.sleep(0)
    assert dropped.is_set()
    assert len(sent) == hub.OUTBOX_FRAMES + 2
    await slow.close()
    await quick.close()


async def test_attendees_do_not_see_each_others_names_unless_the_room_shows_them(room, animator):
    from antenne.rooms.models import RoomSettings

    alix = await sync_to_async(RegistrationFactory)(session=room, first_name="Alix")
    bob = await sync_to_async(RegistrationFactory)(session=room, first_name="Bob")
    a, b = await connect(room.pk), await connect(room.pk)
    await call(a, "join", {"join_key": alix.join_key})
    await call(b, "join", {"join_key": bob.join_key})
    staff = await connect(room.pk, cookie=await sync_to_async(login_cookie)(animator))
    await call(staff, "join", {})
    await call(a, "chat.send", {"text": "coucou"}, "m1")
    seen = [d for e, d in (await next_frame(b))["events"] if e == "chat.message"]
    assert seen[0]["author"] is None  # the page writes "Attendee" in its own language
    assert "registration_id" not in seen[0]
    named = None
    while named is None:
        message = json.loads(await staff.receive_from(timeout=2))
        if message[0] == "backstage":
            named = message[1]["events"][0][1]
    assert (named["author"], named["registration_id"]) == ("Alix", alix.pk)
    await sync_to_async(RoomSettings.objects.create)(session=room, show_attendee_names=True)
    await call(a, "chat.send", {"text": "encore"}, "m2")
    seen = [d for e, d in (await next_frame(b))["events"] if e == "chat.message"]
    assert seen[0]["author"] == "Alix"
    for ws in (a, b, staff):
        await ws.disconnect()


async def test_frames_held_during_a_join_come_after_its_reply():
    sent: list[str] = []

    async def record(text: str) -> None:
        sent.append(text)

    outbox = hub.Outbox(record, lambda: None)
    outbox.hold()
    outbox.put('["frame", {"seq": 5}]')  # flushed by the room while the join was answered
    outbox.put('["backstage", {"events": []}]')
    outbox.put_now('["success", "j", {}]')
    outbox.put_now('["frame", {"seq": 4}]')  # replayed by the join
    outbox.release(without_frames=False)
    await asyncio.sleep(0.01)
    assert [json.loads(text)[0] for text in sent] == ["success", "frame", "frame", "backstage"]
    assert [json.loads(t)[1].get("seq") for t in sent if t.startswith('["frame"')] == [4, 5]
    sent.clear()
    outbox.hold()
    outbox.put('["frame", {"seq": 6}]')
    outbox.put_now('["success", "k", {}]')
    outbox.release(without_frames=True)  # a resync replayed frame 6 already
    await asyncio.sleep(0.01)
    assert sent == ['["success", "k", {}]']
    await outbox.close()
