"""The gateway as one participant of a session's media room, whatever the engine.

`SessionBridge` follows one session for all its callers of this process:
- it watches the session's state (waiting, live, over) and tells its calls;
- while live, it holds ONE subscription to the stage's audio (the engine's offer, answered
  by aiortc with the video sections inactive), decodes each track once, resamples it to
  8 kHz and pushes it into the session's `SessionMix`, which the clock mixes and encodes
  once per tick for every caller;
- a caller given the floor is published into the room as an audio feed (`FloorFeed`),
  their voice mixed locally for the other callers (so the subscription leaves it out);
- it listens to the channel-layer group `telephony.<session>` for `phone.floor` messages
  (the animator's console, from any process).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections.abc import Callable
from typing import Any, cast

import av
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from channels.layers import get_channel_layer

from antenne.media.embedded import new_peer_connection
from antenne.media.engine import MediaError
from antenne.media.signaling import get_engine, push_feeds
from antenne.media.signaling import participant_key as presence_key
from antenne.rooms import push, stage_media

from . import services
from .audio import FRAME_SAMPLES, RATE, SessionMix

logger = logging.getLogger("antenne.telephony")

FOLLOW_INTERVAL = 1.0  # seconds between two looks at the session's state and feeds
HEARTBEAT_INTERVAL = 60.0

db = services.db


def participant_key(session_id: int) -> str:
    """How the engine knows the gateway's listening participant of a session."""
    return f"tel{session_id}"


class CallerTrack(MediaStreamTrack):
    """A caller's voice as an aiortc audio track (8 kHz mono; aiortc's Opus encoder
    resamples). Paced by the caller's own RTP; silence when the caller sends nothing."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=50)
        self._pts = 0

    def push(self, pcm: bytes) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(pcm)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            pcm = await asyncio.wait_for(self._queue.get(), 0.1)
        except TimeoutError:
            pcm = bytes(2 * FRAME_SAMPLES)
        samples = len(pcm) // 2
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(pcm[: 2 * samples])
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += samples
        return frame


class FloorFeed:
    """One caller's voice on stage, while they have the floor."""

    def __init__(self, bridge: SessionBridge, presence_id: int) -> None:
        self.bridge = bridge
        self.presence_id = presence_id
        self.track = CallerTrack()
        self.pc: RTCPeerConnection | None = None
        self.engine_feed_id: str | None = None

    @property
    def key(self) -> str:
        return f"caller{self.presence_id}"

    def heard(self, pcm: bytes) -> None:
        self.track.push(pcm)
        self.bridge.mix.push(self.key, pcm)

    async def open(self) -> bool:
        session_id = self.bridge.session_id
        self.pc = new_peer_connection()
        self.pc.addTransceiver(self.track, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        engine = get_engine()
        feed_id, answer = await engine.publish(
            session_id,
            presence_key(self.presence_id),
            self.pc.localDescription.sdp,
            source="camera",
        )
        self.engine_feed_id = feed_id
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        feed = await db(services.open_floor_feed)(
            session_id=session_id, presence_id=self.presence_id, engine_feed_id=feed_id
        )
        if feed is None:
            await self.close()
            return False
        await push_feeds(session_id)
        return True

    async def close(self) -> None:
        self.bridge.mix.remove(self.key)
        self.track.stop()
        ended = await db(stage_media.end_feeds)(
            session_id=self.bridge.session_id, presence_id=self.presence_id
        )
        engine = get_engine()
        stopped = {feed.engine_feed_id for feed in ended}
        for feed_id in {*stopped, *([self.engine_feed_id] if self.engine_feed_id else [])}:
            with contextlib.suppress(MediaError, Exception):
                await engine.unpublish(self.bridge.session_id, feed_id)
        if self.pc is not None:
            await self.pc.close()
            self.pc = None
        if ended:
            with contextlib.suppress(Exception):
                await push_feeds(self.bridge.session_id)


class _Listening:
    """The bridge's one subscription to the stage: a peer connection whose audio tracks
    feed the mix."""

    def __init__(self, bridge: SessionBridge, feed_ids: frozenset[str]) -> None:
        self.bridge = bridge
        self.feed_ids = feed_ids
        self.pc = new_peer_connection()
        self.subscription_id = ""
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        engine = get_engine()
        session_id = self.bridge.session_id
        subscription = await engine.subscribe(
            session_id, participant_key(session_id), sorted(self.feed_ids)
        )
        self.subscription_id = subscription.subscription_id
        await self.pc.setRemoteDescription(RTCSessionDescription(subscription.offer_sdp, "offer"))
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "audio":
                transceiver.direction = "recvonly"
                key = f"stage{transceiver.mid}"
                self.tasks.append(asyncio.create_task(self._read(transceiver.receiver.track, key)))
            else:  # never decode video: the engine sends none to an inactive section
                transceiver.direction = "inactive"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await engine.complete_subscription(
            session_id, self.subscription_id, self.pc.localDescription.sdp
        )

    async def _read(self, track: MediaStreamTrack, key: str) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        mix = self.bridge.mix
        try:
            while True:
                frame = cast(av.AudioFrame, await track.recv())
                for resampled in resampler.resample(frame):
                    mix.push(key, bytes(resampled.planes[0])[: 2 * resampled.samples])
        except MediaStreamError:
            pass
        finally:
            mix.remove(key)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.subscription_id:
            with contextlib.suppress(MediaError, Exception):
                await get_engine().unsubscribe(self.bridge.session_id, self.subscription_id)
        await self.pc.close()


Notify = Callable[[str, Any], None]


class SessionBridge:
    def __init__(self, session_id: int, *, on_empty: Callable[[SessionBridge], None]) -> None:
        self.session_id = session_id
        self.mix = SessionMix()
        self.state: str | None = None
        self.members: dict[int, Notify] = {}  # presence id → the call's event sink
        self.floors: dict[int, FloorFeed] = {}
        self._listening: _Listening | None = None
        self._on_empty = on_empty
        self._tasks: list[asyncio.Task[None]] = []
        self._channel = ""

    async def start(self) -> None:
        self.state = await db(services.session_state)(self.session_id)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._follow()), loop.create_task(self._commands())]

    def add(self, presence_id: int, notify: Notify) -> None:
        self.members[presence_id] = notify

    async def remove(self, presence_id: int) -> None:
        self.members.pop(presence_id, None)
        floor = self.floors.pop(presence_id, None)
        if floor is not None:
            await floor.close()
        if not self.members:
            self._on_empty(self)
            await self.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for floor in list(self.floors.values()):
            await floor.close()
        self.floors.clear()
        if self._listening is not None:
            await self._listening.close()
            self._listening = None
        layer = get_channel_layer()
        if layer is not None and self._channel:
            with contextlib.suppress(Exception):
                await layer.group_discard(push.telephony_group(self.session_id), self._channel)

    def _notify(self, event: str, data: Any) -> None:
        for notify in list(self.members.values()):
            notify(event, data)

    # -- The session's state and stage ------------------------------------------------------

    async def _follow(self) -> None:
        beats = 0.0
        while True:
            try:
                await self._look()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("session %s: following its stage failed", self.session_id)
            await asyncio.sleep(FOLLOW_INTERVAL)
            beats += FOLLOW_INTERVAL
            if beats >= HEARTBEAT_INTERVAL:
                beats = 0.0
                with contextlib.suppress(Exception):
                    await db(services.touch)(list(self.members))

    async def _look(self) -> None:
        state = await db(services.session_state)(self.session_id)
        if state != self.state:
            self.state = state
            self._notify("state", state)
        if state != "live":
            if self._listening is not None:
                await self._listening.close()
                self._listening = None
            return
        engine = get_engine()
        own = {f.engine_feed_id for f in self.floors.values() if f.engine_feed_id}
        try:
            feeds = await engine.list_feeds(self.session_id)
        except MediaError as exc:
            if exc.code != "media.no_such_room":
                raise
            feeds = []
        wanted = frozenset(f.feed_id for f in feeds if f.audio and f.feed_id not in own)
        if self._listening is not None and self._listening.feed_ids == wanted:
            return
        old, self._listening = self._listening, None
        if wanted:
            listening = _Listening(self, wanted)
            try:
                await listening.open()
            except MediaError as exc:
                logger.info("session %s: subscribing to the stage: %s", self.session_id, exc.code)
                await listening.close()
            else:
                self._listening = listening
        if old is not None:  # closed once the new one is up: no gap for the callers
            await old.close()

    # -- The floor ---------------------------------------------------------------------------

    async def _commands(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        self._channel = await layer.new_channel()
        await layer.group_add(push.telephony_group(self.session_id), self._channel)
        while True:
            message = await layer.receive(self._channel)
            if message.get("type") == "phone.revoke":
                self._revoked(message)
                continue
            if message.get("type") != "phone.floor":
                continue
            try:
                presence_id = int(message["presence_id"])
                floor = bool(message["floor"])
            except (KeyError, TypeError, ValueError):
                logger.warning("ignoring a malformed phone.floor message: %r", message)
                continue
            notify = self.members.get(presence_id)
            if notify is not None:
                notify("floor", floor)

    def _revoked(self, message: dict[str, Any]) -> None:
        """Callers whose registration was revoked or erased (`rooms.revocation`): their
        calls end."""
        for presence_id in message.get("presence_ids") or []:
            notify = self.members.get(int(presence_id))
            if notify is not None:
                notify("revoked", None)

    async def give_floor(self, presence_id: int) -> FloorFeed | None:
        if presence_id in self.floors:
            return self.floors[presence_id]
        if self.state != "live":
            return None
        floor = FloorFeed(self, presence_id)
        self.floors[presence_id] = floor
        try:
            opened = await floor.open()
        except (MediaError, Exception):
            logger.exception(
                "session %s: publishing caller %s failed", self.session_id, presence_id
            )
            opened = False
        if not opened:
            self.floors.pop(presence_id, None)
            await floor.close()
            return None
        return floor

    async def take_floor(self, presence_id: int) -> None:
        floor = self.floors.pop(presence_id, None)
        if floor is not None:
            await floor.close()


class Bridges:
    """This process's bridges, one per session with callers."""

    def __init__(self) -> None:
        self._bridges: dict[int, SessionBridge] = {}
        self._lock = asyncio.Lock()

    async def join(self, session_id: int, presence_id: int, notify: Notify) -> SessionBridge:
        async with self._lock:
            bridge = self._bridges.get(session_id)
            if bridge is None:
                bridge = SessionBridge(session_id, on_empty=self._forget)
                await bridge.start()
                self._bridges[session_id] = bridge
            bridge.add(presence_id, notify)
            return bridge

    def _forget(self, bridge: SessionBridge) -> None:
        if self._bridges.get(bridge.session_id) is bridge:
            del self._bridges[bridge.session_id]

    async def close(self) -> None:
        bridges, self._bridges = list(self._bridges.values()), {}
        await asyncio.gather(*(bridge.close() for bridge in bridges), return_exceptions=True)
