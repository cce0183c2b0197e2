"""The media engine interface: the one thing the rest of Antenne knows about media servers.

Two engines implement it: `antenne.media.embedded` (aiortc in-process, forwarding media
without re-encoding; the default of `antenne run`) and `antenne.media.janus` (one or more
Janus servers, production). `media.signaling.get_engine()` returns the configured one
(`ANTENNE_MEDIA_ENGINE=embedded|janus`).

Vocabulary:
- a *room* is the engine's side of one session (`room_id` = the session's primary key);
- a *participant* is one browser (or the telephone gateway) in that room, named by a string
  key Antenne chooses (`"p<presence id>"`); the engine never authorises anything: Antenne's
  control plane (`antenne.media.signaling`) decides who may publish and subscribe, then
  calls the engine;
- a *feed* is what one participant publishes from one source (camera+microphone, or
  screen), identified by the engine's `feed_id` (a string);
- a *subscription* is one peer connection that receives a set of feeds: the engine makes
  the SDP offer (`subscribe`), the browser answers (`complete_subscription`).

Every method is a coroutine run on the ASGI server's event loop. Errors are `MediaError`
with a stable dotted code (`"media.no_such_room"`, `"media.bad_sdp"`, …).

Engine events (participant joined/left, publishing started/stopped, media stats) go to the
listener set with `set_listener`; the Janus engine receives them from Janus's event
handler (HTTP POST to Antenne), the embedded engine emits them itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

Source = Literal["camera", "screen"]
EventKind = Literal["joined", "left", "publishing", "unpublished", "media_stats"]


class MediaError(Exception):
    """A media engine refused or failed. `code` is stable (`media.*`), `message` is for
    logs; the control plane turns codes into translated messages."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code


@dataclass(frozen=True)
class Feed:
    feed_id: str
    participant: str
    source: Source
    audio: bool
    video: bool


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    offer_sdp: str
    # feed_id -> list of (mid, kind) the offer carries for that feed, so the browser can
    # put each track in the right tile.
    streams: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class TrackStats:
    """One direction of one track at one instant, as the engine sees it."""

    participant: str
    direction: Literal["in", "out"]  # "in": the engine receives (a publisher's upload)
    kind: Literal["audio", "video"]
    bitrate: int | None = None  # bits per second, over the last interval
    packets_lost: int | None = None  # cumulative
    fraction_lost: float | None = None  # 0..1 over the last report interval
    rtt_ms: float | None = None
    jitter_ms: float | None = None


@dataclass(frozen=True)
class EngineEvent:
    kind: EventKind
    room_id: int
    participant: str
    feed_id: str = ""
    stats: tuple[TrackStats, ...] = ()


Listener = Callable[[EngineEvent], Awaitable[None]]


class MediaEngine(Protocol):
    name: str

    def set_listener(self, listener: Listener | None) -> None: ...

    async def create_room(self, room_id: int) -> None:
        """Idempotent: creating an existing room is not an error."""

    async def close_room(self, room_id: int) -> None:
        """Stops every feed and subscription of the room. Idempotent."""

    async def publish(
        self, room_id: int, participant: str, offer_sdp: str, *, source: Source
    ) -> tuple[str, str]:
        """Accept a browser's offer; returns `(feed_id, answer_sdp)`. Creates the room if
        it does not exist (a Janus restart loses rooms)."""

    async def unpublish(self, room_id: int, feed_id: str) -> None:
        """Stops one feed and removes it from every subscription. Idempotent."""

    async def subscribe(self, room_id: int, participant: str, feed_ids: list[str]) -> Subscription:
        """An offer carrying the given feeds (unknown ones are skipped, not an error)."""

    async def complete_subscription(
        self, room_id: int, subscription_id: str, answer_sdp: str
    ) -> None:
        """The browser's answer to `subscribe`'s offer; media starts flowing."""

    async def unsubscribe(self, room_id: int, subscription_id: str) -> None:
        """Idempotent."""

    async def kick(self, room_id: int, participant: str) -> None:
        """Every feed and subscription of the participant stops. Idempotent."""

    async def mute(
        self, room_id: int, feed_id: str, kind: Literal["audio", "video"], muted: bool
    ) -> None:
        """Stop (or resume) forwarding one kind of a feed to subscribers."""

    async def list_feeds(self, room_id: int) -> list[Feed]: ...

    async def stats(self, room_id: int) -> list[TrackStats]:
        """Current per-participant track stats of the room."""

    async def close(self) -> None:
        """Release everything (server shutdown)."""
