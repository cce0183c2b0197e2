"""Per-process fan-out of a session's room.

Each ASGI process keeps one `LocalRoom` per session with local connections. The room
subscribes once to the session's channel-layer group (in-memory in one process, Redis
pub/sub across processes): an event published by any process costs one publish, and each
process then delivers it to its own connections. Events are coalesced: at most one frame per
room per tick (`TICK` seconds), numbered by a per-room sequence (`seq`, with the room's
`epoch`, a random id of this room in this process). The last `HISTORY` frames are kept, so a
client that reconnects with the last (epoch, seq) it saw gets exactly the frames it missed;
otherwise (another process, or too far behind) it gets a fresh snapshot.

A connection's outgoing buffer is bounded (`Outbox`): a client that does not read fast
enough is dropped once its buffer is full, without slowing anyone else.

A revocation (`room.revoke`, from `rooms.push.revoke`) names a registration, a speaker or a
member: the room pauses the matching connections at once (nothing more reaches them) and
asks each to re-check its right (`Member.on_revoke`, the consumer's); a connection still
allowed is resumed, the others are closed. This process's media engine stops the feeds the
revocation ended."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from antenne.media.signaling import background, revoked, session_over
from antenne.rooms import push
from antenne.rooms.attendance import HEARTBEAT, touch
from antenne.rooms.participants import Participant
from antenne.rooms.push import Audience

logger = logging.getLogger("antenne.live")

# Who sees an event: everyone, speakers and staff ("backstage"), or staff only.
# As plain ints, like the levels that channel-layer messages carry.
PUBLIC, BACKSTAGE, STAFF = int(Audience.PUBLIC), int(Audience.BACKSTAGE), int(Audience.STAFF)
TICK = 0.15
HISTORY = 600  # frames kept for resync (~90 s at one frame per tick)
OUTBOX_FRAMES = 256
REVOCATIONS_KEPT = 30.0  # seconds a room remembers revocations, for joins under way
_MEDIA_TASKS: set[asyncio.Task[None]] = set()  # engine calls after a revocation, under way


class Outbox:
    """A connection's bounded queue of text frames, drained by its own writer task."""

    def __init__(self, send: Callable[[str], Awaitable[None]], on_overflow: Callable[[], Any]):
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=OUTBOX_FRAMES)
        self.on_overflow = on_overflow
        self.overflowed = False
        self.held: list[str] | None = None
        self.paused: list[str] | None = None
        self.task = asyncio.get_running_loop().create_task(self._drain(send))

    def hold(self) -> None:
        """Keep what the room sends aside (while a join is being answered), so that nothing
        reaches the client before the join's reply."""
        self.held = []

    def release(self, *, without_frames: bool = False) -> None:
        """Send what was held, after whatever was put first; `without_frames` drops the
        numbered frames (the join replayed them already) and keeps the backstage pushes."""
        held, self.held = self.held or [], None
        for text in held:
            if not (without_frames and text.startswith('["frame"')):
                self.put(text)

    def pause(self) -> None:
        """Keep what the room sends aside while this connection's right is re-checked (a
        revocation named it): dropped if it is closed, sent if it may stay."""
        if self.paused is None:
            self.paused = []

    def resume(self) -> None:
        paused, self.paused = self.paused or [], None
        for text in paused:
            self.put(text)

    def put(self, text: str) -> None:
        if self.held is not None:  # released through here: then paused, if still paused
            self.held.append(text)
            return
        if self.paused is not None:
            self.paused.append(text)
            return
        self.put_now(text)

    def put_now(self, text: str) -> None:
        """Queue `text` ahead of anything held."""
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed = True
            logger.info("dropping a live connection that does not keep up")
            self.on_overflow()

    async def _drain(self, send: Callable[[str], Awaitable[None]]) -> None:
        while (text := await self.queue.get()) is not None:
            await send(text)

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


@dataclass
class Member:
    """A connection in a room: what it may see (`level`: PUBLIC, BACKSTAGE or STAFF), its
    attendance row, who it is, and what to call when a revocation names it."""

    level: int
    presence_id: int | None = None
    participant: Participant | None = None
    on_revoke: Callable[[], None] | None = None

    def named_by(self, message: dict[str, Any]) -> bool:
        """Whether a `room.revoke` message names this connection's person."""
        who = self.participant
        if who is None:
            return False
        return bool(
            (message.get("registration_id") and who.registration_id == message["registration_id"])
            or (message.get("speaker_id") and who.speaker_id == message["speaker_id"])
            or (message.get("user_id") and who.is_staff and who.user_id == message["user_id"])
        )


class LocalRoom:
    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.epoch = secrets.token_hex(6)
        self.seq = 0
        self.history: deque[tuple[int, str]] = deque(maxlen=HISTORY)
        self.members: dict[Outbox, Member] = {}
        # (monotonic time, message) of the revocations heard lately: a join answered at that
        # moment (identified before, entered after) is re-checked (`Hub.enter`).
        self.revocations: deque[tuple[float, dict[str, Any]]] = deque(maxlen=256)
        self.pending: list[dict[str, Any]] = []
        self.channel = ""
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        layer = get_channel_layer()
        assert layer is not None  # noqa: S101 (configured in settings)
        self.channel = await layer.new_channel()
        await layer.group_add(push.room_group(self.session_id), self.channel)
        loop = asyncio.get_running_loop()
        self.tasks = [
            loop.create_task(self._receive()),
            loop.create_task(self._tick()),
            loop.create_task(self._heartbeat()),
        ]

    async def stop(self) -> None:
        layer = get_channel_layer()
        if layer is not None and self.channel:
            await layer.group_discard(push.room_group(self.session_id), self.channel)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _receive(self) -> None:
        layer = get_channel_layer()
        assert layer is not None  # noqa: S101
        while True:
            message = await layer.receive(self.channel)
            if message.get("type") == "room.event":
                self.pending.append(
                    {
                        "event": message["event"],
                        "data": message["data"],
                        "level": int(message.get("level", PUBLIC)),
                    }
                )
            elif message.get("type") == "room.state":
                self.pending.append(
                    {"event": "state", "data": {"state": message["state"]}, "level": PUBLIC}
                )
                if message["state"] in ("ended", "cancelled"):
                    self._media_over()
            elif message.get("type") == "room.revoke":
                self._revoke(message)

    def _revoke(self, message: dict[str, Any]) -> None:
        """Pause the connections the revocation names and have each re-check its right (the
        consumer closes it or resumes it); stop the media it ended."""
        now = time.monotonic()
        while self.revocations and self.revocations[0][0] < now - REVOCATIONS_KEPT:
            self.revocations.popleft()
        self.revocations.append((now, message))
        for outbox, member in list(self.members.items()):
            if member.named_by(message) and member.on_revoke is not None:
                outbox.pause()
                member.on_revoke()
        presences = [int(p) for p in message.get("presence_ids") or []]
        feeds = [str(f) for f in message.get("engine_feed_ids") or []]
        if presences or feeds:
            # Not one of the room's tasks: the room may stop (its last connection put out)
            # before the engine is done.
            task = background(revoked(self.session_id, presences, feeds))
            _MEDIA_TASKS.add(task)
            task.add_done_callback(_MEDIA_TASKS.discard)

    def _media_over(self) -> None:
        """The session ended: this process's media engine stops its streams (an engine
        shared by every process, Janus, hears it once per process: harmless)."""
        task = asyncio.get_running_loop().create_task(session_over(self.session_id))
        self.tasks.append(task)

    async def _heartbeat(self) -> None:
        """Tell the database this process still holds its connections (rooms.attendance)."""
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            ids = [m.presence_id for m in self.members.values() if m.presence_id is not None]
            try:
                await sync_to_async(touch)(ids)
            except Exception:
                logger.exception("attendance heartbeat failed; trying again")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            if self.pending:
                self.flush()

    def flush(self) -> None:
        """Deliver what arrived since the last tick: room events in one numbered frame to
        everyone; backstage events (green room chat) in one unnumbered `backstage` push to
        speakers and staff only, which a rejoin recovers from the snapshot."""
        events, self.pending = _coalesce(self.pending), []
        public = [[e["event"], e["data"]] for e in events if e["level"] == PUBLIC]
        if public:
            self.seq += 1
            frame = _frame(self.epoch, self.seq, public)
            self.history.append((self.seq, frame))
            for outbox in list(self.members):
                outbox.put(frame)
        for level in (BACKSTAGE, STAFF):
            restricted = [[e["event"], e["data"]] for e in events if e["level"] == level]
            if not restricted:
                continue
            push = json.dumps(["backstage", {"events": restricted}], ensure_ascii=True)
            for outbox, member in list(self.members.items()):
                if member.level >= level:
                    outbox.put(push)

    def missed_since(self, epoch: str, last_seq: int) -> list[str] | None:
        """The frames after `last_seq` if this room can replay them all, else None."""
        if epoch != self.epoch or last_seq > self.seq:
            return None
        if last_seq == self.seq:
            return []
        if not self.history or self.history[0][0] > last_seq + 1:
            return None
        return [frame for seq, frame in self.history if seq > last_seq]


def _coalesce(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reactions of one tick become one `reactions` event with the counts summed (an applause
    of 2,000 people is one small event, not 2,000)."""
    counts: dict[str, int] = {}
    kept: list[dict[str, Any]] = []
    for event in events:
        if event["event"] == "reactions" and event["level"] == PUBLIC:
            for emoji, count in event["data"].items():
                counts[emoji] = counts.get(emoji, 0) + int(count)
        else:
            kept.append(event)
    if counts:
        kept.append({"event": "reactions", "data": counts, "level": PUBLIC})
    return kept


def _frame(epoch: str, seq: int, events: list[list[Any]]) -> str:
    return json.dumps(["frame", {"epoch": epoch, "seq": seq, "events": events}], ensure_ascii=True)


class Hub:
    """This process's rooms, created on first join and stopped when the last one leaves."""

    def __init__(self) -> None:
        self.rooms: dict[int, LocalRoom] = {}
        self.lock = asyncio.Lock()

    async def enter(
        self,
        session_id: int,
        outbox: Outbox,
        *,
        level: int,
        presence_id: int | None = None,
        participant: Participant | None = None,
        on_revoke: Callable[[], None] | None = None,
        since: float | None = None,
    ) -> LocalRoom:
        """Add a connection to the session's room (created in this process on first use).
        `since`: when its join began (monotonic). A revocation naming it that the room heard
        since then, or any revocation a new room could not hear, has it re-checked at once
        (its right was read before the revocation, and it entered after)."""
        async with self.lock:
            room = self.rooms.get(session_id)
            created = room is None
            if room is None:
                room = LocalRoom(session_id)
                await room.start()
                self.rooms[session_id] = room
            member = Member(level, presence_id, participant, on_revoke)
            room.members[outbox] = member
            if on_revoke is not None and since is not None:
                heard = any(t >= since and member.named_by(m) for t, m in room.revocations)
                if created or heard:
                    outbox.pause()
                    on_revoke()
            return room

    async def leave(self, session_id: int, outbox: Outbox) -> None:
        async with self.lock:
            room = self.rooms.get(session_id)
            if room is None:
                return
            room.members.pop(outbox, None)
            if not room.members:
                del self.rooms[session_id]
                await room.stop()


HUB = Hub()
