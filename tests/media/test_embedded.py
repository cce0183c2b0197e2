"""The embedded engine against real aiortc peers on loopback: what a subscriber decodes, what
the publisher is asked for, what is left once people leave."""

from __future__ import annotations

import array
import asyncio
import itertools
import logging

import av
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError

from antenne.media import aiortc_forwarding, embedded
from antenne.media.aiortc_forwarding import ForwardedTrack, KeyframeThrottle
from antenne.media.embedded import add_bitrate_hints
from antenne.media.engine import MediaError
from tests.media.conftest import (
    HEIGHT,
    ROOM,
    TONE_HZ,
    WIDTH,
    Publisher,
    Subscriber,
    eventually,
)


def looks_like_the_pattern(frame: av.VideoFrame) -> bool:
    """Row 100 of the publisher's picture: dark left half, bright right half."""
    luma = frame.planes[0]
    row = bytes(luma)[100 * luma.line_size : 100 * luma.line_size + WIDTH]
    left, right = row[: WIDTH // 2 - 16], row[WIDTH // 2 + 16 :]
    return sum(left) / len(left) < 60 and sum(right) / len(right) > 190


def zero_crossings(frames: list[av.AudioFrame]) -> int:
    samples = array.array("h")
    for frame in frames:
        samples.frombytes(bytes(frame.planes[0])[: frame.samples * 2 * len(frame.layout.channels)])
    left = samples[:: len(frames[0].layout.channels)]
    return sum(1 for a, b in itertools.pairwise(left) if (a < 0) != (b < 0))


async def publish_and_watch(engine, peers, watchers: int = 1):
    publisher = Publisher()
    peers.append(publisher)
    feed_id = await publisher.publish(engine, "p1")
    subscribers = [Subscriber() for _ in range(watchers)]
    peers.extend(subscribers)
    for number, subscriber in enumerate(subscribers, start=2):
        await subscriber.subscribe(engine, f"p{number}", [feed_id])
    await eventually(
        lambda: all(s.frames["video"] > 5 and s.frames["audio"] > 5 for s in subscribers)
    )
    return publisher, feed_id, subscribers


# --- Forwarding


async def test_two_subscribers_decode_the_published_picture_and_tone_never_reencoded(
    engine, peers, monkeypatch
):
    encoders: dict[str, set[int]] = {"encode": set(), "pack": set()}
    for cls in (Vp8Encoder, OpusEncoder):
        for method in ("encode", "pack"):
            original = getattr(cls, method)

            def spy(self, *args, _original=original, _method=method, **kwargs):
                encoders[_method].add(id(self))
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(cls, method, spy)

    _publisher, feed_id, subscribers = await publish_and_watch(engine, peers, watchers=2)
    await eventually(
        lambda: all(s.frames["video"] > 30 and len(s.audio) >= 20 for s in subscribers)
    )

    for subscriber in subscribers:
        assert subscriber.streams == {feed_id: [("0", "video"), ("1", "audio")]}
        picture = subscriber.last["video"]
        assert (picture.width, picture.height) == (WIDTH, HEIGHT)
        assert looks_like_the_pattern(picture)
        # 440 Hz crosses zero 880 times a second: 176 times in 0.2 s of audio.
        assert 150 < zero_crossings(subscriber.audio[10:20]) < 200, TONE_HZ
    # Only the publisher's two encoders ever encoded; the engine's four senders only packed.
    assert len(encoders["encode"]) == 2
    assert len(encoders["pack"]) == 4
    assert not encoders["encode"] & encoders["pack"]
    assert [e.kind for e in engine.events if e.kind != "joined"] == ["publishing"]


async def test_publisher_answer_asks_chromium_for_a_usable_start_bitrate(engine, peers):
    publisher = Publisher()
    peers.append(publisher)
    await publisher.publish(engine, "p1")

    assert "x-google-start-bitrate=1500;x-google-min-bitrate=300" in publisher.answer
    assert "H264" not in publisher.answer
    assert "rtx" not in publisher.answer


def test_bitrate_hints_extend_an_existing_vp8_fmtp_line():
    sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=rtpmap:96 VP8/90000\r\n" + (
        "a=fmtp:96 max-fr=30\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
    )
    hinted = add_bitrate_hints(sdp)
    assert "a=fmtp:96 max-fr=30;x-google-start-bitrate=1500;" in hinted
    assert "a=fmtp:97 apt=96\r\n" in hinted
    assert hinted.count("x-google-start-bitrate") == 1


async def test_late_subscriber_gets_a_picture_through_a_keyframe_request(engine, peers, caplog):
    caplog.set_level(logging.WARNING, logger="aiortc.rtcrtpreceiver")
    publisher, feed_id, _ = await publish_and_watch(engine, peers)
    await asyncio.sleep(1)  # the publisher's first keyframe is long gone
    asked = len(publisher.keyframe_requests)

    late = Subscriber()
    peers.append(late)
    await late.subscribe(engine, "p9", [feed_id])
    await eventually(lambda: late.frames["video"] > 0)
    await asyncio.sleep(0.2)

    assert len(publisher.keyframe_requests) > asked
    assert looks_like_the_pattern(late.first["video"])
    # No inter frame reached it before the keyframe (its decoder would have failed on it).
    assert "failed to decode" not in caplog.text


async def test_keyframe_requests_from_many_subscribers_reach_the_publisher_combined(engine, peers):
    publisher, _, subscribers = await publish_and_watch(engine, peers, watchers=3)
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.6)
    start = loop.time()
    for _ in range(15):  # 1.5 s of every subscriber losing pictures every 100 ms
        await asyncio.gather(*(s.request_keyframes() for s in subscribers))
        last_request = loop.time()
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.7)

    sent = [t for t in publisher.keyframe_requests if t >= start]
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) > aiortc_forwarding.PLI_INTERVAL - 0.05, gaps
    assert 3 <= len(sent) <= 5, sent  # 45 requests in 1.5 s
    assert sent[-1] > last_request  # the last request was delayed, not dropped


class FakeClock:
    """The part of an event loop `KeyframeThrottle` uses, with time moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[list] = []  # [when, callback, cancelled]

    def time(self) -> float:
        return self.now

    def call_at(self, when, callback):
        timer = [when, callback, False]
        self.timers.append(timer)

        class Handle:
            def cancel(self) -> None:
                timer[2] = True

        return Handle()

    def advance(self, to: float) -> None:
        self.now = to
        for timer in [t for t in self.timers if t[0] <= to]:
            self.timers.remove(timer)
            if not timer[2]:
                timer[1]()


def test_keyframe_throttle_sends_at_most_one_request_per_interval_and_delays_the_rest():
    clock = FakeClock()
    sent: list[float] = []
    throttle = KeyframeThrottle(lambda: sent.append(clock.now), scheduler=clock, interval=0.5)

    throttle.request()  # the first goes at once
    clock.advance(100.1)
    throttle.request()  # inside the interval: scheduled for its end
    clock.advance(100.2)
    throttle.request()  # already scheduled: combined with it
    assert sent == [100.0]
    assert [t[0] for t in clock.timers] == [100.5]

    clock.advance(100.5)
    assert sent == [100.0, 100.5]
    clock.advance(100.7)
    throttle.request()  # 0.2 s after the last one: waits until 101.0
    clock.advance(100.9)
    assert sent == [100.0, 100.5]
    clock.advance(101.0)
    assert sent == [100.0, 100.5, 101.0]

    clock.advance(102.0)
    throttle.request()  # a quiet interval later: at once again
    assert sent == [100.0, 100.5, 101.0, 102.0]
    throttle.request()
    throttle.close()  # a closed feed sends nothing more
    clock.advance(103.0)
    assert sent == [100.0, 100.5, 101.0, 102.0]


async def test_a_slow_subscriber_queue_stays_bounded_and_restarts_at_a_keyframe():
    requests: list[str] = []
    track = ForwardedTrack(
        "video", request_keyframe=lambda: requests.append("pli"), on_stop=lambda track: None
    )
    reading = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    assert requests == ["pli"]  # asked for a picture as soon as the subscriber read

    def frame(tag: int, key: bool) -> av.Packet:
        return av.Packet(bytes([0x00 if key else 0x01, tag]))

    track.push(frame(1, key=False), keyframe=False)  # not before the keyframe
    track.push(frame(2, key=True), keyframe=True)
    assert bytes(await reading) == bytes([0x00, 2])
    for tag in range(200):  # the subscriber stops reading
        track.push(frame(tag, key=False), keyframe=False)
    assert len(track._frames) < aiortc_forwarding.QUEUE_FRAMES["video"]
    track.push(frame(7, key=True), keyframe=True)
    assert bytes(await track.recv()) == bytes([0x00, 7])  # the backlog was dropped
    assert len(requests) > 1
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


# --- Controls


async def test_muted_video_stops_reaching_subscribers_while_audio_goes_on(engine, peers):
    _, feed_id, (subscriber,) = await publish_and_watch(engine, peers)

    await engine.mute(ROOM, feed_id, "video", True)
    await asyncio.sleep(0.3)
    video, audio = subscriber.frames["video"], subscriber.frames["audio"]
    await asyncio.sleep(1)
    assert subscriber.frames["video"] == video
    assert subscriber.frames["audio"] > audio + 30

    await engine.mute(ROOM, feed_id, "video", False)
    await eventually(lambda: subscriber.frames["video"] > video)
    assert looks_like_the_pattern(subscriber.last["video"])


async def test_stats_show_live_bitrates_in_and_out(engine, peers):
    await publish_and_watch(engine, peers)
    await engine.stats(ROOM)
    await asyncio.sleep(1)

    stats = {(s.participant, s.direction, s.kind): s for s in await engine.stats(ROOM)}
    assert set(stats) == {
        ("p1", "in", "video"),
        ("p1", "in", "audio"),
        ("p2", "out", "video"),
        ("p2", "out", "audio"),
    }
    assert all(s.bitrate and s.bitrate > 10_000 for s in stats.values())
    assert stats["p1", "in", "video"].packets_lost == 0


async def test_unpublish_ends_the_subscribers_tracks_and_the_publishers_connection(engine, peers):
    publisher, feed_id, subscribers = await publish_and_watch(engine, peers, watchers=2)

    await engine.unpublish(ROOM, feed_id)
    await engine.unpublish(ROOM, feed_id)  # idempotent

    await eventually(lambda: all(s.ended == {"video": True, "audio": True} for s in subscribers))
    await eventually(lambda: publisher.pc.connectionState == "closed")
    assert await engine.list_feeds(ROOM) == []
    assert [(e.kind, e.feed_id) for e in engine.events if e.feed_id] == [
        ("publishing", feed_id),
        ("unpublished", feed_id),
    ]


async def test_kick_closes_every_connection_of_the_participant(engine, peers):
    alice, bob = Publisher(), Publisher()
    alice_watches, bob_watches = Subscriber(), Subscriber()
    peers.extend([alice, bob, alice_watches, bob_watches])
    alice_feed = await alice.publish(engine, "alice")
    bob_feed = await bob.publish(engine, "bob")
    await alice_watches.subscribe(engine, "alice", [bob_feed])
    await bob_watches.subscribe(engine, "bob", [alice_feed])
    await eventually(lambda: alice_watches.frames["video"] and bob_watches.frames["video"])

    await engine.kick(ROOM, "alice")

    await eventually(
        lambda: alice.pc.connectionState == alice_watches.pc.connectionState == "closed"
    )
    await eventually(lambda: bob_watches.ended.get("video"))
    assert [f.feed_id for f in await engine.list_feeds(ROOM)] == [bob_feed]
    assert bob.pc.connectionState == "connected"
    assert [e.participant for e in engine.events if e.kind == "left"] == ["alice"]


async def test_close_room_closes_every_connection(engine, peers):
    publisher, _feed_id, (subscriber,) = await publish_and_watch(engine, peers)

    await engine.close_room(ROOM)

    await eventually(
        lambda: publisher.pc.connectionState == subscriber.pc.connectionState == "closed"
    )
    assert await engine.list_feeds(ROOM) == []
    assert ROOM not in engine._rooms
    assert sorted(e.participant for e in engine.events if e.kind == "left") == ["p1", "p2"]


async def test_a_publisher_that_goes_away_is_cleaned_up(engine, peers):
    publisher, feed_id, (subscriber,) = await publish_and_watch(engine, peers)

    await publisher.close()

    await eventually(
        lambda: ("unpublished", feed_id) in [(e.kind, e.feed_id) for e in engine.events]
    )
    assert await engine.list_feeds(ROOM) == []
    await eventually(lambda: subscriber.ended.get("video"))


async def test_a_subscription_never_answered_is_dropped(engine, peers, monkeypatch):
    _, feed_id, _ = await publish_and_watch(engine, peers)
    monkeypatch.setattr(embedded, "CONNECT_TIMEOUT", 0.3)

    subscription = await engine.subscribe(ROOM, "p3", [feed_id])  # the browser vanished

    await eventually(lambda: subscription.subscription_id not in engine._rooms[ROOM].subscriptions)
    assert ("left", "p3") in [(e.kind, e.participant) for e in engine.events]
    assert [f.feed_id for f in await engine.list_feeds(ROOM)] == [feed_id]


async def test_a_failing_listener_does_not_stop_the_engine(engine, peers, caplog):
    async def broken(event):
        raise RuntimeError("listener bug")

    engine.set_listener(broken)
    with caplog.at_level(logging.ERROR, logger="antenne.media.embedded"):
        _, feed_id, (subscriber,) = await publish_and_watch(engine, peers)
        await engine.unpublish(ROOM, feed_id)
        await eventually(lambda: subscriber.ended.get("video"))
    assert "listener failed" in caplog.text


# --- Refusals


def h264_only_offer_transform(publisher: Publisher) -> None:
    for transceiver in publisher.pc.getTransceivers():
        if transceiver.kind == "video":
            caps = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in caps if c.mimeType == "video/H264"])


@pytest.mark.parametrize(
    "offer",
    [
        "",
        "garbage",
        "v=0\r\nm=video x y\r\n",
        "v=0\r\n" + "a=x\r\n" * 20_000,
        "h264",
        "recvonly",
        "datachannel",
    ],
    ids=["empty", "garbage", "malformed", "huge", "h264-only", "recvonly", "no-media"],
)
async def test_publish_refuses_bad_offers(engine, peers, offer):
    if offer in ("h264", "recvonly", "datachannel"):
        client = Publisher(audio=False, video=offer == "h264")
        peers.append(client)
        if offer == "h264":
            h264_only_offer_transform(client)
        elif offer == "recvonly":
            client.pc.addTransceiver("video", direction="recvonly")
        else:
            client.pc.createDataChannel("chat")
        offer = await client.offer()

    with pytest.raises(MediaError) as refused:
        await engine.publish(ROOM, "p1", offer, source="camera")

    assert refused.value.code == "media.bad_sdp"
    assert await engine.list_feeds(ROOM) == []


async def test_complete_subscription_refuses_a_bad_answer(engine, peers):
    _, feed_id, _ = await publish_and_watch(engine, peers)
    subscription = await engine.subscribe(ROOM, "p3", [feed_id])
    stranger = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    stranger.addTransceiver("audio")
    await stranger.setLocalDescription(await stranger.createOffer())
    mismatched = stranger.localDescription.sdp.replace("a=sendrecv", "a=recvonly")
    await stranger.close()

    for answer in ("garbage", mismatched):
        with pytest.raises(MediaError) as refused:
            await engine.complete_subscription(ROOM, subscription.subscription_id, answer)
        assert refused.value.code == "media.bad_sdp"
    await engine.unsubscribe(ROOM, subscription.subscription_id)
    assert subscription.subscription_id not in engine._rooms[ROOM].subscriptions


async def test_unknown_rooms_feeds_and_subscriptions(engine, peers):
    async def code(call) -> str:
        with pytest.raises(MediaError) as refused:
            await call
        return refused.value.code

    assert await code(engine.subscribe(404, "p1", ["f1"])) == "media.no_such_room"
    await engine.create_room(ROOM)
    await engine.create_room(ROOM)
    assert await code(engine.subscribe(ROOM, "p1", ["f1"])) == "media.no_such_feed"
    assert (
        await code(engine.complete_subscription(ROOM, "s1", "v=0")) == "media.no_such_subscription"
    )
    assert await code(engine.mute(ROOM, "f1", "audio", True)) == "media.no_such_feed"
    await engine.unpublish(ROOM, "f1")
    await engine.unsubscribe(ROOM, "s1")
    await engine.kick(ROOM, "p1")
    await engine.close_room(404)
    assert await engine.list_feeds(404) == []
    assert await engine.stats(404) == []
