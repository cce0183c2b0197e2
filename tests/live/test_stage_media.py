"""The media control plane: who may publish and watch, through the HTTP media endpoints with
the token of a real room connection, against the real embedded engine (aiortc offers and
answers; no media needs to flow for these rules)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from django.utils import timezone

from antenne.accounts.models import hash_secret
from antenne.events import lifecycle
from antenne.events.models import Session, Speaker
from antenne.media import signaling
from antenne.media.signaling import get_engine, set_engine
from antenne.rooms.models import Presence, StageFeed, StageInvitation
from tests.factories import RegistrationFactory, SessionFactory
from tests.live.helpers import call, connect, next_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _engine():
    """A fresh embedded engine per test, closed afterwards with what it holds."""
    set_engine(None)
    signaling.reset()
    yield
    signaling.reset()
    engine = get_engine()
    engine.set_listener(None)  # the test's loop ends: nothing more to tell
    await engine.close()
    set_engine(None)


class Peer:
    """A browser's side of one peer connection (aiortc, no ICE server)."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

    async def offer(self) -> str:
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(VideoStreamTrack())
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, offer: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        await self.pc.close()


@pytest.fixture
async def peers():
    made: list[Peer] = []

    def make() -> Peer:
        made.append(Peer())
        return made[-1]

    yield make
    for peer in made:
        await peer.close()


@pytest.fixture
async def stage(animator):
    """A session starting in 10 minutes with a guest speaker and two registrants."""

    def make():
        session = SessionFactory(
            animators=[animator], starts_at=timezone.now() + timedelta(minutes=10)
        )
        Speaker.objects.create(
            session=session, email="g@x.example", name="Guest", token_hash=hash_secret("tok")
        )
        return session, RegistrationFactory(session=session), RegistrationFactory(session=session)

    return await sync_to_async(make)()


async def joined(session_id: int, payload: dict):
    ws = await connect(session_id)
    reply = await call(ws, "join", {**payload, "device": "desktop"}, "j")
    assert reply[0] == "success", reply
    return ws, reply[2]


def bearer(media: dict) -> dict:
    return {"headers": {"Authorization": f"Bearer {media['token']}"}}


async def publish(client: AsyncClient, session_id: int, media: dict, sdp: str, source="camera"):
    return await client.post(
        f"/media/sessions/{session_id}/feeds?source={source}",
        sdp,
        content_type="application/sdp",
        **bearer(media),
    )


async def move(session: Session, animator, to: str) -> None:
    action = {
        "green_room": lifecycle.open_green_room,
        "live": lifecycle.start_session,
        "ended": lifecycle.end_session,
    }[to]
    await sync_to_async(action)(actor=animator, session=session)


async def test_the_join_reply_carries_the_media_token_and_settings(stage, settings):
    session, alix, _ = stage
    settings.ICE_SERVERS = [{"urls": ["stun:stun.example.org:3478"]}]
    ws, reply = await joined(session.pk, {"join_key": alix.join_key})
    assert reply["media"]["token"]
    assert reply["media"]["ice_servers"] == [{"urls": ["stun:stun.example.org:3478"]}]
    assert reply["media"]["max_streams"] == settings.STAGE_MAX_STREAMS
    assert reply["snapshot"]["feeds"] == []
    await ws.disconnect()


async def test_a_speaker_publishes_from_the_green_room_and_everyone_is_told(stage, animator, peers):
    session, alix, _ = stage
    client = AsyncClient()
    speaker_ws, speaker = await joined(session.pk, {"speaker_token": "tok"})
    offer = await peers().offer()
    refused = await publish(client, session.pk, speaker["media"], offer)
    assert refused.status_code == 409
    assert refused.json()["code"] == "media.not_open"  # before the green room

    await move(session, animator, "green_room")
    attendee_ws, attendee = await joined(session.pk, {"join_key": alix.join_key})
    response = await publish(client, session.pk, speaker["media"], offer)
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/sdp"
    answer = response.content.decode()
    assert answer.startswith("v=0")
    assert "VP8" in answer
    assert "opus" in answer
    feed_id = int(response["X-Antenne-Feed"])
    assert response["Location"] == f"/media/sessions/{session.pk}/feeds/{feed_id}"
    data = await next_event(attendee_ws, "media.feeds")
    assert [(f["id"], f["name"], f["role"], f["source"]) for f in data["feeds"]] == [
        (feed_id, "Guest", "speaker", "camera")
    ]
    # An attendee sees the stage only once live.
    watch = await client.post(
        f"/media/sessions/{session.pk}/subscriptions",
        json.dumps({"feeds": [feed_id]}),
        content_type="application/json",
        **bearer(attendee["media"]),
    )
    assert watch.status_code == 409
    assert watch.json()["code"] == "media.not_live"
    for ws in (speaker_ws, attendee_ws):
        await ws.disconnect()


async def test_attendees_watch_once_live_and_only_their_own_subscription(stage, animator, peers):
    session, alix, bob = stage
    client = AsyncClient()
    await move(session, animator, "green_room")
    speaker_ws, speaker = await joined(session.pk, {"speaker_token": "tok"})
    response = await publish(client, session.pk, speaker["media"], await peers().offer())
    feed_id = int(response["X-Antenne-Feed"])
    await move(session, animator, "live")
    alix_ws, alix_join = await joined(session.pk, {"join_key": alix.join_key})
    bob_ws, bob_join = await joined(session.pk, {"join_key": bob.join_key})
    assert [f["id"] for f in alix_join["snapshot"]["feeds"]] == [feed_id]

    watch = await client.post(
        f"/media/sessions/{session.pk}/subscriptions",
        json.dumps({"feeds": [feed_id, 999999]}),
        content_type="application/json",
        **bearer(alix_join["media"]),
    )
    assert watch.status_code == 201, watch.content
    offer = watch.json()
    assert "m=video" in offer["sdp"]
    assert "m=audio" in offer["sdp"]
    assert set(offer["streams"]) == {str(feed_id)}  # the unknown feed is left out
    answer = await peers().answer(offer["sdp"])
    url = f"/media/sessions/{session.pk}/subscriptions/{offer['id']}"
    # Bob cannot complete or close Alix's subscription.
    for method in ("patch", "delete"):
        other = await getattr(client, method)(
            url, answer, content_type="application/sdp", **bearer(bob_join["media"])
        )
        assert other.status_code == 404
    done = await client.patch(
        url, answer, content_type="application/sdp", **bearer(alix_join["media"])
    )
    assert done.status_code == 204, done.content
    assert (await client.delete(url, **bearer(alix_join["media"]))).status_code == 204

    # Only the invited attendee publishes, and only while on stage.
    refused = await publish(client, session.pk, bob_join["media"], await peers().offer())
    assert refused.status_code == 403
    assert refused.json()["code"] == "media.not_on_stage"
    await sync_to_async(StageInvitation.objects.create)(
        session=session, registration=bob, state=StageInvitation.State.ACCEPTED
    )
    accepted = await publish(client, session.pk, bob_join["media"], await peers().offer())
    assert accepted.status_code == 201
    for ws in (speaker_ws, alix_ws, bob_ws):
        await ws.disconnect()


async def test_the_stage_is_bounded_and_a_new_camera_replaces_the_old(
    stage, animator, peers, settings
):
    session, _, _ = stage
    settings.STAGE_MAX_STREAMS = 1
    client = AsyncClient()
    await move(session, animator, "green_room")
    speaker_ws, speaker = await joined(session.pk, {"speaker_token": "tok"})
    first = await publish(client, session.pk, speaker["media"], await peers().offer())
    again = await publish(client, session.pk, speaker["media"], await peers().offer())
    assert (first.status_code, again.status_code) == (201, 201)
    screen = await publish(client, session.pk, speaker["media"], await peers().offer(), "screen")
    assert screen.status_code == 409
    assert screen.json()["code"] == "media.stage_full"
    live = await sync_to_async(list)(
        StageFeed.objects.filter(session=session, ended_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    assert live == [int(again["X-Antenne-Feed"])]
    await speaker_ws.disconnect()


async def test_a_closed_connection_and_the_end_stop_every_feed(stage, animator, peers):
    session, alix, _ = stage
    client = AsyncClient()
    await move(session, animator, "green_room")
    speaker_ws, speaker = await joined(session.pk, {"speaker_token": "tok"})
    watcher_ws, _watcher = await joined(session.pk, {"join_key": alix.join_key})
    response = await publish(client, session.pk, speaker["media"], await peers().offer())
    assert response.status_code == 201
    assert (await next_event(watcher_ws, "media.feeds"))["feeds"]  # the feed arrives
    await speaker_ws.disconnect()
    assert await next_event(watcher_ws, "media.feeds") == {"feeds": []}
    # The token dies with its connection.
    late = await publish(client, session.pk, speaker["media"], await peers().offer())
    assert late.status_code == 403
    assert late.json()["code"] == "media.not_in_room"

    speaker_ws, speaker = await joined(session.pk, {"speaker_token": "tok"})
    assert (
        await publish(client, session.pk, speaker["media"], await peers().offer())
    ).status_code == 201
    await move(session, animator, "ended")
    assert not await sync_to_async(
        StageFeed.objects.filter(session=session, ended_at__isnull=True).exists
    )()
    for ws in (speaker_ws, watcher_ws):
        await ws.disconnect()


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "status", "code"),
    [
        ({}, "v=0\r\n", "application/sdp", 401, "media.no_token"),
        (
            {"headers": {"Authorization": "Bearer forged"}},
            "v=0\r\n",
            "application/sdp",
            403,
            "media.bad_token",
        ),
        (None, "v=0\r\n", "text/plain", 415, "media.not_sdp"),
        (None, "hello", "application/sdp", 400, "media.bad_sdp"),
        (None, "v=0\r\nm=nonsense\r\n", "application/sdp", 400, "media.bad_sdp"),
        (None, "v=0\r\n" + "a=x\r\n" * 20000, "application/sdp", 413, "media.too_large"),
    ],
)
async def test_bad_requests_get_a_clear_error(
    stage, animator, headers, body, content_type, status, code
):
    session, _, _ = stage
    await move(session, animator, "green_room")
    ws, speaker = await joined(session.pk, {"speaker_token": "tok"})
    response = await AsyncClient().post(
        f"/media/sessions/{session.pk}/feeds?source=camera",
        body,
        content_type=content_type,
        **(bearer(speaker["media"]) if headers is None else headers),
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not await sync_to_async(StageFeed.objects.filter(session=session).exists)()
    await ws.disconnect()


async def test_a_token_of_another_session_or_source_is_refused(stage, animator):
    session, _, _ = stage
    other = await sync_to_async(SessionFactory)(
        animators=[animator], starts_at=timezone.now() + timedelta(minutes=10)
    )
    ws, speaker = await joined(session.pk, {"speaker_token": "tok"})
    client = AsyncClient()
    response = await publish(client, other.pk, speaker["media"], "v=0\r\n")
    assert response.json()["code"] == "media.bad_token"
    response = await publish(client, session.pk, speaker["media"], "v=0\r\n", source="desk")
    assert response.json()["code"] == "media.bad_source"
    assert (await client.get(f"/media/sessions/{session.pk}/feeds")).status_code == 405
    await ws.disconnect()


async def test_media_stats_are_kept_and_shown_to_staff_only(stage, animator):
    from antenne.media.engine import TrackStats
    from antenne.rooms.models import MediaSample
    from tests.live.helpers import login_cookie

    session, alix, _ = stage
    await move(session, animator, "live")
    cookie = await sync_to_async(login_cookie)(animator)
    staff_ws = await connect(session.pk, cookie)
    assert (await call(staff_ws, "join", {"device": "desktop"}, "j"))[0] == "success"
    attendee_ws, _attendee = await joined(session.pk, {"join_key": alix.join_key})
    presence = (await sync_to_async(Presence.objects.get)(registration=alix)).pk
    signaling.ROOMS.names[session.pk] = {presence: ("Alix", "attendee")}
    await signaling.record_stats(
        session.pk,
        [
            TrackStats(f"p{presence}", "out", "video", bitrate=800_000, fraction_lost=0.01),
            TrackStats("p999999", "out", "video", bitrate=1),  # not of this session: ignored
            TrackStats("janus-handle", "out", "audio", bitrate=1),  # not a connection: ignored
        ],
    )
    assert await sync_to_async(MediaSample.objects.filter(session=session).count)() == 1
    while True:
        message = json.loads(await staff_ws.receive_from(timeout=3))
        if message[0] == "backstage" and message[1]["events"][0][0] == "media.stats":
            break
    [person] = message[1]["events"][0][1]["people"]
    assert person["name"] == "Alix"
    assert person["tracks"][0]["bitrate"] == 800_000
    # Attendees never get them.
    received = []
    while not await attendee_ws.receive_nothing(timeout=0.5):
        received.append(await attendee_ws.receive_from())
    assert not [m for m in received if "media.stats" in m]
    for ws in (staff_ws, attendee_ws):
        await ws.disconnect()
