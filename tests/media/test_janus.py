"""The Janus engine against a real Janus started with the configuration Antenne renders.

On loopback Janus leaves 127.0.0.1 out of ICE, so these tests check the control plane (rooms,
publishing, the secrets, a Janus restart, the events Janus posts); media itself flows in
`test_media_flows_through_janus_in_a_network_namespace`, inside a namespace of its own."""

from __future__ import annotations

import asyncio
import base64
import glob
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from django.test import AsyncClient

from antenne.media.engine import EngineEvent, MediaError, TrackStats
from antenne.media.janus import client, render_config
from antenne.media.janus.client import JanusError, JanusServer
from antenne.media.janus.engine import JanusEngine
from antenne.media.janus.events import FeedNames, parse
from antenne.media.janus.naming import parse_display
from antenne.media.signaling import set_engine
from tests import peers
from tests.helpers import free_port
from tests.media.conftest import Publisher, eventually
from tests.media.janus_fixture import (
    ADMIN_SECRET,
    API_SECRET,
    EVENTS_SECRET,
    ROOM_SECRET,
    EventSink,
    Janus,
    listening_sockets,
    make_janus,
)

ROOT = Path(__file__).resolve().parents[2]
rooms = itertools.count(1000)  # the module's Janus keeps rooms: each test uses new ones


@pytest.fixture(scope="module")
def janus(tmp_path_factory) -> Janus:
    """One Janus for the module, with Antenne's hardened configuration, posting its events
    to a receiver on loopback (`janus.sink`)."""
    sink = EventSink()
    server = make_janus(
        tmp_path_factory.mktemp("janus"),
        events_url=sink.url,
        http_port=free_port(),
        admin_port=free_port(),
    )
    server.start()
    server.sink = sink  # type: ignore[attr-defined]
    yield server
    server.stop()
    sink.close()


def engine_for(janus: Janus, **options) -> JanusEngine:
    settings = {
        "urls": [janus.url],
        "admin_urls": [janus.admin_url],
        "api_secret": API_SECRET,
        "admin_secret": ADMIN_SECRET,
        "secret": ROOM_SECRET,
        "max_publishers": 3,
        **options,
    }
    return JanusEngine(**settings)


@pytest.fixture
async def engine(janus):
    engine = engine_for(janus)
    yield engine
    await engine.close()


@pytest.fixture
async def offers():
    """Real aiortc offers (VP8 and Opus, video first); their peers closed after the test."""
    made: list[Publisher] = []

    async def offer(*, audio: bool = True, video: bool = True) -> str:
        publisher = Publisher(audio=audio, video=video)
        made.append(publisher)
        return await publisher.offer()

    yield offer
    for publisher in made:
        await publisher.close()


async def videoroom(janus: Janus, body: dict, *, secret: str = API_SECRET) -> dict:
    """A VideoRoom request on a session of its own, as any other Janus client would."""
    async with httpx.AsyncClient() as http:
        server = JanusServer(janus.url, api_secret=secret, http=http)
        try:
            handle = await server.attach("janus.plugin.videoroom")
            data, _ = await server.message(handle, body)
            return data
        finally:
            await server.close()


async def participants(janus: Janus, room: int) -> list[dict]:
    data = await videoroom(janus, {"request": "listparticipants", "room": room})
    return data["participants"]


# -- The configuration -------------------------------------------------------------------------


def test_render_config_refuses_what_would_leave_janus_open(tmp_path):
    good = {
        "api_secret": "a",
        "admin_secret": "b",
        "events_url": "http://127.0.0.1:8000/media/janus/events",
        "events_secret": "c",
    }
    for change in (
        {"api_secret": ""},
        {"admin_secret": "  "},
        {"events_secret": ""},
        {"admin_secret": "a"},
        {"http_bind": "localhost"},
        {"http_bind": "0.0.0.0; rm"},
        {"http_port": 7088, "admin_port": 7088},
        {"rtp_port_range": "40000-20000"},
        {"nat_1_1": "public.example"},
        {"events_url": "ftp://x"},
        {"api_secret": "a\nplugins: {}"},
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            render_config(tmp_path / "refused", **{**good, **change})
    assert not (tmp_path / "refused").exists()

    written = render_config(tmp_path / "conf", **{**good, "api_secret": 'x"y\\z'})
    assert sorted(p.name for p in written) == [
        "janus.eventhandler.sampleevh.jcfg",
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.http.jcfg",
    ]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in written)
    core = (tmp_path / "conf" / "janus.jcfg").read_text()
    assert 'api_secret = "x\\"y\\\\z"' in core
    # Every plugin, transport, event handler and logger this machine's Janus ships but the
    # three Antenne uses is switched off.
    libraries = [Path(p) for p in glob.glob("/usr/lib/*/janus/*/libjanus_*.so")]
    kept = {"libjanus_videoroom.so", "libjanus_http.so", "libjanus_sampleevh.so"}
    for library in libraries:
        assert (library.name in core) != (library.name in kept), library


def test_janus_runs_only_what_antenne_needs(janus):
    info = httpx.get(f"{janus.url}/info", timeout=5).json()
    assert set(info["plugins"]) == {"janus.plugin.videoroom"}
    assert set(info["transports"]) == {"janus.transport.http"}
    assert set(info["events"]) == {"janus.eventhandler.sampleevh"}
    assert info["loggers"] == {}
    assert info["api_secret"] is True
    assert info["auth_token"] is False
    assert info["full-trickle"] is False
    assert info["session-timeout"] == 60
    # It listens on the configured loopback address and ports, and nowhere else.
    tcp = {s for s in listening_sockets(janus.process.pid) if s[0].startswith("tcp")}
    assert tcp == {("tcp", "127.0.0.1", janus.http_port), ("tcp", "127.0.0.1", janus.admin_port)}

    def post(url: str, body: dict) -> dict:
        return httpx.post(url, json={"transaction": "t", **body}, timeout=5).json()

    assert post(janus.url, {"janus": "create"})["error"]["code"] == 403
    assert post(janus.url, {"janus": "create", "apisecret": "wrong"})["error"]["code"] == 403
    assert post(janus.admin_url, {"janus": "list_sessions"})["error"]["code"] == 403
    refused = post(janus.admin_url, {"janus": "list_sessions", "admin_secret": API_SECRET})
    assert refused["error"]["code"] == 403
    listed = post(janus.admin_url, {"janus": "list_sessions", "admin_secret": ADMIN_SECRET})
    assert listed["janus"] == "success"


# -- Rooms, publishing, errors ---------------------------------------------------------------


async def test_a_wrong_api_secret_or_no_janus_is_a_media_error(janus):
    wrong = engine_for(janus, api_secret="not-the-secret")
    with pytest.raises(MediaError) as refused:
        await wrong.create_room(next(rooms))
    assert refused.value.code == "media.janus_error"
    assert "secret" in refused.value.message
    await wrong.close()

    nobody = engine_for(janus, urls=[f"http://127.0.0.1:{free_port()}/janus"], timeout=2)
    with pytest.raises(MediaError) as unreachable:
        await nobody.create_room(next(rooms))
    assert unreachable.value.code == "media.janus_unreachable"
    await nobody.close()


async def test_rooms_are_created_on_demand_with_antenne_s_secret(janus, engine):
    room = next(rooms)
    await engine.create_room(room)
    await engine.create_room(room)  # idempotent
    assert (await videoroom(janus, {"request": "exists", "room": room}))["exists"] is True
    # Nobody without the room's secret can destroy it (Janus error 433, unauthorised).
    with pytest.raises(JanusError) as refused:
        await videoroom(janus, {"request": "destroy", "room": room, "secret": "guess"})
    assert refused.value.code == 433
    # Another process (another engine, same settings) agrees on the room and its secret.
    other = engine_for(janus)
    await other.close_room(room)
    await other.close()
    await engine.close_room(room)  # idempotent
    assert (await videoroom(janus, {"request": "exists", "room": room}))["exists"] is False
    # Looking at a room that is not there does not create it (it would stay until a restart).
    assert await engine.list_feeds(room) == []
    await engine.kick(room, "p1")
    with pytest.raises(MediaError) as nothing:
        await engine.subscribe(room, "p1", ["1"])
    assert nothing.value.code == "media.no_such_feed"
    assert (await videoroom(janus, {"request": "exists", "room": room}))["exists"] is False


async def test_rooms_are_spread_over_the_janus_servers(janus, tmp_path, offers):
    second = make_janus(
        tmp_path,
        events_url=janus.sink.url,
        http_port=free_port(),
        admin_port=free_port(),
    )
    second.start()
    engine = engine_for(janus, urls=[janus.url, second.url], admin_urls=[])
    try:
        even = next(r for r in rooms if r % 2 == 0)
        odd = even + 1
        next(rooms)
        even_feed, _ = await engine.publish(even, "p1", await offers(), source="camera")
        odd_feed, _ = await engine.publish(odd, "p1", await offers(), source="camera")
        assert [p["id"] for p in await participants(janus, even)] == [int(even_feed)]
        assert [p["id"] for p in await participants(second, odd)] == [int(odd_feed)]
        for server, room in ((second, even), (janus, odd)):
            exists = await videoroom(server, {"request": "exists", "room": room})
            assert exists["exists"] is False
        # Another process picks the same servers.
        other = engine_for(janus, urls=[janus.url, second.url])
        await other.kick(odd, "p1")
        assert await participants(second, odd) == []
        assert [p["id"] for p in await participants(janus, even)] == [int(even_feed)]
        await other.close()
    finally:
        await engine.close()
        second.stop()


async def test_publish_answers_with_vp8_and_opus(janus, engine, offers):
    room = next(rooms)
    feed_id, answer = await engine.publish(room, "p1", await offers(), source="camera")
    assert feed_id.isdigit()
    assert answer.startswith("v=0")
    assert "VP8/90000" in answer
    assert "opus/48000/2" in answer
    assert "a=candidate:" in answer  # half-trickle: Janus's candidates are in its answer
    assert answer.count("a=recvonly") == 2
    # The room was created on demand; the publisher is in it, named as Antenne names it.
    [person] = await participants(janus, room)
    assert person["id"] == int(feed_id)
    display = parse_display(person["display"])
    assert (display.participant, display.source) == ("p1", "camera")
    assert sorted(display.mids.values()) == ["audio", "video"]
    # A screen of the same person is another feed.
    screen_id, _ = await engine.publish(room, "p1", await offers(audio=False), source="screen")
    assert screen_id != feed_id
    shown = {p["id"]: parse_display(p["display"]) for p in await participants(janus, room)}
    assert shown[int(screen_id)].source == "screen"
    assert list(shown[int(screen_id)].mids.values()) == ["video"]
    # Until its peer connection is up, a publisher is not a feed anyone can watch.
    assert await engine.list_feeds(room) == []
    with pytest.raises(MediaError) as nothing:
        await engine.subscribe(room, "p2", [feed_id, "12345"])
    assert nothing.value.code == "media.no_such_feed"
    await engine.close_room(room)


async def test_a_bad_offer_is_refused_and_leaves_nothing_behind(janus, engine):
    room = next(rooms)
    await engine.create_room(room)
    for sdp in ("hello", "v=0\r\nm=video nonsense\r\n"):
        with pytest.raises(MediaError) as refused:
            await engine.publish(room, "p1", sdp, source="camera")
        assert refused.value.code == "media.bad_sdp"
    assert await participants(janus, room) == []
    assert engine.rooms.owned == {}
    await engine.close_room(room)


async def test_unpublish_and_kick_work_from_any_process(janus, engine, offers):
    room = next(rooms)
    first, _ = await engine.publish(room, "p1", await offers(), source="camera")
    second, _ = await engine.publish(room, "p2", await offers(), source="camera")
    third, _ = await engine.publish(room, "p2", await offers(), source="screen")
    assert len(await participants(janus, room)) == 3

    await engine.unpublish(room, first)
    await engine.unpublish(room, first)  # idempotent
    assert {p["id"] for p in await participants(janus, room)} == {int(second), int(third)}

    # Another Antenne process knows neither handle: it goes through the room's secret.
    other = engine_for(janus)
    await other.unpublish(room, third)
    assert {p["id"] for p in await participants(janus, room)} == {int(second)}
    # Janus hung up the kicked publisher's handle: the process that held it lets it go.
    await eventually(lambda: engine.rooms.publisher(room, third) is None)
    await other.kick(room, "p2")
    await other.kick(room, "p2")  # idempotent
    assert await participants(janus, room) == []
    with pytest.raises(MediaError) as unknown:
        await other.mute(room, second, "audio", True)
    assert unknown.value.code == "media.no_such_feed"
    await other.close()
    await engine.close_room(room)


async def test_a_subscription_id_names_what_any_process_needs(janus, engine):
    for bad in ("", "1:2", "x:y:z", "5:1:2"):
        with pytest.raises(MediaError) as refused:
            await engine.complete_subscription(1, bad, "v=0\r\nm=audio 9 x\r\n")
        assert refused.value.code == "media.no_such_subscription"
    # A handle Janus does not know (gone with a restart, or never there).
    with pytest.raises(MediaError) as gone:
        await engine.complete_subscription(1, "0:1:2", "v=0\r\nm=audio 9 x\r\n")
    assert gone.value.code == "media.no_such_subscription"
    await engine.unsubscribe(1, "0:1:2")  # idempotent


async def test_publishing_works_again_after_janus_restarts(tmp_path, offers):
    sink = EventSink()
    janus = make_janus(
        tmp_path,
        events_url=sink.url,
        http_port=free_port(),
        admin_port=free_port(),
    )
    janus.start()
    engine = engine_for(janus, timeout=3)
    try:
        room = next(rooms)
        before, _ = await engine.publish(room, "p1", await offers(), source="camera")
        session = engine.servers[0].session_id

        janus.stop(signal.SIGKILL)  # a crash: rooms, sessions and handles are gone
        with pytest.raises(MediaError) as down:
            await engine.publish(room, "p1", await offers(), source="camera")
        assert down.value.code == "media.janus_unreachable"

        janus.start()
        after, answer = await engine.publish(room, "p1", await offers(), source="camera")
        assert "VP8/90000" in answer
        assert engine.servers[0].session_id not in (None, session)
        assert {p["id"] for p in await participants(janus, room)} == {int(after)}
        assert int(before) != int(after)
        # What the engine held before the restart is forgotten, not leaked.
        assert [o.feed_id for o in engine.rooms.owned.values() if o.feed_id] == [after]
    finally:
        await engine.close()
        janus.stop()
        sink.close()


async def test_keepalives_keep_the_session_of_an_idle_process(tmp_path, monkeypatch):
    """Janus drops a session that sends nothing for `session_timeout` seconds, long poll or
    not: the engine's keep-alives (every 15 s for Janus's 60; here 0.5 s for 2) keep it."""
    monkeypatch.setattr(client, "KEEPALIVE_INTERVAL", 0.5)
    janus = make_janus(
        tmp_path,
        events_url="http://127.0.0.1:9/events",
        http_port=free_port(),
        admin_port=free_port(),
    )
    core = tmp_path / "janus.jcfg"
    core.write_text(core.read_text().replace("session_timeout = 60", "session_timeout = 2"))
    janus.start()
    engine = engine_for(janus)
    try:
        await engine.create_room(next(rooms))
        session = engine.servers[0].session_id
        await asyncio.sleep(5)
        listed = await engine.servers[0].admin({"janus": "list_sessions"})
        assert session in listed["sessions"]
        assert engine.servers[0].session_id == session
    finally:
        await engine.close()
        janus.stop()


# -- Events -------------------------------------------------------------------------------------


async def test_janus_posts_the_events_antenne_reads(janus, engine, offers):
    room = next(rooms)
    feed_id, _ = await engine.publish(room, "p7", await offers(), source="camera")
    await engine.unpublish(room, feed_id)

    def plugin_events() -> list[str]:
        return [
            e["event"]["data"].get("event")
            for e in janus.sink.events()
            if e.get("type") == 64 and e["event"].get("data", {}).get("room") == room
        ]

    await eventually(lambda: "leaving" in plugin_events(), 10)
    expected = "Basic " + base64.b64encode(f"janus:{EVENTS_SECRET}".encode()).decode()
    assert {post.authorization for post in janus.sink.posts} == {expected}

    names = FeedNames()
    events = [e for post in janus.sink.posts for e in parse(post.json(), names)]
    ours = [(e.kind, e.participant, e.feed_id) for e in events if e.room_id == room]
    assert ours[0] == ("joined", "p7", feed_id)
    # Janus names neither the handle nor the participant when a feed stops: the parser
    # remembers whose feed it was.
    assert ("unpublished", "p7", feed_id) in ours
    assert ours[-1] == ("left", "p7", feed_id)


def test_parse_reads_stats_and_skips_odd_input(caplog):
    stats = {
        "type": 32,
        "subtype": 3,
        "opaque_id": "antenne:9:p3:sub",
        "event": [
            {"mid": "0", "media": "video", "bytes-sent-lastsec": 1000, "lost-by-remote": 3,
             "rtt": 40, "jitter-remote": 7},
            {"mid": "1", "media": "video", "bytes-sent-lastsec": 500, "lost-by-remote": 1,
             "rtt": 60, "jitter-remote": 2},
            {"mid": "2", "media": "audio", "bytes-sent-lastsec": "x"},
            {"mid": "3", "media": "data"},
        ],
    }  # fmt: skip
    [event] = parse([stats])
    assert (event.kind, event.room_id, event.participant) == ("media_stats", 9, "p3")
    video = next(s for s in event.stats if s.kind == "video")
    assert (video.direction, video.bitrate, video.packets_lost) == ("out", 12000, 4)
    assert (video.rtt_ms, video.jitter_ms) == (60, 7)
    assert next(s for s in event.stats if s.kind == "audio").bitrate == 0

    with caplog.at_level(logging.WARNING, logger="antenne.media.janus.events"):
        for odd in (
            None,
            "x",
            [1, [], {}],
            {"type": 64, "event": {"plugin": "janus.plugin.videoroom", "data": []}},
            {"type": 64, "event": {"plugin": "janus.plugin.videoroom", "data": {"room": "x"}}},
            {"type": 64, "event": {"plugin": "janus.plugin.videoroom"}, "opaque_id": 5},
            {"type": 32, "subtype": 3, "opaque_id": "antenne:x:p1:camera", "event": [{}]},
            {"type": 32, "subtype": 3, "opaque_id": "someone-else", "event": None},
        ):
            assert parse(odd) == []
    assert "not an object" in caplog.text


async def test_stats_without_a_listener_wait_for_stats(janus, engine):
    report = TrackStats(participant="p1", direction="in", kind="video", bitrate=1000)
    event = EngineEvent("media_stats", 3, "p1", stats=(report,))
    await engine.emit(event)
    await engine.emit(EngineEvent("media_stats", 3, "p1", stats=(replace(report, bitrate=2000),)))
    assert await engine.stats(3) == [replace(report, bitrate=2000)]  # the latest
    assert await engine.stats(3) == []  # each report once
    heard = []

    async def listener(event):
        heard.append(event)

    engine.set_listener(listener)
    await engine.emit(event)
    assert heard == [event]
    assert await engine.stats(3) == []  # the listener had it


@pytest.fixture
async def listening(janus, settings):
    """Antenne with the Janus engine: the events view's engine, recording what it emits."""
    settings.MEDIA_ENGINE = "janus"
    settings.JANUS_EVENTS_SECRET = EVENTS_SECRET
    engine = engine_for(janus)
    heard: list[EngineEvent] = []

    async def listener(event: EngineEvent) -> None:
        heard.append(event)
        if event.participant == "explodes":
            raise RuntimeError("a listener bug")

    engine.set_listener(listener)
    set_engine(engine)
    yield heard
    set_engine(None)
    await engine.close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_the_events_view_passes_janus_s_posts_to_the_engine(janus, listening, caplog):
    client = AsyncClient(enforce_csrf_checks=True)  # Janus has no CSRF token
    url = "/media/janus/events"
    payload = [
        {"type": 64, "opaque_id": "antenne:5:p1:camera",
         "event": {"plugin": "janus.plugin.videoroom",
                   "data": {"event": "published", "room": 5, "id": 77, "display": "x"}}},
        {"type": 64, "event": {"plugin": "janus.plugin.videoroom",
                               "data": {"event": "unpublished", "room": 5, "id": 77}}},
        {"type": 64, "opaque_id": "antenne:5:explodes:camera",
         "event": {"plugin": "janus.plugin.videoroom",
                   "data": {"event": "joined", "room": 5, "id": 78}}},
        {"type": 16, "event": {"connection": "webrtcup"}},
    ]  # fmt: skip
    body = json.dumps(payload)
    with caplog.at_level(logging.ERROR, logger="antenne.media.janus.engine"):
        response = await client.post(
            url,
            body,
            content_type="application/json",
            headers={"Authorization": basic("janus", EVENTS_SECRET)},
        )
    assert response.status_code == 200
    assert [(e.kind, e.room_id, e.participant, e.feed_id) for e in listening] == [
        ("publishing", 5, "p1", "77"),
        ("unpublished", 5, "p1", "77"),
        ("joined", 5, "explodes", "78"),
    ]
    assert "listener failed" in caplog.text  # logged, and the post still answered

    for headers in (
        {},
        {"Authorization": basic("janus", "wrong")},
        {"Authorization": basic("admin", EVENTS_SECRET)},
        {"Authorization": "Basic !!!"},
        {"Authorization": f"Bearer {EVENTS_SECRET}"},
    ):
        refused = await client.post(url, body, content_type="application/json", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"
    auth = {"Authorization": basic("janus", EVENTS_SECRET)}
    garbage = await client.post(url, "{nope", content_type="application/json", headers=auth)
    assert (garbage.status_code, garbage.json()["code"]) == (400, "bad_json")
    big = json.dumps([{"pad": "x" * 1024}] * 1100)
    too_big = await client.post(url, big, content_type="application/json", headers=auth)
    assert too_big.status_code == 413
    assert (await client.get(url, headers=auth)).status_code == 405
    assert len(listening) == 3  # nothing more reached the engine


async def test_no_events_without_the_janus_engine_or_its_secret(listening, settings):
    client = AsyncClient()
    auth = {"Authorization": basic("janus", EVENTS_SECRET)}
    settings.MEDIA_ENGINE = "embedded"
    response = await client.post(
        "/media/janus/events", "[]", content_type="application/json", headers=auth
    )
    assert response.status_code == 404
    settings.MEDIA_ENGINE = "janus"
    settings.JANUS_EVENTS_SECRET = ""
    for headers in (auth, {"Authorization": basic("janus", "")}):
        response = await client.post(
            "/media/janus/events", "[]", content_type="application/json", headers=headers
        )
        assert response.status_code == 401


# -- Media, in a network namespace ------------------------------------------------------------


def test_media_flows_through_janus_in_a_network_namespace(netns, tmp_path):
    """An aiortc publisher and subscriber with Janus, all in the namespace (see
    janus_fixture._media_run): the subscriber decodes audio and video, muting the video
    (from another Antenne process) stops it, stats and events come through Janus's event
    handler."""
    peers.janus()  # here, where a missing Janus skips; the run in the namespace uses it too
    process = netns.popen(
        [sys.executable, "-m", "tests.media.janus_fixture", "media", str(tmp_path), netns.address],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        out, err = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    assert process.returncode == 0, f"{err}\n{(tmp_path / 'janus.log').read_text()}"
    seen = json.loads(out.strip().splitlines()[-1])
    feed_id = seen["feed_id"]
    assert seen["feeds"] == [[feed_id, "p1", "camera", True, True]]
    # The unknown feed was skipped; the offer carries the feed's video and audio.
    assert list(seen["streams"]) == [feed_id]
    assert sorted(kind for _, kind in seen["streams"][feed_id]) == ["audio", "video"]
    assert seen["received"] is True
    assert seen["video_while_muted"] == [0, 0]
    assert min(seen["audio_while_video_muted"]) > 20  # 50 frames a second
    assert min(seen["video_after_unmute"]) > 5
    # Janus's stats: what it receives from the publisher, what it sends each subscriber.
    assert seen["stats"] == [
        ["p1", "in", "audio"],
        ["p1", "in", "video"],
        ["p2", "out", "audio"],
        ["p2", "out", "video"],
        ["p3", "out", "audio"],
        ["p3", "out", "video"],
    ]
    # The subscription stopped by the other process stops; the other one goes on until the
    # feed is unpublished.
    assert seen["video_after_unsubscribe"][0] > 10
    assert seen["video_after_unsubscribe"][1] == 0
    assert seen["feeds_after_unpublish"] == 0
    assert seen["video_after_unpublish"] == [0, 0]
    assert ["publishing", "p1"] in seen["events"]
    assert ["unpublished", "p1"] in seen["events"]
    # The handle the other process detached was forgotten by this one; "p2"'s is still open.
    assert seen["handles_left"] == 1
