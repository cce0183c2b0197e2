"""The embedded media engine: aiortc inside the Antenne process, for small webinars on one
machine with nothing else to install.

Each published track is forwarded to its subscribers as encoded frames (see
`aiortc_forwarding`): a subscriber costs a repackaging into RTP, never an encode, so one
machine serves a room as long as its uplink does. Only VP8 and Opus are negotiated, as
every browser sends them and forwarding cannot transcode.

Every feed and every subscription is one `RTCPeerConnection`. Any of them that fails,
closes, or does not connect within `CONNECT_TIMEOUT` is cleaned up, so a vanished browser
leaves no connection, task or thread behind.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCInboundRtpStreamStats,
    RTCOutboundRtpStreamStats,
    RTCPeerConnection,
    RTCRemoteInboundRtpStreamStats,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
    RTCStatsReport,
)
from django.conf import settings

from antenne.media.aiortc_forwarding import (
    ForwardedTrack,
    PublishedTrack,
    describe_media,
    redirect_keyframe_requests,
)
from antenne.media.engine import (
    EngineEvent,
    EventKind,
    Feed,
    Listener,
    MediaError,
    Source,
    Subscription,
    TrackStats,
)

logger = logging.getLogger(__name__)

Kind = Literal["audio", "video"]
_S = TypeVar("_S")
MAX_SDP_BYTES = 64 * 1024
CONNECT_TIMEOUT = 30.0  # seconds for a peer connection to connect before it is dropped
CODECS = {"video": "video/vp8", "audio": "audio/opus"}
# aiortc sends no bandwidth estimate Chromium trusts, so Chromium would start a camera at
# its lowest resolution and stay there: these fmtp hints (kbps) set where it starts.
BITRATE_HINTS = "x-google-start-bitrate=1500;x-google-min-bitrate=300;x-google-max-bitrate=2500"
CLOCK_RATES = {"video": 90000, "audio": 48000}


def add_bitrate_hints(answer_sdp: str) -> str:
    """The answer with `BITRATE_HINTS` on each VP8 payload type's fmtp line."""
    lines = answer_sdp.split("\r\n")
    vp8 = {m.group(1) for line in lines if (m := re.match(r"a=rtpmap:(\d+) VP8/", line, re.I))}
    out = []
    for line in lines:
        fmtp = re.match(r"a=fmtp:(\d+) ", line)
        if fmtp and fmtp.group(1) in vp8:
            line = f"{line};{BITRATE_HINTS}"
            vp8.discard(fmtp.group(1))
        out.append(line)
    for pt in vp8:  # VP8 has no parameters: aiortc writes no fmtp line for it
        at = next(i for i, line in enumerate(out) if line.startswith(f"a=rtpmap:{pt} "))
        out.insert(at + 1, f"a=fmtp:{pt} {BITRATE_HINTS}")
    return "\r\n".join(out)


def _check_sdp(sdp_text: object) -> list[tuple[str, str, set[str]]]:
    if not isinstance(sdp_text, str) or len(sdp_text.encode()) > MAX_SDP_BYTES:
        raise MediaError("media.bad_sdp", "SDP missing or larger than 64 KiB")
    try:
        media = describe_media(sdp_text)
    except ValueError as exc:
        raise MediaError("media.bad_sdp", str(exc)) from None
    if not media:
        raise MediaError("media.bad_sdp", "SDP without media")
    return media


def _publish_kinds(offer_sdp: object) -> list[Kind]:
    """The kinds a publisher's offer sends, in m-line order; one audio and one video at most,
    each sent, each offering the codec we forward."""
    kinds: list[Kind] = []
    for kind, direction, codecs in _check_sdp(offer_sdp):
        if kind not in ("audio", "video") or kind in kinds:
            raise MediaError("media.bad_sdp", f"unexpected {kind} m-line")
        kind = cast(Kind, kind)
        if direction not in ("sendonly", "sendrecv"):
            raise MediaError("media.bad_sdp", f"{kind} m-line sends nothing")
        if CODECS[kind] not in codecs:
            raise MediaError("media.bad_sdp", f"{kind} without {CODECS[kind]}")
        kinds.append(kind)
    return kinds


def _prefer(transceiver: RTCRtpTransceiver, *, rtx: bool) -> None:
    wanted = {CODECS[transceiver.kind]} | ({"video/rtx"} if rtx else set())
    caps = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    transceiver.setCodecPreferences([c for c in caps if c.mimeType.lower() in wanted])


@dataclass(eq=False)
class _Peer:
    """One peer connection of a participant, with the last stats sample of each track."""

    room_id: int
    participant: str
    pc: RTCPeerConnection
    samples: dict[tuple[str, str], tuple[float, int, int, int]] = field(default_factory=dict)
    timeout: asyncio.TimerHandle | None = None
    started: float = field(default_factory=lambda: asyncio.get_running_loop().time())


@dataclass(eq=False)
class _Feed(_Peer):
    feed_id: str = ""
    source: Source = "camera"
    tracks: dict[Kind, PublishedTrack] = field(default_factory=dict)
    publishing: bool = False


@dataclass(eq=False)
class _Subscription(_Peer):
    subscription_id: str = ""
    # (feed_id, kind, track, transceiver) for each forwarded track
    tracks: list[tuple[str, Kind, ForwardedTrack, RTCRtpTransceiver]] = field(default_factory=list)


@dataclass
class _Room:
    feeds: dict[str, _Feed] = field(default_factory=dict)
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)

    def peers(self) -> list[_Peer]:
        return [*self.feeds.values(), *self.subscriptions.values()]


def new_peer_connection(*, bundle: bool = False) -> RTCPeerConnection:
    """An aiortc peer connection of this server (the engine's, the telephone gateway's)
    with `ANTENNE_ICE_SERVERS`: an empty list, not None, since aiortc would otherwise ask
    Google's STUN."""
    servers = [RTCIceServer(**cast(dict[str, Any], s)) for s in settings.ICE_SERVERS]
    policy = RTCBundlePolicy.MAX_BUNDLE if bundle else RTCBundlePolicy.BALANCED
    return RTCPeerConnection(RTCConfiguration(iceServers=servers, bundlePolicy=policy))


class EmbeddedEngine:
    name = "embedded"

    def __init__(self) -> None:
        self._rooms: dict[int, _Room] = {}
        self._listener: Listener | None = None
        self._events: asyncio.Queue[EngineEvent | None] | None = None
        self._event_worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def set_listener(self, listener: Listener | None) -> None:
        self._listener = listener

    async def create_room(self, room_id: int) -> None:
        self._rooms.setdefault(room_id, _Room())

    async def close_room(self, room_id: int) -> None:
        room = self._rooms.pop(room_id, None)
        if room is not None:
            await asyncio.gather(*(self._drop(peer, room) for peer in room.peers()))

    async def publish(
        self, room_id: int, participant: str, offer_sdp: str, *, source: Source
    ) -> tuple[str, str]:
        kinds = _publish_kinds(offer_sdp)
        room = self._rooms.setdefault(room_id, _Room())
        feed = _Feed(room_id, participant, self._new_pc(), feed_id=_new_id("f"), source=source)
        for kind in kinds:
            transceiver = feed.pc.addTransceiver(kind, direction="recvonly")
            _prefer(transceiver, rtx=False)  # one SSRC per track: PLIs and stats name it
            feed.tracks[kind] = PublishedTrack(
                kind, transceiver.receiver, on_first_frame=lambda: self._publishing(feed)
            )
        self._register(feed, room)
        room.feeds[feed.feed_id] = feed
        try:
            await self._negotiate(feed.pc, offer_sdp)
        except BaseException:
            await self._drop(feed, room)
            raise
        if room.feeds.get(feed.feed_id) is not feed:
            raise MediaError("media.no_such_feed", "feed closed during negotiation")
        return feed.feed_id, add_bitrate_hints(feed.pc.localDescription.sdp)

    async def unpublish(self, room_id: int, feed_id: str) -> None:
        room = self._rooms.get(room_id)
        if room is not None and feed_id in room.feeds:
            await self._drop(room.feeds[feed_id], room)

    async def subscribe(self, room_id: int, participant: str, feed_ids: list[str]) -> Subscription:
        room = self._room(room_id)
        feeds = [room.feeds[f] for f in dict.fromkeys(feed_ids) if f in room.feeds]
        if not feeds:
            raise MediaError("media.no_such_feed", f"none of {feed_ids!r} in room {room_id}")
        sub = _Subscription(room_id, participant, self._new_pc(bundle=True))
        sub.subscription_id = _new_id("s")
        for feed in feeds:
            for kind, published in feed.tracks.items():
                track = published.subscribe()
                transceiver = sub.pc.addTransceiver(track, direction="sendonly")
                _prefer(transceiver, rtx=True)
                redirect_keyframe_requests(transceiver.sender, published.request_keyframe)
                sub.tracks.append((feed.feed_id, kind, track, transceiver))
        self._register(sub, room)
        room.subscriptions[sub.subscription_id] = sub
        try:
            await sub.pc.setLocalDescription(await sub.pc.createOffer())
        except BaseException:
            await self._drop(sub, room)
            raise
        if room.subscriptions.get(sub.subscription_id) is not sub:
            raise MediaError("media.no_such_subscription", "closed during negotiation")
        streams: dict[str, list[tuple[str, str]]] = {}
        for feed_id, kind, _track, transceiver in sub.tracks:
            streams.setdefault(feed_id, []).append((transceiver.mid or "", kind))
        return Subscription(sub.subscription_id, sub.pc.localDescription.sdp, streams)

    async def complete_subscription(
        self, room_id: int, subscription_id: str, answer_sdp: str
    ) -> None:
        sub = self._subscription(room_id, subscription_id)
        _check_sdp(answer_sdp)
        if sub.pc.signalingState != "have-local-offer":
            raise MediaError("media.bad_sdp", "subscription already answered")
        try:
            await sub.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except Exception as exc:
            raise MediaError("media.bad_sdp", f"answer refused: {exc!r}") from None

    async def unsubscribe(self, room_id: int, subscription_id: str) -> None:
        room = self._rooms.get(room_id)
        if room is not None and subscription_id in room.subscriptions:
            await self._drop(room.subscriptions[subscription_id], room)

    async def kick(self, room_id: int, participant: str) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            peers = [p for p in room.peers() if p.participant == participant]
            await asyncio.gather(*(self._drop(peer, room) for peer in peers))

    async def mute(
        self, room_id: int, feed_id: str, kind: Literal["audio", "video"], muted: bool
    ) -> None:
        feed = self._room(room_id, code="media.no_such_feed").feeds.get(feed_id)
        if feed is None:
            raise MediaError("media.no_such_feed", feed_id)
        if kind in feed.tracks:
            feed.tracks[kind].set_muted(muted)

    async def list_feeds(self, room_id: int) -> list[Feed]:
        room = self._rooms.get(room_id)
        return [
            Feed(f.feed_id, f.participant, f.source, "audio" in f.tracks, "video" in f.tracks)
            for f in (room.feeds.values() if room else ())
        ]

    async def stats(self, room_id: int) -> list[TrackStats]:
        """One entry per participant, direction and kind: a subscriber's tracks of one kind
        are summed (bitrate, losses) or take the worst value (fraction lost, RTT, jitter)."""
        room = self._rooms.get(room_id)
        if room is None:
            return []
        loop = asyncio.get_running_loop()
        merged: dict[tuple[str, str, str], TrackStats] = {}
        for peer in room.peers():
            for stats in await _peer_stats(peer, loop.time()):
                key = (stats.participant, stats.direction, stats.kind)
                merged[key] = _merge(merged[key], stats) if key in merged else stats
        return list(merged.values())

    async def close(self) -> None:
        for room_id in list(self._rooms):
            await self.close_room(room_id)
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._event_worker is not None and self._events is not None:
            self._events.put_nowait(None)
            await self._event_worker
            self._event_worker = self._events = None

    # --- Peer connections

    def _new_pc(self, *, bundle: bool = False) -> RTCPeerConnection:
        return new_peer_connection(bundle=bundle)

    async def _negotiate(self, pc: RTCPeerConnection, offer_sdp: str) -> None:
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception as exc:
            raise MediaError("media.bad_sdp", f"offer refused: {exc!r}") from None
        # No trickle: aiortc gathers every candidate before the answer is set.
        await pc.setLocalDescription(await pc.createAnswer())

    def _register(self, peer: _Peer, room: _Room) -> None:
        """Watch the connection; the participant joins with its first one."""
        if not any(p.participant == peer.participant for p in room.peers()):
            self._emit("joined", peer)
        loop = asyncio.get_running_loop()
        peer.timeout = loop.call_later(CONNECT_TIMEOUT, self._on_state, peer, True)
        peer.pc.on("connectionstatechange", lambda: self._on_state(peer))

    def _on_state(self, peer: _Peer, timed_out: bool = False) -> None:
        state = peer.pc.connectionState
        if state == "connected" and peer.timeout is not None:
            peer.timeout.cancel()
        elif state in ("failed", "closed") or (timed_out and state != "connected"):
            room = self._rooms.get(peer.room_id)
            if room is not None:
                self._spawn(self._drop(peer, room))

    async def _drop(self, peer: _Peer, room: _Room) -> None:
        """Forget and close one connection (idempotent). The bookkeeping and its events
        happen before the first await, so concurrent drops see a consistent room. A feed's
        subscribers' senders stop, which sends an RTCP BYE: their tracks end."""
        stopped = []
        if isinstance(peer, _Feed):
            if room.feeds.pop(peer.feed_id, None) is not peer:
                return
            for published in peer.tracks.values():
                published.close()
            self._emit("unpublished", peer, peer.feed_id)
            stopped = [
                t.sender.stop()
                for sub in room.subscriptions.values()
                for feed_id, _kind, _track, t in sub.tracks
                if feed_id == peer.feed_id
            ]
        elif isinstance(peer, _Subscription):
            if room.subscriptions.pop(peer.subscription_id, None) is not peer:
                return
            for _feed_id, _kind, track, _t in peer.tracks:
                track.stop()
        if peer.timeout is not None:
            peer.timeout.cancel()
        if not any(p.participant == peer.participant for p in room.peers()):
            self._emit("left", peer)
        await asyncio.gather(*stopped, return_exceptions=True)
        await peer.pc.close()

    def _room(self, room_id: int, code: str = "media.no_such_room") -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            raise MediaError(code, f"room {room_id}")
        return room

    def _subscription(self, room_id: int, subscription_id: str) -> _Subscription:
        room = self._room(room_id, code="media.no_such_subscription")
        if subscription_id not in room.subscriptions:
            raise MediaError("media.no_such_subscription", subscription_id)
        return room.subscriptions[subscription_id]

    # --- Events, delivered in order by one task so a slow or failing listener cannot
    # reorder them or break the engine.

    def _publishing(self, feed: _Feed) -> None:
        room = self._rooms.get(feed.room_id)
        if room is not None and room.feeds.get(feed.feed_id) is feed and not feed.publishing:
            feed.publishing = True
            self._emit("publishing", feed, feed.feed_id)

    def _emit(self, kind: EventKind, peer: _Peer, feed_id: str = "") -> None:
        if self._events is None:
            self._events = asyncio.Queue()
            self._event_worker = asyncio.ensure_future(self._deliver(self._events))
        self._events.put_nowait(EngineEvent(kind, peer.room_id, peer.participant, feed_id))

    async def _deliver(self, events: asyncio.Queue[EngineEvent | None]) -> None:
        while (event := await events.get()) is not None:
            if self._listener is None:
                continue
            try:
                await self._listener(event)
            except Exception:
                logger.exception("media engine listener failed on %s", event)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


async def _peer_stats(peer: _Peer, now: float) -> list[TrackStats]:
    """TrackStats of one connection. Bitrates come from byte counts between two calls (the
    first call measures from the connection's start)."""
    out: list[TrackStats] = []
    if isinstance(peer, _Feed):
        for kind, published in peer.tracks.items():
            inbound = _find(await published.receiver.getStats(), RTCInboundRtpStreamStats)
            lost = inbound.packetsLost if inbound else 0
            received = inbound.packetsReceived if inbound else 0
            bitrate, fraction = _sample(
                peer, ("in", kind), now, published.bytes_received, lost, received
            )
            jitter = inbound.jitter * 1000 / CLOCK_RATES[kind] if inbound else None
            out.append(
                TrackStats(peer.participant, "in", kind, bitrate, lost, fraction, None, jitter)
            )
    elif isinstance(peer, _Subscription):
        for feed_id, kind, _track, transceiver in peer.tracks:
            report = await transceiver.sender.getStats()
            sent = _find(report, RTCOutboundRtpStreamStats)
            remote = _find(report, RTCRemoteInboundRtpStreamStats)
            octets = sent.bytesSent if sent else 0
            bitrate, _ = _sample(peer, (feed_id, kind), now, octets, 0, 0)
            out.append(
                TrackStats(
                    peer.participant,
                    "out",
                    kind,
                    bitrate,
                    remote.packetsLost if remote else None,
                    remote.fractionLost / 256 if remote else None,
                    remote.roundTripTime * 1000 if remote and remote.roundTripTime else None,
                    remote.jitter * 1000 / CLOCK_RATES[kind] if remote else None,
                )
            )
    return out


def _find(report: RTCStatsReport, kind: type[_S]) -> _S | None:
    return next((s for s in report.values() if isinstance(s, kind)), None)


def _sample(
    peer: _Peer, key: tuple[str, str], now: float, octets: int, lost: int, received: int
) -> tuple[int | None, float | None]:
    """(bits per second, fraction of packets lost) since the previous sample of `key`."""
    then, octets0, lost0, received0 = peer.samples.get(key, (peer.started, 0, 0, 0))
    peer.samples[key] = (now, octets, lost, received)
    bitrate = int((octets - octets0) * 8 / (now - then)) if now > then else None
    expected = (received - received0) + (lost - lost0)
    return bitrate, (max(0, lost - lost0) / expected if expected > 0 else None)


def _merge(a: TrackStats, b: TrackStats) -> TrackStats:
    def add(x: int | None, y: int | None) -> int | None:
        return None if x is None and y is None else (x or 0) + (y or 0)

    def worst(x: float | None, y: float | None) -> float | None:
        return max((v for v in (x, y) if v is not None), default=None)

    return TrackStats(
        a.participant,
        a.direction,
        a.kind,
        add(a.bitrate, b.bitrate),
        add(a.packets_lost, b.packets_lost),
        worst(a.fraction_lost, b.fraction_lost),
        worst(a.rtt_ms, b.rtt_ms),
        worst(a.jitter_ms, b.jitter_ms),
    )
