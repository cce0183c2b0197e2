"""The control plane of media: authorise, then ask the engine, then tell the room.

Called by the HTTP endpoints (`antenne.media.views`), the room's actions (a person taken
off the stage, a connection closed) and the hub (a session ended). Every engine call goes
through here, on the ASGI server's event loop.

A browser proves who it is with the *media token* it got in its room join reply: a signed
copy of its `Participant` and attendance row, valid while that connection is open. The
rules themselves are in `antenne.rooms.stage_media`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.module_loading import import_string

from antenne.core.exceptions import NotFound, PermissionDenied
from antenne.media.engine import (
    EngineEvent,
    MediaEngine,
    MediaError,
    Subscription,
    TrackStats,
)
from antenne.rooms import stage_media
from antenne.rooms.participants import Participant
from antenne.rooms.push import Audience
from antenne.rooms.push import publish as room_publish

logger = logging.getLogger(__name__)

TOKEN_SALT = "antenne.media.token"  # noqa: S105 (a salt, not a password)
SUBSCRIPTION_SALT = "antenne.media.subscription"
TOKEN_MAX_AGE = 24 * 3600
STATS_INTERVAL = 5.0  # seconds between two rounds of media stats
STATS_SHOWN = timedelta(seconds=30)  # the console shows samples younger than this


def participant_key(presence_id: int) -> str:
    """How the engine knows a connection."""
    return f"p{presence_id}"


def presence_of(key: str) -> int | None:
    if key.startswith("p") and key[1:].isdigit():
        return int(key[1:])
    return None


# -- Tokens -----------------------------------------------------------------------------------


def media_token(participant: Participant, presence_id: int) -> str:
    return signing.dumps({"p": asdict(participant), "a": presence_id}, salt=TOKEN_SALT)


def read_token(token: str, session_id: int) -> tuple[Participant, int]:
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
        participant = Participant(**data["p"])
        presence_id = int(data["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise PermissionDenied(
            "This media token is not valid; reload the page.", code="media.bad_token"
        ) from None
    if participant.session_id != session_id:
        raise PermissionDenied("This media token is for another session.", code="media.bad_token")
    return participant, presence_id


def _subscription_token(presence_id: int, engine_id: str) -> str:
    """What the browser names its subscription by: the engine's id, signed with its owner,
    so that nobody completes or closes someone else's."""
    return signing.dumps({"a": presence_id, "s": engine_id}, salt=SUBSCRIPTION_SALT)


def _read_subscription(token: str, presence_id: int) -> str:
    try:
        data = signing.loads(token, salt=SUBSCRIPTION_SALT)
        owner, engine_id = int(data["a"]), str(data["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("No such subscription.", code="media.no_such_subscription") from None
    if owner != presence_id:
        raise NotFound("No such subscription.", code="media.no_such_subscription")
    return engine_id


# -- What this process's engine holds ----------------------------------------------------------


@dataclass
class _Rooms:
    """Sessions with media in this process, and the names of their connections (for the
    stats shown to the animator)."""

    names: dict[int, dict[int, tuple[str, str]]] = field(default_factory=dict)
    sampler: asyncio.Task[None] | None = None

    def touch(self, participant: Participant, presence_id: int) -> None:
        room = self.names.setdefault(participant.session_id, {})
        room[presence_id] = (participant.name, participant.role)
        if self.sampler is None or self.sampler.done():
            self.sampler = background(_sample_forever())


ROOMS = _Rooms()


def engine() -> Any:
    """The process's engine (wired to `handle_event` by `get_engine`)."""
    return get_engine()


_engine: MediaEngine | None = None

ENGINES = {
    "embedded": "antenne.media.embedded.EmbeddedEngine",
    "janus": "antenne.media.janus.engine.JanusEngine",
}


def get_engine() -> MediaEngine:
    """The process's engine, created on first use from `ANTENNE_MEDIA_ENGINE`, its events
    going to the control plane (`antenne.media.signaling.handle_event`) in whatever process
    it is created: one serving browsers, or one that only receives Janus's event posts."""
    global _engine
    if _engine is None:
        _engine = import_string(ENGINES[settings.MEDIA_ENGINE])()
        _engine.set_listener(handle_event)
    return _engine


def set_engine(engine: MediaEngine | None) -> None:
    """For tests and shutdown: replace (or forget) the process's engine."""
    global _engine
    _engine = engine


def reset() -> None:
    """Forget this process's rooms and stop sampling (tests, shutdown)."""
    if ROOMS.sampler is not None:
        ROOMS.sampler.cancel()
    ROOMS.names.clear()
    ROOMS.sampler = None


async def push_feeds(session_id: int) -> None:
    feeds = await sync_to_async(stage_media.live_feeds)(session_id)
    await room_publish(session_id, "media.feeds", {"feeds": feeds})


# -- Publishing ---------------------------------------------------------------------------------


async def publish(
    *, participant: Participant, presence_id: int, offer_sdp: str, source: str
) -> tuple[int, str]:
    """A browser's offer to go on stage from `source`; returns (our feed id, answer SDP)."""
    await sync_to_async(stage_media.require_publisher)(participant, presence_id)
    await sync_to_async(stage_media.require_room_for_stage)(participant, presence_id, source)
    current = engine()
    engine_feed, answer = await current.publish(
        participant.session_id, participant_key(presence_id), offer_sdp, source=source
    )
    try:
        feed, replaced = await sync_to_async(stage_media.open_feed)(
            participant=participant,
            presence_id=presence_id,
            source=source,
            engine_feed_id=engine_feed,
        )
    except BaseException:
        await _quietly(current.unpublish(participant.session_id, engine_feed))
        raise
    for old in replaced:
        await _quietly(current.unpublish(participant.session_id, old))
    ROOMS.touch(participant, presence_id)
    await push_feeds(participant.session_id)
    return feed.pk, answer


async def unpublish(*, participant: Participant, presence_id: int, feed_id: int) -> None:
    feed = await sync_to_async(stage_media.own_feed)(
        participant=participant, presence_id=presence_id, feed_id=feed_id, ended_ok=True
    )
    if feed is None:
        return  # ended already (taken off the stage, replaced): stopping twice is fine
    await sync_to_async(stage_media.end_feeds)(session_id=feed.session_id, feed_ids=[feed.pk])
    await _quietly(engine().unpublish(feed.session_id, feed.engine_feed_id))
    await push_feeds(feed.session_id)


async def set_muted(
    *,
    participant: Participant,
    presence_id: int,
    feed_id: int,
    audio: bool | None,
    video: bool | None,
) -> dict[str, Any]:
    """A speaker's own microphone or camera switched (their browser stops sending), or
    staff muting someone's feed (the engine stops forwarding it)."""
    feed = await sync_to_async(stage_media.own_feed)(
        participant=participant, presence_id=presence_id, feed_id=feed_id
    )
    assert feed is not None  # noqa: S101 (ended feeds raise without ended_ok)
    if feed.presence_id != presence_id:
        current = engine()
        if audio is not None:
            await current.mute(feed.session_id, feed.engine_feed_id, "audio", audio)
        if video is not None:
            await current.mute(feed.session_id, feed.engine_feed_id, "video", video)
    feed = await sync_to_async(stage_media.set_muted)(feed=feed, audio=audio, video=video)
    await push_feeds(feed.session_id)
    return stage_media.feed_data(feed)


# -- Watching -----------------------------------------------------------------------------------


async def subscribe(
    *, participant: Participant, presence_id: int, feed_ids: list[int]
) -> dict[str, Any]:
    """An offer carrying the requested live feeds (ended or unknown ones are left out)."""
    await sync_to_async(stage_media.require_viewer)(participant, presence_id)
    by_engine_id = await sync_to_async(stage_media.engine_ids)(participant.session_id, feed_ids)
    if not by_engine_id:
        raise NotFound("None of these streams is on stage.", code="media.no_such_feed")
    try:
        subscription: Subscription = await engine().subscribe(
            participant.session_id, participant_key(presence_id), list(by_engine_id)
        )
    except MediaError as exc:
        if exc.code != "media.no_such_feed":
            raise
        # On stage for us, not yet at the engine (a publisher still connecting: Janus lists
        # a feed once its media flows). Not an error: the browser asks again shortly.
        return {"id": None, "sdp": None, "streams": {}}
    ROOMS.touch(participant, presence_id)
    streams = {
        str(by_engine_id[engine_id]): [list(pair) for pair in pairs]
        for engine_id, pairs in subscription.streams.items()
        if engine_id in by_engine_id
    }
    token = _subscription_token(presence_id, subscription.subscription_id)
    return {"id": token, "sdp": subscription.offer_sdp, "streams": streams}


async def complete_subscription(
    *, participant: Participant, presence_id: int, subscription: str, answer_sdp: str
) -> None:
    await sync_to_async(stage_media.require_viewer)(participant, presence_id)
    engine_id = _read_subscription(subscription, presence_id)
    await engine().complete_subscription(participant.session_id, engine_id, answer_sdp)


async def unsubscribe(*, participant: Participant, presence_id: int, subscription: str) -> None:
    engine_id = _read_subscription(subscription, presence_id)
    await _quietly(engine().unsubscribe(participant.session_id, engine_id))


# -- Endings ------------------------------------------------------------------------------------


async def presence_closed(session_id: int, presence_id: int) -> None:
    """A connection left the room: its feeds and subscriptions stop."""
    ended = await sync_to_async(stage_media.end_feeds)(
        session_id=session_id, presence_id=presence_id
    )
    if ended or presence_id in ROOMS.names.get(session_id, {}):
        await _quietly(engine().kick(session_id, participant_key(presence_id)))
        ROOMS.names.get(session_id, {}).pop(presence_id, None)
    if ended:
        await push_feeds(session_id)


async def taken_off_stage(session_id: int, registration_id: int) -> None:
    """Staff removed an attendee from the stage: whatever they publish stops."""
    ended = await sync_to_async(stage_media.end_attendee_feeds)(
        session_id=session_id, registration_id=registration_id
    )
    current = engine()
    for feed in ended:
        await _quietly(current.unpublish(session_id, feed.engine_feed_id))
    if ended:
        await push_feeds(session_id)


async def revoked(session_id: int, presence_ids: list[int], engine_feed_ids: list[str]) -> None:
    """Someone's right to be in the room was withdrawn (`rooms.revocation` ended their feeds
    in the database): this process's engine stops those feeds and whatever those connections
    published or watched. Told to every process (an engine shared by every process, Janus,
    hears it once per process: what is gone already is not an error)."""
    current = engine()
    for engine_feed_id in engine_feed_ids:
        await _quietly(current.unpublish(session_id, engine_feed_id))
    for presence_id in presence_ids:
        await _quietly(current.kick(session_id, participant_key(presence_id)))
        ROOMS.names.get(session_id, {}).pop(presence_id, None)


async def session_over(session_id: int) -> None:
    """The session ended (or was cancelled): every stream of it stops."""
    ended = await sync_to_async(stage_media.end_feeds)(session_id=session_id, everything=True)
    await _quietly(engine().close_room(session_id))
    ROOMS.names.pop(session_id, None)
    if ended:
        await push_feeds(session_id)


# -- Engine events and stats ----------------------------------------------------------------------


def background(coro: Any) -> asyncio.Task[None]:
    """A task that outlives the request that started it, in a context of its own: one
    inherited from a request would send its `sync_to_async` calls to that request's
    executor, gone with the request."""
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())


async def handle_event(event: EngineEvent) -> None:
    """What the engine tells us (the embedded engine directly, Janus through its event
    handler). Handled in a task of its own (see `background`)."""
    await background(_handle_event(event))


async def _handle_event(event: EngineEvent) -> None:
    if event.kind == "unpublished" and event.feed_id:
        ended = await sync_to_async(stage_media.end_feeds)(
            session_id=event.room_id, engine_feed_ids=[event.feed_id]
        )
        if ended:
            await push_feeds(event.room_id)
    elif event.kind == "media_stats" and event.stats:
        await record_stats(event.room_id, list(event.stats))


async def record_stats(session_id: int, stats: list[TrackStats]) -> None:
    samples = []
    for item in stats:
        presence_id = presence_of(item.participant)
        if presence_id is None:
            continue
        fields = {
            "direction": item.direction,
            "kind": item.kind,
            "bitrate": None if item.bitrate is None else max(0, int(item.bitrate)),
            "packets_lost": None if item.packets_lost is None else max(0, item.packets_lost),
            "fraction_lost": item.fraction_lost,
            "rtt_ms": item.rtt_ms,
            "jitter_ms": item.jitter_ms,
        }
        samples.append((presence_id, fields))
    if not samples:
        return
    await sync_to_async(stage_media.record_samples)(session_id=session_id, samples=samples)
    await push_stats(session_id)


async def push_stats(session_id: int) -> None:
    """The latest stats of each connection, to the session's staff."""
    since = timezone.now() - STATS_SHOWN
    people = await sync_to_async(stage_media.latest_samples)(session_id, since=since)
    names = ROOMS.names.get(session_id, {})
    for person in people:
        person["name"] = names.get(person["presence_id"], ("", ""))[0]
    await room_publish(session_id, "media.stats", {"people": people}, audience=Audience.STAFF)


async def _sample_forever() -> None:
    while ROOMS.names:
        await asyncio.sleep(STATS_INTERVAL)
        current = engine()
        for session_id in list(ROOMS.names):
            try:
                stats = await current.stats(session_id)
                if stats:
                    await record_stats(session_id, stats)
            except Exception:
                logger.exception("media stats of session %s failed", session_id)


async def _quietly(call: Any) -> None:
    """Stopping something that is already gone is not an error; an engine failure while
    cleaning up is logged, never shown to the person who left."""
    try:
        await call
    except MediaError:
        pass  # gone already
    except Exception:
        logger.exception("media engine call failed while cleaning up")
