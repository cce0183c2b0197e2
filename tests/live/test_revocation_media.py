"""A revoked person leaves the stage (issue 16, point 3): revoking the registration of an
attendee on stage, a speaker's link, or taking an animator off the session ends their
camera and microphone feeds, as `stage.remove` does, with both engines (embedded: aiortc in
this process; Janus: a real Janus). Driven through the real ASGI application and the real
HTTP media endpoints."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from antenne.accounts.models import hash_secret
from antenne.core.permissions import Role
from antenne.events import services as events
from antenne.events import speakers
from antenne.events.models import Speaker
from antenne.media import signaling
from antenne.media.signaling import get_engine, set_engine
from antenne.registrations import services as registrations
from antenne.rooms.models import StageFeed, StageInvitation
from tests.factories import RegistrationFactory, UserFactory
from tests.helpers import free_port
from tests.live.helpers import call, connect, login_cookie
from tests.live.test_revocation import REVOKED, closed
from tests.live.test_stage_media import Peer, joined, move, publish
from tests.media.janus_fixture import EventSink, make_janus
from tests.media.test_janus import engine_for, participants

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def janus(tmp_path):
    """A Janus of this test's own (its rooms are numbered by session ids, which restart)."""
    sink = EventSink()
    server = make_janus(
        tmp_path, events_url=sink.url, http_port=free_port(), admin_port=free_port()
    )
    server.start()
    yield server
    server.stop()
    sink.close()


@pytest.fixture(params=["embedded", "janus"])
async def on_stage(request):
    """The process's engine (embedded, or the Janus engine on a real Janus); yields how many
    feeds the engine holds for a session."""
    signaling.reset()
    if request.param == "janus":
        server = request.getfixturevalue("janus")
        engine = engine_for(server)
        set_engine(engine)

        async def count(session_id: int) -> int:
            return len(await participants(server, session_id))

    else:
        set_engine(None)
        engine = get_engine()

        async def count(session_id: int) -> int:
            return len(await engine.list_feeds(session_id))

    yield count
    signaling.reset()
    engine.set_listener(None)
    await engine.close()
    set_engine(None)


@pytest.fixture
async def peers():
    made: list[Peer] = []

    def make() -> Peer:
        made.append(Peer())
        return made[-1]

    yield make
    for peer in made:
        await peer.close()


async def staff_joined(session_id: int, user):
    ws = await connect(session_id, cookie=await sync_to_async(login_cookie)(user))
    reply = await call(ws, "join", {"device": "desktop"}, "j")
    assert reply[0] == "success", reply
    return ws, reply[2]


async def eventually_none(count, session_id: int, within: float = 1.0) -> None:
    deadline = time.monotonic() + within
    while (left := await count(session_id)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert left == 0, f"{left} feed(s) still published after {within} s"


async def open_feeds(session) -> int:
    return await sync_to_async(
        StageFeed.objects.filter(session=session, ended_at__isnull=True).count
    )()


@pytest.mark.parametrize("how", ["revoke", "erase"])
async def test_an_attendee_on_stage_whose_registration_is_revoked_leaves_it(
    room, animator, on_stage, peers, how
):
    await move(room, animator, "green_room")
    await move(room, animator, "live")
    alix = await sync_to_async(RegistrationFactory)(session=room)
    staff_ws, _ = await staff_joined(room.pk, animator)
    alix_ws, alix_reply = await joined(room.pk, {"join_key": alix.join_key})
    invited = await call(staff_ws, "stage.invite", {"registration_id": alix.pk}, "i")
    assert invited[0] == "success", invited
    accepted = await call(
        alix_ws, "stage.accept", {"invitation_id": invited[2]["invitation_id"]}, "a"
    )
    assert accepted[0] == "success", accepted
    response = await publish(AsyncClient(), room.pk, alix_reply["media"], await peers().offer())
    assert response.status_code == 201, response.content
    assert await on_stage(room.pk) == 1

    service = {
        "revoke": registrations.revoke_registration,
        "erase": registrations.erase_registration,
    }[how]
    await sync_to_async(service)(actor=animator, registration=alix)
    _received, close = await closed(alix_ws)
    assert close["code"] == REVOKED
    await eventually_none(on_stage, room.pk)
    assert await open_feeds(room) == 0
    assert not await sync_to_async(
        StageInvitation.objects.filter(
            session=room, state__in=[StageInvitation.State.INVITED, StageInvitation.State.ACCEPTED]
        ).exists
    )()
    await alix_ws.disconnect()
    await staff_ws.disconnect()


@pytest.mark.parametrize("how", ["revoke", "remove"])
async def test_a_revoked_speaker_leaves_the_stage(room, animator, on_stage, peers, how):
    await move(room, animator, "green_room")
    await sync_to_async(Speaker.objects.create)(
        session=room,
        email="g@x.example",
        name="Guest",
        token_hash=hash_secret("tok"),
    )
    staff_ws, _ = await staff_joined(room.pk, animator)
    speaker_ws, speaker_reply = await joined(room.pk, {"speaker_token": "tok"})
    response = await publish(AsyncClient(), room.pk, speaker_reply["media"], await peers().offer())
    assert response.status_code == 201, response.content
    assert await on_stage(room.pk) == 1

    speaker = await sync_to_async(Speaker.objects.get)(session=room)
    service = speakers.revoke_speaker_link if how == "revoke" else speakers.remove_speaker
    await sync_to_async(service)(actor=animator, speaker=speaker)
    _received, close = await closed(speaker_ws)
    assert close["code"] == REVOKED
    await eventually_none(on_stage, room.pk)
    assert await open_feeds(room) == 0
    await speaker_ws.disconnect()
    await staff_ws.disconnect()


async def test_an_animator_taken_off_the_session_leaves_the_stage(room, animator, on_stage, peers):
    colleague = await sync_to_async(UserFactory)(role=Role.ANIMATOR, email="co@service.example")
    await sync_to_async(room.animators.add)(colleague)
    await move(room, animator, "green_room")
    colleague_ws, colleague_reply = await staff_joined(room.pk, colleague)
    response = await publish(
        AsyncClient(), room.pk, colleague_reply["media"], await peers().offer()
    )
    assert response.status_code == 201, response.content
    assert await on_stage(room.pk) == 1

    await sync_to_async(events.update_session)(
        actor=animator, session=room, capacity=None, animators=[animator]
    )
    _received, close = await closed(colleague_ws)
    assert close["code"] == REVOKED
    await eventually_none(on_stage, room.pk)
    assert await open_feeds(room) == 0
    await colleague_ws.disconnect()
