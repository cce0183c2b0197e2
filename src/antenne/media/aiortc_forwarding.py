"""Forwarding encoded media between aiortc peer connections, without decoding or encoding.

This is the only module that touches aiortc internals (pinned to aiortc 1.16.0 in
pyproject.toml, and tested at that version by tests/media/test_embedded.py):

- `RTCRtpReceiver._handle_rtp_packet` reassembles frames in its jitter buffer, then puts
  `(codec, JitterFrame)` on the private `__decoder_queue` read by a decoder thread.
  `tap_encoded_frames` swaps that queue for one that hands each encoded frame to us on the
  event loop instead; the decoder thread stays idle and still exits on the `None` that
  `RTCRtpReceiver` puts when it stops.
- `RTCRtpSender._next_encoded_frame` only *packs* what a track's `recv()` returns when it
  is an `av.Packet` (no encoder runs): `ForwardedTrack` returns packets.
- `RTCRtpSender._handle_rtcp_packet` calls `self._send_keyframe()` on PLI/FIR:
  `redirect_keyframe_requests` replaces it on one sender instance.
- `RTCRtpReceiver._send_rtcp_pli(media_ssrc)` sends a PLI to the publisher.
- `aiortc.sdp.SessionDescription.parse` reads an offer before aiortc is given it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import Any, Protocol

import av
from aiortc import RTCRtpReceiver, RTCRtpSender, sdp
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

logger = logging.getLogger(__name__)

TIME_BASES = {"video": Fraction(1, 90000), "audio": Fraction(1, 48000)}
# A subscriber that falls this far behind loses frames instead of growing a backlog
# (about one second of 30 fps video, of 20 ms Opus frames).
QUEUE_FRAMES = {"video": 30, "audio": 50}
# At most one picture loss indication per publisher per interval: a keyframe costs the
# publisher a burst of bitrate, and a room of subscribers asks for one at the same moment.
PLI_INTERVAL = 0.5


def describe_media(sdp_text: str) -> list[tuple[str, str, set[str]]]:
    """`(kind, direction, lower-case codec mime types)` of each m-line, or ValueError.

    aiortc's parser asserts on some malformed input and accepts any garbage as an empty
    description; both come out as ValueError or an empty list here."""
    try:
        description = sdp.SessionDescription.parse(sdp_text)
    except Exception as exc:  # AssertionError, IndexError, KeyError… from a hand-written parser
        raise ValueError(f"unparsable SDP: {exc!r}") from None
    return [
        (m.kind, m.direction or "sendrecv", {c.mimeType.lower() for c in m.rtp.codecs})
        for m in description.media
    ]


def is_keyframe(kind: str, data: bytes) -> bool:
    """Every audio frame stands alone; a VP8 frame is a keyframe when bit 0 of its first
    byte (the frame tag's inverted key-frame flag, RFC 6386 section 9.1) is clear."""
    return kind == "audio" or (bool(data) and data[0] & 0x01 == 0)


class Scheduler(Protocol):
    """What `KeyframeThrottle` needs of an event loop (a fake one in tests)."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object], /) -> Any: ...


class KeyframeThrottle:
    """Combines keyframe requests: at most one `send()` per `interval`, and a request that
    arrives inside the interval is delayed to its end, never dropped (the subscriber that
    asked is waiting for that picture)."""

    def __init__(
        self, send: Callable[[], None], *, scheduler: Scheduler, interval: float = PLI_INTERVAL
    ) -> None:
        self._send = send
        self._scheduler = scheduler
        self.interval = interval
        self._last: float | None = None
        self._pending: Any = None  # the scheduled send's handle

    def request(self) -> None:
        if self._pending is not None:
            return  # the scheduled send answers this request too
        now = self._scheduler.time()
        if self._last is None or now >= self._last + self.interval:
            self._fire()
        else:
            self._pending = self._scheduler.call_at(self._last + self.interval, self._fire)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _fire(self) -> None:
        self._pending = None
        self._last = self._scheduler.time()
        self._send()


class _FrameTap(queue.Queue[Any]):
    """Stands in for `RTCRtpReceiver.__decoder_queue`: frames go to `on_frame`, synchronously
    on the event loop; only the stop sentinel `None` is queued for the decoder thread."""

    def __init__(self, on_frame: Callable[[bytes, int], None]) -> None:
        super().__init__()
        self._on_frame = on_frame

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(item, block, timeout)
            return
        _codec, frame = item
        try:
            self._on_frame(frame.data, frame.timestamp)
        except Exception:
            # An error here would end the DTLS transport's receive loop: log it instead.
            logger.exception("forwarding a frame failed")


def tap_encoded_frames(receiver: RTCRtpReceiver, on_frame: Callable[[bytes, int], None]) -> None:
    """Route the receiver's reassembled encoded frames to `on_frame(data, timestamp)`.
    Must run before `receive()` starts the decoder thread (i.e. before the connection is
    up); the timestamp is in the codec's clock rate, starting at 0."""
    name = "_RTCRtpReceiver__decoder_queue"
    if not isinstance(getattr(receiver, name, None), queue.Queue):
        raise RuntimeError(f"aiortc changed: RTCRtpReceiver has no {name}")
    setattr(receiver, name, _FrameTap(on_frame))


def redirect_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """A PLI or FIR from the subscriber reaches `request` instead of the sender's (unused)
    encoder."""
    sender._send_keyframe = request  # type: ignore[method-assign]


def send_picture_loss(receiver: RTCRtpReceiver) -> asyncio.Task[None] | None:
    """Ask the publisher for a keyframe on the SSRC it is sending; None before any media
    arrived (its first frame is a keyframe anyway)."""
    sources = receiver.getSynchronizationSources()
    if not sources:
        return None
    ssrc = max(sources, key=lambda s: s.timestamp).source
    return asyncio.ensure_future(receiver._send_rtcp_pli(ssrc))


class ForwardedTrack(MediaStreamTrack):
    """One subscriber's copy of a published track. `recv()` returns encoded `av.Packet`s, so
    the subscriber's `RTCRtpSender` repackages them into RTP without encoding.

    Frames are kept only once the sender reads (the subscriber is connected), in a bounded
    queue; video starts, and restarts after an overflow or an unmute, at a keyframe, and
    asks for one while it waits."""

    def __init__(
        self,
        kind: str,
        *,
        request_keyframe: Callable[[], None],
        on_stop: Callable[[ForwardedTrack], None],
    ) -> None:
        super().__init__()
        self.kind = kind
        self._request_keyframe = request_keyframe
        self._on_stop: Callable[[ForwardedTrack], None] | None = on_stop
        self._frames: deque[av.Packet] = deque()
        self._ready = asyncio.Event()
        self._reading = False
        self._needs_keyframe = kind == "video"

    def push(self, packet: av.Packet, keyframe: bool) -> None:
        if not self._reading or self.readyState != "live":
            return
        if self._needs_keyframe and not keyframe:
            self._request_keyframe()
            return
        self._needs_keyframe = False
        if len(self._frames) >= QUEUE_FRAMES[self.kind]:
            if self.kind == "audio":
                self._frames.popleft()
            else:  # an inter frame without its predecessors would show garbage
                self._frames.clear()
                if not keyframe:
                    self.restart()
                    return
        self._frames.append(packet)
        self._ready.set()

    def restart(self) -> None:
        """Drop what is queued and wait for the next keyframe (after a gap in the stream)."""
        self._frames.clear()
        if self.kind == "video":
            self._needs_keyframe = True
            if self._reading:
                self._request_keyframe()

    async def recv(self) -> av.Packet:
        if not self._reading:
            self._reading = True
            if self.kind == "video":
                self._request_keyframe()  # the subscriber just connected: show it a picture
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        self._frames.clear()
        self._ready.set()
        if self._on_stop is not None:
            on_stop, self._on_stop = self._on_stop, None
            on_stop(self)


class PublishedTrack:
    """One incoming track of a publisher, fanned out to subscribers' `ForwardedTrack`s: one
    `av.Packet` per frame, shared by every subscriber."""

    def __init__(
        self, kind: str, receiver: RTCRtpReceiver, *, on_first_frame: Callable[[], None]
    ) -> None:
        self.kind = kind
        self.receiver = receiver
        self.muted = False
        self.bytes_received = 0
        self.frames_received = 0
        self._subscribers: set[ForwardedTrack] = set()
        self._on_first_frame: Callable[[], None] | None = on_first_frame
        self._tasks: set[asyncio.Task[None]] = set()
        self._throttle = KeyframeThrottle(
            self._send_picture_loss, scheduler=asyncio.get_running_loop()
        )
        tap_encoded_frames(receiver, self._on_frame)

    def subscribe(self) -> ForwardedTrack:
        track = ForwardedTrack(
            self.kind, request_keyframe=self.request_keyframe, on_stop=self._subscribers.discard
        )
        self._subscribers.add(track)
        return track

    def request_keyframe(self) -> None:
        if self.kind == "video":
            self._throttle.request()

    def set_muted(self, muted: bool) -> None:
        if self.muted and not muted:
            for track in self._subscribers:
                track.restart()
        self.muted = muted

    def close(self) -> None:
        """End every subscriber's track (their senders stop) and pending PLIs."""
        self._throttle.close()
        for track in list(self._subscribers):
            track.stop()
        for task in self._tasks:
            task.cancel()

    def _on_frame(self, data: bytes, timestamp: int) -> None:
        self.bytes_received += len(data)
        self.frames_received += 1
        if self._on_first_frame is not None:
            on_first_frame, self._on_first_frame = self._on_first_frame, None
            on_first_frame()
        if self.muted or not self._subscribers:
            return
        packet = av.Packet(data)
        packet.pts = timestamp
        packet.time_base = TIME_BASES[self.kind]
        keyframe = is_keyframe(self.kind, data)
        for track in list(self._subscribers):
            track.push(packet, keyframe)

    def _send_picture_loss(self) -> None:
        task = send_picture_loss(self.receiver)
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
