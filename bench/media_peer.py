"""The client processes of bench/media.py, each started inside the bench's network namespace
(`ip netns exec`): the publisher (a guest speaker sending 640x480 30 fps VP8 and Opus from
aiortc) or a group of subscribers (registrants receiving the publisher's feed in aiortc
without decoding it), and the REST API calls of the set-up.

It reads one JSON command a line on its standard input and writes one JSON reply a line on
its standard output (logs go to standard error):

- `{"cmd": "api", "base", "token", "method", "path", "body"}` → `{"status", "data"}`;
- `{"cmd": "publish", "base", "session", "speaker_token", "kbps"}`: joins the room as the
  speaker (the WebSocket stays open), publishes its camera through
  `POST /media/sessions/<id>/feeds?source=camera`, waits until connected → `{"feed"}`;
- `{"cmd": "subscribe", "base", "session", "feed", "keys": [join keys]}`: one registrant per
  key joins the room and subscribes to the feed (`POST …/subscriptions`, `PATCH` with the
  answer); waits until every connection is up → `{"ok", "errors"}`;
- `{"cmd": "stats"}` → `{"cpu", "at", "peers": [{"state", "video", "audio", "wire"}],
  "publisher"}`: counters since the start; bench/media.py turns two of them into rates;
- `{"cmd": "close"}`: closes everything and exits.

Subscribers count what they receive without decoding: each receiver's reassembled encoded
frames are diverted before its decoder thread (`antenne.media.aiortc_forwarding.
tap_encoded_frames`, the embedded engine's own tap) and counted (frames, payload bytes,
VP8 key frames); the connection's transport stats give the packets on the wire. The
publisher's VP8 encoder is pinned to `kbps` (aiortc would follow the receiver's bandwidth
estimate, which differs between the engines)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import logging
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import av
import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.codecs import vpx
from websockets.asyncio.client import connect

from antenne.media.aiortc_forwarding import tap_encoded_frames

logger = logging.getLogger("media_peer")

WIDTH, HEIGHT, FPS = 640, 480, 30
CYCLE = 60  # distinct video frames, repeated (2 s)
CONNECT_TIMEOUT = 30.0


def cpu_seconds() -> float:
    with open("/proc/self/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- The publisher's tracks ------------------------------------------------------------------


def _plane(width: int, height: int, rng: random.Random, blobs: int) -> bytes:
    """A smooth random texture: a few dozen random pixels scaled up (bilinear)."""
    small = av.VideoFrame(blobs * 4 // 3 // 2 * 2, blobs // 2 * 2, "gray")
    small.planes[0].update(rng.randbytes(small.planes[0].buffer_size))
    big = small.reformat(width=width, height=height, interpolation="BILINEAR")
    plane = big.planes[0]
    rows = bytes(plane)
    return b"".join(rows[y * plane.line_size : y * plane.line_size + width] for y in range(height))


def make_frames() -> list[av.VideoFrame]:
    """`CYCLE` yuv420p frames: a textured background panning right and down, and a box of
    fresh noise in each frame, so that VP8 always has something to spend its bitrate on."""
    rng = random.Random(7)
    big_w, big_h = WIDTH * 2, HEIGHT * 2
    luma = _plane(big_w, big_h, rng, 60)
    cb, cr = _plane(big_w // 2, big_h // 2, rng, 20), _plane(big_w // 2, big_h // 2, rng, 20)
    frames = []
    for n in range(CYCLE):
        dx, dy = (n * 4) % WIDTH, (n * 2) % HEIGHT
        y_rows = [
            luma[(dy + y) * big_w + dx : (dy + y) * big_w + dx + WIDTH] for y in range(HEIGHT)
        ]
        box_w, box_h, box_x, box_y = 128, 96, 40 + n * 8, 300
        for y in range(box_h):
            row = y_rows[box_y + y]
            y_rows[box_y + y] = row[:box_x] + rng.randbytes(box_w) + row[box_x + box_w :]
        cdx, cdy = dx // 2, dy // 2
        cw = big_w // 2
        u_rows = [
            cb[(cdy + y) * cw + cdx : (cdy + y) * cw + cdx + WIDTH // 2] for y in range(HEIGHT // 2)
        ]
        v_rows = [
            cr[(cdy + y) * cw + cdx : (cdy + y) * cw + cdx + WIDTH // 2] for y in range(HEIGHT // 2)
        ]
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane, rows, width in zip(
            frame.planes, (y_rows, u_rows, v_rows), (WIDTH, WIDTH // 2, WIDTH // 2), strict=True
        ):
            pad = b"\x80" * (plane.line_size - width)
            plane.update(b"".join(row + pad for row in rows))
        frames.append(frame)
    return frames


class PatternTrack(VideoStreamTrack):
    """640x480 at 30 frames a second (paced by aiortc's VideoStreamTrack clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.frames = make_frames()
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = self.frames[self.count % CYCLE]
        self.count += 1
        frame.pts, frame.time_base = pts, time_base
        # aiortc marks a frame as I to answer a keyframe request: these frames are reused.
        frame.pict_type = av.video.frame.PictureType.NONE
        return frame


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone, 20 ms frames of 48 kHz stereo (what Opus encodes without resampling)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        import math

        samples = 960
        period = [int(3000 * math.sin(2 * math.pi * 440 * i / 48000)) for i in range(48000)]
        self.chunks = []
        for n in range(50):
            pcm = bytearray()
            for i in range(samples):
                value = period[(n * samples + i) % 48000].to_bytes(2, "little", signed=True)
                pcm += value + value
            self.chunks.append(bytes(pcm))
        self.start: float | None = None
        self.timestamp = 0

    async def recv(self) -> av.AudioFrame:
        if self.start is None:
            self.start = time.time()
        else:
            self.timestamp += 960
            wait = self.start + self.timestamp / 48000 - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(self.chunks[(self.timestamp // 960) % 50])
        frame.sample_rate = 48000
        frame.pts = self.timestamp
        frame.time_base = fractions.Fraction(1, 48000)
        return frame


# --- The room (WebSocket) and the media endpoints ----------------------------------------------


class Room:
    """One joined WebSocket connection, read until closed (the media token dies with it)."""

    def __init__(self) -> None:
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.reply: asyncio.Future[list] | None = None
        self.closed = False

    async def join(self, base: str, session: int, payload: dict[str, Any]) -> str:
        url = base.replace("http", "ws", 1) + f"/ws/room/{session}/"
        self.ws = await connect(
            url, origin=base, open_timeout=20, ping_interval=None, max_size=2**22
        )
        self.reply = asyncio.get_running_loop().create_future()
        self.reader = asyncio.ensure_future(self._read())
        await self.ws.send(json.dumps(["join", 1, {**payload, "device": "desktop"}]))
        reply = await asyncio.wait_for(self.reply, 20)
        if reply[0] != "success":
            raise RuntimeError(f"join refused: {reply}")
        return reply[2]["media"]["token"]

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                message = json.loads(raw)
                answer = message[0] in ("success", "error") and message[1] == 1
                if answer and self.reply is not None and not self.reply.done():
                    self.reply.set_result(message)
        self.closed = True

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.reader, 5)


def media_headers(token: str, content_type: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


async def wait_connected(pc: RTCPeerConnection, timeout: float = CONNECT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
            raise RuntimeError(f"peer connection {pc.connectionState}")
        await asyncio.sleep(0.05)


def ice_free() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])  # [] not None: no Google STUN


class Counter:
    """Encoded frames and bytes a receiver reassembled (never decoded)."""

    def __init__(self, kind: str) -> None:
        self.video = kind == "video"
        self.frames = 0
        self.bytes = 0
        self.keyframes = 0

    def __call__(self, data: bytes, _timestamp: int) -> None:
        self.frames += 1
        self.bytes += len(data)
        if self.video and data and data[0] & 0x01 == 0:  # VP8 frame tag: a key frame
            self.keyframes += 1


class Subscriber:
    def __init__(self, key: str) -> None:
        self.key = key
        self.room = Room()
        self.pc: RTCPeerConnection | None = None
        self.counters: dict[str, Counter] = {}

    async def start(self, client: httpx.AsyncClient, base: str, session: int, feed: int) -> None:
        token = await self.room.join(base, session, {"join_key": self.key})
        response = await client.post(
            f"{base}/media/sessions/{session}/subscriptions",
            content=json.dumps({"feeds": [feed]}),
            headers=media_headers(token, "application/json"),
        )
        if response.status_code != 201:
            raise RuntimeError(f"subscribe: {response.status_code} {response.text[:300]}")
        offer = response.json()
        self.pc = pc = RTCPeerConnection(ice_free())
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        for transceiver in pc.getTransceivers():
            counter = self.counters.setdefault(transceiver.kind, Counter(transceiver.kind))
            tap_encoded_frames(transceiver.receiver, counter)
        await pc.setLocalDescription(await pc.createAnswer())
        response = await client.patch(
            f"{base}/media/sessions/{session}/subscriptions/{offer['id']}",
            content=pc.localDescription.sdp,
            headers=media_headers(token, "application/sdp"),
        )
        if response.status_code != 204:
            raise RuntimeError(f"answer: {response.status_code} {response.text[:300]}")
        await wait_connected(pc)

    async def stats(self) -> dict[str, Any]:
        """Frames and payload bytes by kind (from the taps), and the packets and bytes of the
        subscription's one (bundled) transport, RTP and RTCP both ways. (aiortc's
        inbound-rtp stats are not used: one entry per receiver, whichever SSRC came last.)"""
        out: dict[str, Any] = {"state": self.pc.connectionState if self.pc else "none"}
        for kind, counter in self.counters.items():
            out[kind] = {
                "frames": counter.frames,
                "bytes": counter.bytes,
                "keyframes": counter.keyframes,
            }
        if self.pc is not None:
            for item in (await self.pc.getStats()).values():
                if item.type == "transport":
                    out["wire"] = {
                        "received": item.packetsReceived,
                        "received_bytes": item.bytesReceived,
                        "sent": item.packetsSent,
                    }
        return out

    async def close(self) -> None:
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pc.close(), 5)
        await self.room.close()


class Peer:
    def __init__(self) -> None:
        self.client = httpx.AsyncClient(timeout=30, trust_env=False)
        self.subscribers: list[Subscriber] = []
        self.publisher: tuple[Room, RTCPeerConnection] | None = None
        self.camera: PatternTrack | None = None

    async def api(self, base: str, token: str, method: str, path: str, body: Any) -> dict:
        response = await self.client.request(
            method,
            f"{base}/api/v1{path}",
            content=json.dumps(body if body is not None else {}),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        data = response.json() if response.content else None
        return {"status": response.status_code, "data": data}

    async def publish(
        self, base: str, session: int, speaker_token: str, kbps: int = 0, video: bool = True
    ) -> dict:
        """Join as the speaker and publish the tone, with the camera pattern at `kbps`
        unless `video` is false (bench/phone.py: the stage's sound only)."""
        room = Room()
        token = await room.join(base, session, {"speaker_token": speaker_token})
        pc = RTCPeerConnection(ice_free())
        self.publisher = (room, pc)
        if video:
            vpx.DEFAULT_BITRATE = vpx.MIN_BITRATE = vpx.MAX_BITRATE = kbps * 1000
            self.camera = PatternTrack()
            camera = pc.addTransceiver(self.camera, direction="sendonly")
            camera.setCodecPreferences(
                [
                    c
                    for c in RTCRtpSender.getCapabilities("video").codecs
                    if c.mimeType.lower() in ("video/vp8", "video/rtx")
                ]
            )
        pc.addTransceiver(ToneTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        response = await self.client.post(
            f"{base}/media/sessions/{session}/feeds?source=camera",
            content=pc.localDescription.sdp,
            headers=media_headers(token, "application/sdp"),
        )
        if response.status_code != 201:
            raise RuntimeError(f"publish: {response.status_code} {response.text[:300]}")
        await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        await wait_connected(pc)
        return {"feed": int(response.headers["X-Antenne-Feed"])}

    async def subscribe(self, base: str, session: int, feed: int, keys: list[str]) -> dict:
        gate = asyncio.Semaphore(4)  # set-ups at once: the machine has 2 cores

        async def one(key: str) -> str | None:
            subscriber = Subscriber(key)
            self.subscribers.append(subscriber)
            async with gate:
                try:
                    await subscriber.start(self.client, base, session, feed)
                except Exception as error:
                    logger.exception("subscriber failed")
                    return f"{type(error).__name__}: {error}"[:300]
            return None

        errors = [e for e in await asyncio.gather(*(one(k) for k in keys)) if e]
        return {"ok": len(keys) - len(errors), "errors": errors}

    async def stats(self) -> dict:
        out: dict[str, Any] = {
            "cpu": cpu_seconds(),
            "at": time.monotonic(),
            "peers": [await s.stats() for s in self.subscribers],
        }
        if self.publisher is not None:
            room, pc = self.publisher
            sent = {
                "state": pc.connectionState,
                "ws_closed": room.closed,
                "frames": self.camera.count if self.camera else 0,
            }
            for sender in pc.getSenders():
                for item in (await sender.getStats()).values():
                    if item.type == "outbound-rtp":
                        sent[sender.track.kind if sender.track else "?"] = {
                            "packets": item.packetsSent,
                            "rtp": item.bytesSent,
                        }
            out["publisher"] = sent
        return out

    async def close(self) -> dict:
        await asyncio.gather(*(s.close() for s in self.subscribers))
        if self.publisher is not None:
            room, pc = self.publisher
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pc.close(), 5)
            await room.close()
        await self.client.aclose()
        return {"closed": True}


async def serve(make: Callable[[], Any] = Peer) -> None:
    """Answer JSON-lines commands on stdin with a peer from `make` (bench/phone_peer.py
    serves its callers' client the same way)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    peer = make()
    while line := await reader.readline():
        command = json.loads(line)
        name = command.pop("cmd")
        try:
            reply = await getattr(peer, name)(**command)
        except Exception as error:
            logger.exception("%s failed", name)
            reply = {"error": f"{type(error).__name__}: {error}"[:1000]}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if name == "close":
            return
    await peer.close()


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    asyncio.run(serve())


if __name__ == "__main__":
    main()
