"""Real aiortc peers for the media engines' tests: a publisher sending a recognisable
picture and tone, subscribers that decode what the engine forwards. test_embedded.py and
the Janus tests (test_janus.py, janus_fixture.py) both drive engines with them."""

from __future__ import annotations

import array
import asyncio
import math
import threading
import time
from collections.abc import Callable
from fractions import Fraction

import aioice.ice
import av
import pytest
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

from antenne.media.embedded import EmbeddedEngine
from antenne.media.engine import EngineEvent

ROOM = 7
WIDTH, HEIGHT = 640, 480
TONE_HZ = 440
SAMPLE_RATE = 48000


@pytest.fixture
def loopback_ice(monkeypatch):
    """aioice never offers 127.0.0.1 as a host candidate, and tests only use loopback: this
    test seam makes every peer (the engine's and the clients') gather 127.0.0.1 only."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
async def engine(loopback_ice):
    """The engine, with a listener that records events; closed and checked empty after."""
    engine = EmbeddedEngine()
    events: list[EngineEvent] = []

    async def listen(event: EngineEvent) -> None:
        events.append(event)

    engine.set_listener(listen)
    engine.events = events  # type: ignore[attr-defined]
    yield engine
    await engine.close()
    assert engine._rooms == {}
    # Every receiver's (idle) decoder thread ended with its connection.
    assert not [t for t in threading.enumerate() if t.name.endswith("-decoder")]


@pytest.fixture
async def peers(engine):
    """Every client peer made in a test, closed at its end (before the engine is)."""
    made: list[Client] = []
    yield made
    for client in made:
        await client.close()


class PatternVideo(VideoStreamTrack):
    """640×480 at 30 fps: left half dark, right half bright, and a bright square moving on
    the dark half so inter frames carry something."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        square = 40 + (self.count * 4) % 200
        row = bytes([20] * (WIDTH // 2) + [230] * (WIDTH // 2))
        lit = bytearray(row)
        lit[square : square + 40] = bytes([230] * 40)
        frame.planes[0].update(row * 200 + bytes(lit) * 40 + row * (HEIGHT - 240))
        frame.planes[1].update(bytes([128]) * frame.planes[1].buffer_size)
        frame.planes[2].update(bytes([128]) * frame.planes[2].buffer_size)
        frame.pts, frame.time_base = pts, time_base
        self.count += 1
        return frame


class ToneAudio(AudioStreamTrack):
    """A 440 Hz tone, 20 ms frames at 48 kHz."""

    SAMPLES = 960
    WAVE = array.array(
        "h",
        (int(8000 * math.sin(2 * math.pi * TONE_HZ * i / SAMPLE_RATE)) for i in range(SAMPLE_RATE)),
    ).tobytes()
    WAVE2 = WAVE * 2

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if hasattr(self, "_timestamp"):
            self._timestamp += self.SAMPLES
            await asyncio.sleep(self._start + self._timestamp / SAMPLE_RATE - time.time())
        else:
            self._start, self._timestamp = time.time(), 0
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        at = self._timestamp % SAMPLE_RATE * 2
        chunk = self.WAVE2[at : at + self.SAMPLES * 2]
        frame.planes[0].update(chunk)
        frame.pts, frame.sample_rate = self._timestamp, SAMPLE_RATE
        frame.time_base = Fraction(1, SAMPLE_RATE)
        return frame


class Client:
    """One browser stand-in: an aiortc peer connection with no ICE servers."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._tasks: list[asyncio.Task[None]] = []

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


class Publisher(Client):
    def __init__(self, *, audio: bool = True, video: bool = True) -> None:
        super().__init__()
        self.video = PatternVideo() if video else None
        self.keyframe_requests: list[float] = []  # loop times of PLIs that reached us
        for track in (self.video, ToneAudio() if audio else None):
            if track is not None:
                self.pc.addTrack(track)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def publish(self, engine: EmbeddedEngine, participant: str, *, room: int = ROOM) -> str:
        feed_id, answer = await engine.publish(
            room, participant, await self.offer(), source="camera"
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        self.answer = answer
        for sender in self.pc.getSenders():
            if sender.kind == "video":
                self._count_keyframe_requests(sender)
        return feed_id

    def _count_keyframe_requests(self, sender: RTCRtpSender) -> None:
        loop = asyncio.get_running_loop()
        original = sender._send_keyframe

        def recorded() -> None:
            self.keyframe_requests.append(loop.time())
            original()

        sender._send_keyframe = recorded  # type: ignore[method-assign]


class Subscriber(Client):
    """Subscribes, answers, and decodes every track it receives, keeping counts and the
    latest frame of each kind."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: dict[str, int] = {"audio": 0, "video": 0}
        self.first: dict[str, av.AudioFrame | av.VideoFrame] = {}
        self.last: dict[str, av.AudioFrame | av.VideoFrame] = {}
        self.audio: list[av.AudioFrame] = []
        self.ended: dict[str, bool] = {}
        self.streams: dict[str, list[tuple[str, str]]] = {}

    async def subscribe(
        self, engine: EmbeddedEngine, participant: str, feed_ids: list[str], *, room: int = ROOM
    ) -> str:
        subscription = await engine.subscribe(room, participant, feed_ids)
        self.streams = subscription.streams
        await self.pc.setRemoteDescription(RTCSessionDescription(subscription.offer_sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        for transceiver in self.pc.getTransceivers():
            self._tasks.append(asyncio.ensure_future(self._read(transceiver.receiver)))
        answer = self.pc.localDescription.sdp
        await engine.complete_subscription(room, subscription.subscription_id, answer)
        return subscription.subscription_id

    async def _read(self, receiver: RTCRtpReceiver) -> None:
        kind = receiver.track.kind
        try:
            while True:
                frame = await receiver.track.recv()
                self.frames[kind] += 1
                self.first.setdefault(kind, frame)
                self.last[kind] = frame
                if kind == "audio" and len(self.audio) < 100:
                    self.audio.append(frame)
        except MediaStreamError:
            self.ended[kind] = True

    async def request_keyframes(self) -> None:
        """Send a real RTCP PLI for every video track, as a browser does after a loss."""
        for receiver in self.pc.getReceivers():
            sources = receiver.getSynchronizationSources()
            if receiver.track.kind == "video" and sources:
                await receiver._send_rtcp_pli(sources[0].source)


async def eventually(predicate: Callable[[], object], timeout: float = 8.0) -> None:
    """Wait until `predicate()` holds, failing the test after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)
