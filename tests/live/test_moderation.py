"""Moderation of the live room through the real ASGI application: room settings, mutes, the
chat's rules (muted, closed, slow mode), the people list, reactions; and every moderation,
hand, stage, people and reaction action × every role (attendee, speaker, staff) with a
registration of another session."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from antenne.accounts.models import hash_secret
from antenne.events.models import Speaker
from antenne.live import reactions
from antenne.live.consumer import ACTIONS  # every feature registered
from antenne.rooms import people
from antenne.rooms.models import Mute, Presence, RoomSettings, StageInvitation
from antenne.rooms.moderation import stage_target
from antenne.rooms.participants import Participant
from tests.factories import RegistrationFactory, SessionFactory, UserFactory
from tests.live.helpers import call, connect, login_cookie, revoke_quietly

pytestmark = pytest.mark.django_db(transaction=True)
MINE = {"antenne.live." + name for name in ("moderation", "people", "reactions", "stage")}
SPEAKER_LINK = "guest-link"


# -- helpers shared with test_stage_and_hands ----------------------------------------------


async def join_attendee(session, first_name="Alix", device="desktop"):
    registration = await sync_to_async(RegistrationFactory)(session=session, first_name=first_name)
    ws = await connect(session.pk)
    joined = await call(ws, "join", {"join_key": registration.join_key, "device": device}, "j")
    assert joined[0] == "success", joined
    return ws, registration


async def join_again(session, registration, device="mobile"):
    ws = await connect(session.pk)
    joined = await call(ws, "join", {"join_key": registration.join_key, "device": device}, "j")
    assert joined[0] == "success", joined
    return ws


async def join_staff(session, user):
    ws = await connect(session.pk, cookie=await sync_to_async(login_cookie)(user))
    joined = await call(ws, "join", {}, "j")
    assert joined[2]["role"] == "staff", joined
    return ws


async def join_speaker(session, name="Guest", user=None):
    await sync_to_async(Speaker.objects.create)(
        session=session,
        email="guest@x.example",
        name=name,
        user=user,
        token_hash=hash_secret(SPEAKER_LINK),
    )
    ws = await connect(session.pk)
    joined = await call(ws, "join", {"speaker_token": SPEAKER_LINK}, "j")
    assert joined[2]["role"] == "speaker", joined
    return ws


async def pushes(ws, wait=0.5):
    """Every push received until nothing more comes for `wait` seconds, as
    (channel, event, data): channel "frame" (everyone) or "backstage"."""
    out = []
    while not await ws.receive_nothing(timeout=wait):
        message = json.loads(await ws.receive_from())
        if message[0] in ("frame", "backstage"):
            out.extend((message[0], event, data) for event, data in message[1]["events"])
    return out


async def raw_pushes(ws, wait=0.5):
    """The text of every frame received until nothing more comes for `wait` seconds."""
    out = []
    while not await ws.receive_nothing(timeout=wait):
        out.append(await ws.receive_from())
    return out


async def close(*sockets):
    for ws in sockets:
        await ws.disconnect()


# -- every action × every role ---------------------------------------------------------------

OK, DENIED = "success", "permission.denied"
STAFF_ONLY_ELSEWHERE = {"attendee": DENIED, "speaker": DENIED, "staff": "room.not_found"}
# action -> (payload, {role: expected}); `registration_id` is replaced by a registration of
# another session, which staff cannot reach from this room either.
MATRIX = {
    "room.settings": (
        {"slow_mode_seconds": 5},
        {"attendee": DENIED, "speaker": DENIED, "staff": OK},
    ),
    "chat.mute": ({"registration_id": 0}, STAFF_ONLY_ELSEWHERE),
    "chat.unmute": ({"registration_id": 0}, STAFF_ONLY_ELSEWHERE),
    "hand.raise": ({}, {"attendee": OK, "speaker": DENIED, "staff": DENIED}),
    "hand.lower": ({}, {"attendee": OK, "speaker": DENIED, "staff": DENIED}),
    "hand.lower_for": ({"registration_id": 0}, STAFF_ONLY_ELSEWHERE),
    "stage.invite": ({"registration_id": 0}, STAFF_ONLY_ELSEWHERE),
    "stage.remove": ({"registration_id": 0}, STAFF_ONLY_ELSEWHERE),
    "stage.accept": (
        {"invitation_id": 0},
        {"attendee": "stage.not_found", "speaker": DENIED, "staff": DENIED},
    ),
    "stage.decline": (
        {"invitation_id": 0},
        {"attendee": "stage.not_found", "speaker": DENIED, "staff": DENIED},
    ),
    "stage.leave": ({}, {"attendee": "stage.not_on_stage", "speaker": DENIED, "staff": DENIED}),
    "people.list": ({}, {"attendee": DENIED, "speaker": OK, "staff": OK}),
    "react": ({"emoji": "👏"}, {"attendee": OK, "speaker": OK, "staff": OK}),
}


def test_every_action_of_these_modules_has_a_row():
    mine = {name for name, spec in ACTIONS.items() if spec.handler.__module__ in MINE}
    assert mine == set(MATRIX)


async def _joined_as(role, room, animator):
    if role == "attendee":
        return (await join_attendee(room))[0]
    if role == "speaker":
        return await join_speaker(room)
    return await join_staff(room, animator)


@pytest.mark.parametrize("role", ["attendee", "speaker", "staff"])
async def test_every_action_answers_every_role_as_expected(room, animator, role):
    elsewhere = await sync_to_async(RegistrationFactory)()  # a registration of another session
    other_invitation = await sync_to_async(StageInvitation.objects.create)(
        session=elsewhere.session, registration=elsewhere
    )
    ws = await _joined_as(role, room, animator)
    for index, (name, (payload, expected)) in enumerate(sorted(MATRIX.items())):
        payload = dict(payload)
        if "registration_id" in payload:
            payload["registration_id"] = elsewhere.pk
        if "invitation_id" in payload:
            payload["invitation_id"] = other_invitation.pk
        reply = await call(ws, name, payload, f"m{index}")
        got = OK if reply[0] == OK else reply[2]["code"]
        assert got == expected[role], (name, role, reply)
    assert await sync_to_async(Mute.objects.count)() == 0
    await close(ws)


@pytest.mark.parametrize("name", sorted(MATRIX))
async def test_unknown_keys_and_loose_types_are_refused(room, animator, name):
    ws = await join_staff(room, animator)
    payload = {**MATRIX[name][0], "admin": True}
    assert (await call(ws, name, payload))[2]["code"] == "protocol.invalid_payload"
    if MATRIX[name][0]:
        key = next(iter(MATRIX[name][0]))
        loose = {key: "5"}  # a string where the schema wants a number or an emoji of the set
        assert (await call(ws, name, loose, "r2"))[2]["code"] == "protocol.invalid_payload"
    await close(ws)


# -- room settings -----------------------------------------------------------------------------


async def test_staff_change_the_room_settings_and_everyone_is_told(room, animator):
    attendee, _ = await join_attendee(room)
    staff = await join_staff(room, animator)
    reply = await call(staff, "room.settings", {"chat_enabled": False, "slow_mode_seconds": 30})
    assert reply[2] == {
        "chat_enabled": False,
        "slow_mode_seconds": 30,
        "show_attendee_names": False,
        "questions_enabled": True,
    }
    seen = await pushes(attendee)
    assert ("frame", "room.settings", reply[2]) in seen
    stored = await sync_to_async(RoomSettings.objects.get)(session=room)
    assert (stored.chat_enabled, stored.slow_mode_seconds) == (False, 30)
    # The same values again change nothing and are not broadcast again.
    again = await call(staff, "room.settings", {"chat_enabled": False}, "r2")
    assert again[2] == reply[2]
    assert await attendee.receive_nothing(timeout=0.4)
    for bad in ({"slow_mode_seconds": 601}, {"slow_mode_seconds": -1}, {"chat_enabled": "no"}):
        refused = await call(staff, "room.settings", bad, "r3")
        assert refused[2]["code"] == "protocol.invalid_payload", bad
    await close(attendee, staff)


async def test_an_animator_removed_from_the_session_cannot_moderate_any_more(room, animator):
    attendee, registration = await join_attendee(room)
    staff = await join_staff(room, animator)
    await sync_to_async(room.animators.remove)(animator)
    refused = await call(staff, "chat.mute", {"registration_id": registration.pk})
    assert refused[2]["code"] == "permission.not_animator"
    settings = await call(staff, "room.settings", {"chat_enabled": False}, "r2")
    assert settings[2]["code"] == "permission.not_animator"
    assert await sync_to_async(Mute.objects.count)() == 0
    assert (await call(attendee, "chat.send", {"text": "toujours là"}))[0] == "success"
    await close(attendee, staff)


# -- mutes and the chat's rules ------------------------------------------------------------------


async def test_a_muted_attendee_cannot_chat_until_unmuted_and_only_backstage_is_told(
    room, animator
):
    loud, loud_registration = await join_attendee(room, first_name="Bruyant")
    other, _ = await join_attendee(room)
    staff = await join_staff(room, animator)
    speaker = await join_speaker(room)

    muted = await call(staff, "chat.mute", {"registration_id": loud_registration.pk})
    assert muted[2] == {"registration_id": loud_registration.pk, "muted": True}
    expected = (
        "backstage",
        "person.muted",
        {"registration_id": loud_registration.pk, "name": "Bruyant"},
    )
    assert expected in await pushes(staff)
    assert expected in await pushes(speaker)
    # The muted attendee is told, by their own stage target; the others learn no name.
    told = (
        "frame",
        "attendee.state",
        {"target": stage_target(loud_registration.pk), "muted": True},
    )
    assert told in await pushes(loud)
    assert await pushes(other) == [told]

    refused = await call(loud, "chat.send", {"text": "encore moi"})
    assert refused[2]["code"] == "room.muted"
    assert (await call(loud, "hand.raise", {}, "h"))[2]["code"] == "room.muted"
    assert (await call(other, "chat.send", {"text": "bonjour"}))[0] == "success"
    # Muting twice is harmless; unmuting gives the chat back.
    assert (await call(staff, "chat.mute", {"registration_id": loud_registration.pk}, "m2"))[
        0
    ] == "success"
    unmuted = await call(staff, "chat.unmute", {"registration_id": loud_registration.pk}, "u")
    assert unmuted[2]["muted"] is False
    told_back = ("frame", "attendee.state", {**told[2], "muted": False})
    assert told_back in await pushes(loud)  # their page gives them the chat back at once
    assert (await call(loud, "chat.send", {"text": "pardon"}, "r2"))[0] == "success"
    assert await sync_to_async(Mute.objects.count)() == 0
    await close(loud, other, staff, speaker)


async def test_a_closed_chat_refuses_attendees_and_speakers_but_not_staff_nor_backstage(
    room, animator
):
    attendee, _ = await join_attendee(room)
    staff = await join_staff(room, animator)
    speaker = await join_speaker(room)
    await call(staff, "room.settings", {"chat_enabled": False})
    assert (await call(attendee, "chat.send", {"text": "allô"}))[2]["code"] == "chat.disabled"
    assert (await call(speaker, "chat.send", {"text": "allô"}))[2]["code"] == "chat.disabled"
    backstage = await call(speaker, "chat.send", {"text": "on commence ?", "backstage": True})
    assert backstage[0] == "success"
    assert (await call(staff, "chat.send", {"text": "Le chat rouvre bientôt"}))[0] == "success"
    await call(staff, "room.settings", {"chat_enabled": True}, "r2")
    assert (await call(attendee, "chat.send", {"text": "merci"}, "r3"))[0] == "success"
    await close(attendee, staff, speaker)


async def test_slow_mode_makes_attendees_wait_but_not_speakers_nor_staff(room, animator):
    attendee, registration = await join_attendee(room)
    second_device = await join_again(room, registration)
    staff = await join_staff(room, animator)
    speaker = await join_speaker(room)
    await call(staff, "room.settings", {"slow_mode_seconds": 1})

    assert (await call(attendee, "chat.send", {"text": "un"}, "1"))[0] == "success"
    too_soon = await call(attendee, "chat.send", {"text": "deux"}, "2")
    assert too_soon[2]["code"] == "chat.slow_mode"
    assert "1" in too_soon[2]["message"]  # the seconds to wait
    # Another device of the same person waits too.
    other = await call(second_device, "chat.send", {"text": "deux bis"}, "3")
    assert other[2]["code"] == "chat.slow_mode"
    for socket in (speaker, staff):
        for index in range(2):
            assert (await call(socket, "chat.send", {"text": f"x{index}"}, f"s{index}"))[
                0
            ] == "success"
    await asyncio.sleep(1.05)
    assert (await call(attendee, "chat.send", {"text": "trois"}, "4"))[0] == "success"
    await call(staff, "room.settings", {"slow_mode_seconds": 0}, "off")
    assert (await call(attendee, "chat.send", {"text": "quatre"}, "5"))[0] == "success"
    await close(attendee, second_device, staff, speaker)


# -- the people list ---------------------------------------------------------------------------


async def test_the_people_list_shows_staff_and_speakers_who_is_here(room, animator):
    waving, waving_registration = await join_attendee(room, first_name="Zoé", device="mobile")
    quiet, quiet_registration = await join_attendee(room, first_name="Yann")
    gone, _ = await join_attendee(room, first_name="Parti")
    await close(gone)
    staff = await join_staff(room, animator)
    member = await sync_to_async(UserFactory)(full_name="Oratrice Compte")
    speaker = await join_speaker(room, name="Dr Oratrice", user=member)
    await call(waving, "hand.raise", {})
    await call(staff, "chat.mute", {"registration_id": quiet_registration.pk})
    await call(staff, "stage.invite", {"registration_id": quiet_registration.pk}, "i")

    assert (await call(waving, "people.list", {}, "p"))[2]["code"] == "permission.denied"
    seen = await call(speaker, "people.list", {}, "p")
    assert seen[0] == "success"
    listed = await call(staff, "people.list", {}, "p2")
    people = listed[2]["people"]
    assert listed[2]["truncated"] is False
    # Staff and speakers first, then raised hands, then by arrival.
    assert [p["name"] for p in people] == [animator.full_name, "Dr Oratrice", "Zoé", "Yann"]
    by_name = {p["name"]: p for p in people}
    assert "Parti" not in by_name  # a closed connection is not in the room any more
    zoe, yann = by_name["Zoé"], by_name["Yann"]
    assert (zoe["device"], zoe["role"], zoe["muted"], zoe["stage"]) == (
        "mobile",
        "attendee",
        False,
        None,
    )
    assert zoe["hand_raised_at"] is not None
    assert zoe["registration_id"] == waving_registration.pk
    assert (yann["muted"], yann["stage"], yann["hand_raised_at"]) == (True, "invited", None)
    await close(waving, quiet, staff, speaker)


@pytest.mark.django_db
def test_the_people_list_is_one_query_and_bounded(django_assert_num_queries, animator):
    session = SessionFactory(animators=[animator])
    now = timezone.now()
    for index in range(5):
        registration = RegistrationFactory(session=session, first_name=f"P{index}")
        Presence.objects.create(session=session, registration=registration, joined_at=now)
        Mute.objects.create(session=session, registration=registration)
        StageInvitation.objects.create(session=session, registration=registration)
    Presence.objects.create(session=session, role="staff", user=animator, joined_at=now)
    # A guest speaker has no account: the list names them by their link.
    guest = Speaker.objects.create(session=session, email="g@x.example", name="Invitée")
    Presence.objects.create(session=session, role="speaker", speaker=guest, joined_at=now)
    staff = Participant(session_id=session.pk, role="staff", name="A", user_id=animator.pk)
    with django_assert_num_queries(1):
        full = people.connected_people(participant=staff)
    assert (len(full["people"]), full["truncated"]) == (7, False)
    assert [(p["role"], p["name"]) for p in full["people"][:2]] == [
        ("staff", animator.full_name),
        ("speaker", "Invitée"),
    ]
    assert all(p["muted"] and p["stage"] == "invited" for p in full["people"][2:])
    with django_assert_num_queries(1):
        bounded = people.connected_people(participant=staff, limit=4)
    assert (len(bounded["people"]), bounded["truncated"]) == (4, True)
    assert bounded["people"][0]["role"] == "staff"  # staff and speakers come first


# -- reactions ---------------------------------------------------------------------------------


async def test_reactions_reach_everyone_at_most_one_per_second(room, animator, monkeypatch):
    monkeypatch.setattr(reactions, "INTERVAL", 0.3)
    fan, _ = await join_attendee(room)
    other, _ = await join_attendee(room)
    assert (await call(fan, "react", {"emoji": "👏"}, "1"))[0] == "success"
    assert (await call(fan, "react", {"emoji": "🎉"}, "2"))[2]["code"] == "reaction.too_fast"
    assert (await call(other, "react", {"emoji": "👏"}, "3"))[0] == "success"  # per connection
    seen = [data for _, event, data in await pushes(other) if event == "reactions"]
    # Reactions of one tick arrive as one event with the counts summed.
    assert sum(data.get("👏", 0) for data in seen) == 2
    assert all(set(data) == {"👏"} for data in seen)
    await asyncio.sleep(0.35)
    assert (await call(fan, "react", {"emoji": "❤️"}, "4"))[0] == "success"
    assert (await call(fan, "react", {"emoji": "💩"}, "5"))[2]["code"] == "protocol.invalid_payload"
    await close(fan, other)


async def test_a_revoked_attendee_cannot_react_any_more(room, animator, monkeypatch):
    monkeypatch.setattr(reactions, "INTERVAL", 0)
    monkeypatch.setattr(reactions, "RIGHTS_TTL", 0)
    fan, registration = await join_attendee(room)
    assert (await call(fan, "react", {"emoji": "👍"}, "1"))[0] == "success"
    # Revoked behind the room's back (no push): the write itself re-checks the right.
    await sync_to_async(revoke_quietly)(registration)
    assert (await call(fan, "react", {"emoji": "👍"}, "2"))[2]["code"] == "join.invalid_link"
    await close(fan)
