"""Moderation actions (staff): `room.settings`, `chat.mute`, `chat.unmute`. Mutes are told to
speakers and staff only; the muted attendee learns it from `room.muted` when they next
write (and from `join_state` when they join)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from pydantic import ConfigDict, Field

from antenne.live.actions import Context, action, staff
from antenne.live.protocol import Payload
from antenne.rooms import moderation, people
from antenne.rooms.participants import Participant
from antenne.rooms.push import Audience, publish


class StrictPayload(Payload):
    """Unknown keys rejected, and no coercion (`"1"` is not an id, `1` is not `true`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class RoomSettingsPayload(StrictPayload):
    chat_enabled: bool | None = None
    slow_mode_seconds: int | None = Field(default=None, ge=0, le=moderation.MAX_SLOW_MODE_SECONDS)
    show_attendee_names: bool | None = None
    questions_enabled: bool | None = None


class PersonPayload(StrictPayload):
    registration_id: int = Field(ge=1)


def join_state(participant: Participant) -> dict[str, Any]:
    """For the join reply (sync, call it inside the snapshot's `sync_to_async`): the room
    settings, and for an attendee their stage `target`, `muted` and open stage invitation."""
    return people.participant_state(participant)


@action("room.settings", RoomSettingsPayload, staff)
async def change_settings(ctx: Context, data: RoomSettingsPayload) -> dict[str, Any]:
    room, changed = await sync_to_async(moderation.change_room_settings)(
        participant=ctx.participant, changes=data.model_dump()
    )
    values = moderation.settings_data(room)
    if changed:
        await publish(ctx.session_id, "room.settings", values)
    return values


@action("chat.mute", PersonPayload, staff)
async def mute(ctx: Context, data: PersonPayload) -> dict[str, Any]:
    person, changed = await sync_to_async(moderation.mute)(
        participant=ctx.participant, registration_id=data.registration_id
    )
    if changed:
        await publish(
            ctx.session_id,
            "person.muted",
            {"registration_id": person.registration_id, "name": person.name},
            audience=Audience.BACKSTAGE,
        )
        await moderation.tell_attendee(ctx.session_id, person.registration_id, "muted", True)
    return {"registration_id": person.registration_id, "muted": True}


@action("chat.unmute", PersonPayload, staff)
async def unmute(ctx: Context, data: PersonPayload) -> dict[str, Any]:
    person, changed = await sync_to_async(moderation.unmute)(
        participant=ctx.participant, registration_id=data.registration_id
    )
    if changed:
        await publish(
            ctx.session_id,
            "person.unmuted",
            {"registration_id": person.registration_id, "name": person.name},
            audience=Audience.BACKSTAGE,
        )
        await moderation.tell_attendee(ctx.session_id, person.registration_id, "muted", False)
    return {"registration_id": person.registration_id, "muted": False}
