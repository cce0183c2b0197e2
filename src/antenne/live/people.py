"""`people.list` (speakers and staff): who is connected, with their hand, mute and stage
state. Attendees never get it: they do not see each other's identities. Each call re-checks
the right to be in the room (`participants.require_in_room`)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from antenne.live.actions import Context, action, backstage
from antenne.live.protocol import EmptyPayload
from antenne.rooms import participants
from antenne.rooms import people as room_people


@action("people.list", EmptyPayload, backstage)
async def people(ctx: Context, data: EmptyPayload) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        # A read re-checks the right like a write: a speaker link revoked or an animator
        # removed since joining no longer sees who is here.
        participants.require_in_room(ctx.participant)
        return room_people.connected_people(participant=ctx.participant)

    return await sync_to_async(read)()
