"""The one way to push something to a session's room.

Services of the room domain, media signalling and the telephone gateway all publish here;
the `live` interface consumes it (`live.hub` subscribes each process's rooms to the group
and delivers each event to the audience it names, coalesced into frames).

- `publish` (async) sends at once: for code that runs after its writes are committed (a live
  action after its service returned, media signalling).
- `publish_on_commit` (sync) sends once the surrounding transaction commits, never for a
  change that rolled back: for services inside a transaction.

The channel-layer group names are defined here too, once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


class Audience(IntEnum):
    """Who sees an event: everyone, speakers and staff, or staff only. A connection at one
    level receives the events of its level and below."""

    PUBLIC = 0
    BACKSTAGE = 1
    STAFF = 2


def room_group(session_id: int) -> str:
    """Everyone connected to a session's room (attendees, speakers, staff)."""
    return f"room.{session_id}"


def telephony_group(session_id: int) -> str:
    """The telephone gateway's processes serving a session's callers: they publish a caller's
    voice while the caller has the floor (`phone.floor` messages)."""
    return f"telephony.{session_id}"


def _layer() -> Any:
    layer = get_channel_layer()
    if layer is None:  # pragma: no cover - CHANNEL_LAYERS is always configured in settings
        raise RuntimeError("no channel layer is configured")
    return layer


async def publish(
    session_id: int, event: str, data: Any, *, audience: Audience = Audience.PUBLIC
) -> None:
    """One publish to the session's group; every process's room delivers it to `audience`
    in its next frame."""
    await _layer().group_send(
        room_group(session_id),
        {"type": "room.event", "event": event, "data": data, "level": int(audience)},
    )


async def publish_state(session_id: int, state: str) -> None:
    """The session's new state (`green_room`, `live`, `ended`, `cancelled`), for everyone;
    each process's room also ends its media when the session is over."""
    await _layer().group_send(room_group(session_id), {"type": "room.state", "state": state})


async def revoke(
    session_id: int,
    *,
    registration_id: int | None = None,
    speaker_id: int | None = None,
    user_id: int | None = None,
    presence_ids: list[int] | None = None,
    engine_feed_ids: list[str] | None = None,
) -> None:
    """A right to be in the room was withdrawn (`rooms.revocation`): every process's room
    pauses the connections this names (a registration, a speaker link, or a member's staff
    connections), has each re-check its right and closes those refused; its media engine
    stops the feeds `engine_feed_ids` and whatever the closed connections `presence_ids`
    received."""
    await _layer().group_send(
        room_group(session_id),
        {
            "type": "room.revoke",
            "registration_id": registration_id,
            "speaker_id": speaker_id,
            "user_id": user_id,
            "presence_ids": list(presence_ids or []),
            "engine_feed_ids": list(engine_feed_ids or []),
        },
    )


async def send_to_telephony(session_id: int, message: dict[str, Any]) -> None:
    """A message for the telephone gateway's processes serving the session."""
    await _layer().group_send(telephony_group(session_id), message)


def after_commit(send: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any) -> None:
    """Run `send(*args, **kwargs)` (pushes through the channel layer) once the surrounding
    transaction commits: never for a change that rolled back. A failure to send is logged;
    the change itself is saved."""
    transaction.on_commit(lambda: async_to_sync(send)(*args, **kwargs), robust=True)


def publish_on_commit(
    session_id: int, event: str, data: Any, *, audience: Audience = Audience.PUBLIC
) -> None:
    """`publish`, once the surrounding transaction commits."""
    after_commit(publish, session_id, event, data, audience=audience)


def publish_state_on_commit(session_id: int, state: str) -> None:
    """`publish_state`, once the surrounding transaction commits."""
    after_commit(publish_state, session_id, state)
