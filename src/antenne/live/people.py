"""`people.list` (speakers and staff): who is connected, with their hand, mute and stage
state. Attendees never get it: they do not see each other's identities."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from antenne.live.actions import Context, action, backstage
from antenne.live.protocol import EmptyPayload
from antenne.rooms import people as room_people


@action("people.list", EmptyPayload, backstage)
async def people(ctx: Context, data: EmptyPayload) -> dict[str, Any]:
    return await sync_to_async(room_people.connected_people)(participant=ctx.participant)
