"""`JanusEngine`: Antenne's rooms as VideoRoom rooms (Janus 1.x multistream API).

- Room id = session pk, on server `room_id % len(ANTENNE_JANUS_URLS)` (`rooms.Rooms`),
  created on demand with a secret every Antenne process derives alike.
- A feed is a VideoRoom publisher on a handle of its own; its id (Janus's publisher id) is
  the feed id; its display names the participant, the source and the mids it sends
  (`naming`), so any process can list, mute or stop it. A subscription is a subscriber
  handle; its id `<server index>:<session id>:<handle id>` works from any process.
- Janus restarts lose sessions, handles and rooms: publishing (and creating a room)
  re-creates what is needed and is retried once; other requests retry once after a lost
  session or handle.
- Non-trickle: browsers send complete offers and answers (`"trickle": false`); Janus puts
  its candidates in its SDP (half-trickle).
- Events (joined, published, unpublished, media stats) come from Janus's event handler
  through `emit` (`views`). `stats()` returns the stats reports that arrived while no
  listener was set, so a listener records each report once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
from django.conf import settings

from antenne.media.engine import (
    EngineEvent,
    Feed,
    Listener,
    MediaError,
    Source,
    Subscription,
    TrackStats,
)
from antenne.media.janus import naming
from antenne.media.janus.client import (
    GONE,
    REQUEST_TIMEOUT,
    Handle,
    JanusError,
    JanusServer,
    JanusUnreachable,
)
from antenne.media.janus.events import FeedNames
from antenne.media.janus.rooms import (
    NO_SUCH_FEED,
    VIDEOROOM,
    Owned,
    Rooms,
    media_errors,
    room_secret,
)

logger = logging.getLogger(__name__)

STATS_KEPT = 30.0  # seconds a stats report stays available to stats()


class JanusEngine:
    name = "janus"

    def __init__(
        self,
        *,
        urls: list[str] | None = None,
        admin_urls: list[str] | None = None,
        api_secret: str | None = None,
        admin_secret: str | None = None,
        secret: str | None = None,
        max_publishers: int | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        """Settings default to Antenne's (`ANTENNE_JANUS_*`, `ANTENNE_STAGE_MAX_STREAMS`)."""
        urls = list(urls if urls is not None else settings.JANUS_URLS)
        admin_urls = list(admin_urls if admin_urls is not None else settings.JANUS_ADMIN_URLS)
        if not urls:
            raise MediaError("media.janus_unreachable", "no Janus URL configured")
        self._http = httpx.AsyncClient(timeout=timeout)
        servers = [
            JanusServer(
                url,
                api_secret=api_secret if api_secret is not None else settings.JANUS_API_SECRET,
                admin_url=admin_urls[i] if i < len(admin_urls) else "",
                admin_secret=(
                    admin_secret if admin_secret is not None else settings.JANUS_ADMIN_SECRET
                ),
                http=self._http,
                timeout=timeout,
            )
            for i, url in enumerate(urls)
        ]
        # Antenne's control plane enforces the stage size; Janus's limit is a backstop with
        # room for a feed being replaced (the new one is published before the old one stops).
        stage = max_publishers if max_publishers is not None else settings.STAGE_MAX_STREAMS
        self.rooms = Rooms(
            servers,
            secret=secret if secret is not None else room_secret(),
            max_publishers=2 * int(stage),
        )
        for index, server in enumerate(servers):
            server.on_event = self._janus_api_event(index)
        self.feed_names = FeedNames()
        self._listener: Listener | None = None
        self._stats: dict[int, dict[tuple[str, str, str], tuple[float, TrackStats]]] = {}
        self._cleanups: set[asyncio.Task[None]] = set()

    @property
    def servers(self) -> list[JanusServer]:
        return self.rooms.servers

    # -- Events ---------------------------------------------------------------------------------

    def set_listener(self, listener: Listener | None) -> None:
        self._listener = listener

    async def emit(self, event: EngineEvent) -> None:
        """An event from Janus's event handler, to the listener (whose failures are logged,
        never raised: Janus would post it again)."""
        if self._listener is None:
            if event.kind == "media_stats":
                room = self._stats.setdefault(event.room_id, {})
                for item in event.stats:
                    room[(item.participant, item.direction, item.kind)] = (time.monotonic(), item)
            return
        try:
            await self._listener(event)
        except Exception:
            logger.exception("media event listener failed on %s", event)

    def _janus_api_event(self, index: int) -> Callable[[int, dict[str, Any]], None]:
        """Events on this process's handles that no request waits for (Janus API side)."""

        def handle(session_id: int, event: dict[str, Any]) -> None:
            sender = event.get("sender")
            owned = self.rooms.owned.get((index, sender)) if isinstance(sender, int) else None
            if owned is None:
                return
            if event.get("janus") == "detached":
                self.rooms.owned.pop((index, owned.handle.handle_id), None)
            elif event.get("janus") == "hangup":
                # The PeerConnection is over (browser gone, ICE failed, kicked): Antenne
                # never renegotiates on a handle, so free it.
                task = asyncio.get_running_loop().create_task(self.rooms.detach(owned))
                self._cleanups.add(task)
                task.add_done_callback(self._cleanups.discard)

        return handle

    # -- Rooms ----------------------------------------------------------------------------------

    async def create_room(self, room_id: int) -> None:
        with media_errors():
            await self.rooms.create(room_id)

    async def close_room(self, room_id: int) -> None:
        self._stats.pop(room_id, None)
        with media_errors():
            await self.rooms.destroy(room_id)

    async def list_feeds(self, room_id: int) -> list[Feed]:
        with media_errors():
            people = await self.rooms.participants(room_id)
        feeds = []
        for person in people:
            display = naming.parse_display(person.get("display"))
            if person.get("publisher") and display is not None:
                feeds.append(
                    Feed(
                        feed_id=str(person["id"]),
                        participant=display.participant,
                        source="screen" if display.source == "screen" else "camera",
                        audio=display.has("audio"),
                        video=display.has("video"),
                    )
                )
        return feeds

    # -- Publishing -----------------------------------------------------------------------------

    async def publish(
        self, room_id: int, participant: str, offer_sdp: str, *, source: Source
    ) -> tuple[str, str]:
        if "m=" not in offer_sdp:
            raise MediaError("media.bad_sdp", "not an SDP offer")
        index = self.rooms.index(room_id)
        server = self.servers[index]
        mids = naming.sent_tracks(offer_sdp)
        display = naming.Display(participant, source, mids).encode()

        async def attempt() -> tuple[str, str]:
            handle = await server.attach(
                VIDEOROOM, opaque_id=naming.opaque_id(room_id, participant, source)
            )
            try:
                join = {"request": "join", "ptype": "publisher", "room": int(room_id)}
                joined, _ = await server.message(handle, {**join, "display": display})
                _, jsep = await server.message(
                    handle,
                    {"request": "publish", "display": display},
                    jsep={"type": "offer", "sdp": offer_sdp, "trickle": False},
                )
                if not jsep or jsep.get("type") != "answer" or not jsep.get("sdp"):
                    raise JanusError(0, "Janus answered the offer without an SDP answer")
                if "a=candidate:" not in offer_sdp:
                    await server.trickle_completed(handle)
            except BaseException:
                with contextlib.suppress(JanusError, JanusUnreachable):
                    await server.detach(handle)
                raise
            feed_id = str(joined["id"])
            self.rooms.keep(Owned(index, handle, room_id, participant, feed_id, mids))
            self.feed_names.remember(feed_id, room_id, participant)
            return feed_id, str(jsep["sdp"])

        with media_errors():
            return await self.rooms.retrying(room_id, attempt, create=True)

    async def unpublish(self, room_id: int, feed_id: str) -> None:
        owned = self.rooms.publisher(room_id, feed_id)
        if owned is not None:
            with contextlib.suppress(JanusError, JanusUnreachable):
                await self.servers[owned.server].message(owned.handle, {"request": "unpublish"})
            await self.rooms.detach(owned)
        elif feed_id.isdigit():  # another process's feed
            with media_errors():
                await self.rooms.kick(room_id, int(feed_id))

    async def kick(self, room_id: int, participant: str) -> None:
        for owned in self.rooms.of(room_id, participant):
            await self.rooms.detach(owned)
        with media_errors():
            for person in await self.rooms.participants(room_id):
                display = naming.parse_display(person.get("display"))
                if display is not None and display.participant == participant:
                    await self.rooms.kick(room_id, int(person["id"]))

    async def mute(
        self, room_id: int, feed_id: str, kind: Literal["audio", "video"], muted: bool
    ) -> None:
        owned = self.rooms.publisher(room_id, feed_id)
        mids = owned.mids if owned is not None else None
        with media_errors():
            if mids is None and feed_id.isdigit():  # another process's feed: see its display
                for person in await self.rooms.participants(room_id):
                    if str(person.get("id")) == feed_id:
                        display = naming.parse_display(person.get("display"))
                        mids = display.mids if display else {}
            if mids is None:
                raise MediaError("media.no_such_feed", f"no feed {feed_id} in room {room_id}")
            for mid in [m for m, k in mids.items() if k == kind]:
                await self.rooms.moderate(room_id, int(feed_id), mid, bool(muted))

    # -- Subscribing ----------------------------------------------------------------------------

    async def subscribe(self, room_id: int, participant: str, feed_ids: list[str]) -> Subscription:
        wanted = [int(f) for f in feed_ids if str(f).isdigit()]

        async def attempt() -> Subscription:
            for last_try in (False, True):
                people = await self.rooms.participants(room_id)
                live = {p.get("id") for p in people if p.get("publisher")}
                feeds = [f for f in wanted if f in live]
                if not feeds:
                    raise MediaError("media.no_such_feed", f"none of {feed_ids} in room {room_id}")
                try:
                    return await self._subscribe(room_id, participant, feeds)
                except JanusError as exc:
                    # A feed stopped between the list and the join: list again, once.
                    if exc.code != NO_SUCH_FEED or last_try:
                        raise
            raise AssertionError("unreachable")  # pragma: no cover

        with media_errors():
            return await self.rooms.retrying(room_id, attempt, create=False)

    async def _subscribe(self, room_id: int, participant: str, feeds: list[int]) -> Subscription:
        index = self.rooms.index(room_id)
        server = self.servers[index]
        handle = await server.attach(
            VIDEOROOM, opaque_id=naming.opaque_id(room_id, participant, naming.SUBSCRIBER)
        )
        try:
            data, jsep = await server.message(
                handle,
                {
                    "request": "join",
                    "ptype": "subscriber",
                    "room": int(room_id),
                    "streams": [{"feed": feed} for feed in feeds],
                    # Antenne subscribes anew for other feeds: Janus must not send offers
                    # the browser never sees when a feed stops.
                    "autoupdate": False,
                },
            )
            if not jsep or jsep.get("type") != "offer" or not jsep.get("sdp"):
                raise JanusError(0, "Janus attached the subscriber without an SDP offer")
        except BaseException:
            with contextlib.suppress(JanusError, JanusUnreachable):
                await server.detach(handle)
            raise
        streams: dict[str, list[tuple[str, str]]] = {}
        for stream in data.get("streams") or []:
            if (
                isinstance(stream, dict)
                and stream.get("type") in naming.KINDS
                and stream.get("feed_id") is not None
                and stream.get("active") is not False
            ):
                pair = (str(stream["mid"]), str(stream["type"]))
                streams.setdefault(str(stream["feed_id"]), []).append(pair)
        self.rooms.keep(Owned(index, handle, room_id, participant))
        return Subscription(
            subscription_id=f"{index}:{handle.session_id}:{handle.handle_id}",
            offer_sdp=str(jsep["sdp"]),
            streams=streams,
        )

    def _subscription(self, subscription_id: str) -> tuple[int, Handle]:
        parts = subscription_id.split(":")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise MediaError("media.no_such_subscription", f"bad id {subscription_id!r}")
        index = int(parts[0])
        if index >= len(self.servers):
            raise MediaError("media.no_such_subscription", f"no server {index}")
        return index, Handle(int(parts[1]), int(parts[2]))

    async def complete_subscription(
        self, room_id: int, subscription_id: str, answer_sdp: str
    ) -> None:
        index, handle = self._subscription(subscription_id)
        if "m=" not in answer_sdp:
            raise MediaError("media.bad_sdp", "not an SDP answer")
        with media_errors():
            try:
                await self.servers[index].message(
                    handle,
                    {"request": "start"},
                    jsep={"type": "answer", "sdp": answer_sdp, "trickle": False},
                )
            except JanusError as exc:
                if exc.code in GONE:
                    raise MediaError("media.no_such_subscription", str(exc)) from exc
                raise

    async def unsubscribe(self, room_id: int, subscription_id: str) -> None:
        index, handle = self._subscription(subscription_id)
        self.rooms.owned.pop((index, handle.handle_id), None)
        with media_errors():
            await self.servers[index].detach(handle)

    # -- Stats and shutdown ---------------------------------------------------------------------

    async def stats(self, room_id: int) -> list[TrackStats]:
        """Recent stats reports Janus posted while no listener was set (each returned once)."""
        room = self._stats.pop(room_id, {})
        since = time.monotonic() - STATS_KEPT
        return [item for at, item in room.values() if at >= since]

    async def close(self) -> None:
        """Destroy this process's Janus sessions (Janus detaches their handles)."""
        for task in self._cleanups:
            task.cancel()
        await asyncio.gather(*self._cleanups, return_exceptions=True)
        for server in self.servers:
            await server.close()
        self.rooms.owned.clear()
        await self._http.aclose()
