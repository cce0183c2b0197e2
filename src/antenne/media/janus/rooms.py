"""VideoRoom rooms spread over Janus servers, as one Antenne process sees them.

Room `n` lives on server `n % len(servers)`: every process agrees without talking. Rooms are
created on demand with a secret every process derives alike; the secret-protected requests
(`destroy`, `kick`, `moderate`) therefore work from any process, on a *control handle* each
process attaches per server. The handles a process attached for its publishers and
subscribers are kept (`owned`) to detach them when their room or participant goes.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings

from antenne.media.engine import MediaError
from antenne.media.janus import naming
from antenne.media.janus.client import (
    GONE,
    UNAUTHORIZED,
    Handle,
    JanusError,
    JanusServer,
    JanusUnreachable,
)

logger = logging.getLogger(__name__)

VIDEOROOM = "janus.plugin.videoroom"
# VideoRoom error codes (janus_videoroom.c)
NO_SUCH_ROOM = 426
ROOM_EXISTS = 427
NO_SUCH_FEED = 428
BAD_SDP = (431, 437, 464, 465)  # VideoRoom invalid SDP (type), core JSEP errors

T = TypeVar("T")


def room_secret() -> str:
    """The secret of the rooms Antenne creates: the same in every process."""
    if settings.JANUS_ROOM_SECRET:
        return str(settings.JANUS_ROOM_SECRET)
    key = str(settings.SECRET_KEY).encode()
    return hmac.new(key, b"antenne.media.janus.room-secret", hashlib.sha256).hexdigest()[:40]


@contextlib.contextmanager
def media_errors() -> Iterator[None]:
    """Janus's errors as the engine's stable codes."""
    try:
        yield
    except JanusUnreachable as exc:
        raise MediaError("media.janus_unreachable", str(exc)) from exc
    except JanusError as exc:
        if exc.code == NO_SUCH_FEED:
            raise MediaError("media.no_such_feed", exc.reason) from exc
        if exc.code == NO_SUCH_ROOM:
            raise MediaError("media.no_such_room", exc.reason) from exc
        if exc.code in BAD_SDP:
            raise MediaError("media.bad_sdp", exc.reason) from exc
        if exc.code == UNAUTHORIZED:
            message = f"Janus refused Antenne's API secret: {exc.reason}"
            raise MediaError("media.janus_error", message) from exc
        raise MediaError("media.janus_error", f"{exc.code}: {exc.reason}") from exc


@dataclass
class Owned:
    """A handle this process attached for a publisher (`feed_id` set) or a subscriber."""

    server: int
    handle: Handle
    room_id: int
    participant: str
    feed_id: str = ""
    mids: dict[str, str] = field(default_factory=dict)


class Rooms:
    def __init__(self, servers: list[JanusServer], *, secret: str, max_publishers: int) -> None:
        self.servers = servers
        self.secret = secret
        self.max_publishers = max_publishers
        self.owned: dict[tuple[int, int], Owned] = {}
        self._control: dict[int, Handle] = {}

    def index(self, room_id: int) -> int:
        return int(room_id) % len(self.servers)

    def server(self, room_id: int) -> JanusServer:
        return self.servers[self.index(room_id)]

    # -- Requests -----------------------------------------------------------------------------

    async def sync(self, room_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous VideoRoom request about a room, on the control handle of its server
        (re-attached when Janus forgot it)."""
        index = self.index(room_id)
        server = self.servers[index]
        for last_try in (False, True):
            handle = self._control.get(index)
            if handle is None or handle.session_id != server.session_id:
                handle = await server.attach(VIDEOROOM, opaque_id=naming.CONTROL)
                self._control[index] = handle
            try:
                data, _ = await server.message(handle, body)
                return data
            except JanusError as exc:
                if exc.code not in GONE or last_try:
                    raise
                self._control.pop(index, None)
        raise AssertionError("unreachable")  # pragma: no cover

    async def retrying(
        self, room_id: int, attempt: Callable[[], Awaitable[T]], *, create: bool
    ) -> T:
        """Run `attempt`; if Janus forgot the session or a handle (it restarted), or the room
        when `create`, re-create what is needed and run it once more."""
        try:
            return await attempt()
        except JanusError as exc:
            if not (exc.code in GONE or (create and exc.code == NO_SUCH_ROOM)):
                raise
            if exc.code in GONE:
                logger.warning("Janus forgot Antenne's session (%s): room %s again", exc, room_id)
            self.forget_dead(self.index(room_id))
            if create:
                await self.create(room_id)
            return await attempt()

    def forget_dead(self, index: int) -> None:
        """Handles of a session Janus no longer has are gone with it."""
        session_id = self.servers[index].session_id
        for key, owned in list(self.owned.items()):
            if owned.server == index and owned.handle.session_id != session_id:
                del self.owned[key]

    # -- Rooms --------------------------------------------------------------------------------

    async def create(self, room_id: int) -> None:
        """Idempotent."""
        body = {
            "request": "create",
            "room": int(room_id),
            "permanent": False,
            "description": f"Antenne {room_id}",
            "secret": self.secret,
            "is_private": True,
            "publishers": self.max_publishers,
            "audiocodec": "opus",
            "videocodec": "vp8",
            "notify_joining": True,
        }
        try:
            await self.sync(room_id, body)
        except JanusError as exc:
            if exc.code != ROOM_EXISTS:
                raise

    async def destroy(self, room_id: int) -> None:
        """Idempotent: every publisher and subscriber of the room is disconnected."""
        for owned in self.of(room_id):
            await self.detach(owned)
        body = {"request": "destroy", "room": int(room_id), "secret": self.secret}
        try:
            await self.sync(room_id, body)
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise

    async def participants(self, room_id: int) -> list[dict[str, Any]]:
        """The room's publishers (`publisher`: whether their media is up); none if there is
        no such room."""
        try:
            data = await self.sync(room_id, {"request": "listparticipants", "room": int(room_id)})
        except JanusError as exc:
            if exc.code == NO_SUCH_ROOM:
                return []
            raise
        return [p for p in data.get("participants") or [] if isinstance(p, dict)]

    async def kick(self, room_id: int, publisher_id: int) -> None:
        """Idempotent."""
        body = {"request": "kick", "room": int(room_id), "secret": self.secret, "id": publisher_id}
        try:
            await self.sync(room_id, body)
        except JanusError as exc:
            if exc.code not in (NO_SUCH_ROOM, NO_SUCH_FEED):
                raise

    async def moderate(self, room_id: int, publisher_id: int, mid: str, muted: bool) -> None:
        body = {
            "request": "moderate",
            "room": int(room_id),
            "secret": self.secret,
            "id": publisher_id,
            "mid": mid,
            "mute": muted,
        }
        await self.sync(room_id, body)

    # -- Handles this process attached ----------------------------------------------------------

    def keep(self, owned: Owned) -> None:
        self.owned[(owned.server, owned.handle.handle_id)] = owned

    def of(self, room_id: int, participant: str | None = None) -> list[Owned]:
        return [
            o
            for o in self.owned.values()
            if o.room_id == room_id and participant in (None, o.participant)
        ]

    def publisher(self, room_id: int, feed_id: str) -> Owned | None:
        return next((o for o in self.of(room_id) if o.feed_id == feed_id), None)

    async def detach(self, owned: Owned) -> None:
        """Idempotent, quiet: a handle Janus cannot detach now is gone with its session."""
        self.owned.pop((owned.server, owned.handle.handle_id), None)
        with contextlib.suppress(JanusError, JanusUnreachable):
            await self.servers[owned.server].detach(owned.handle)
