"""Telephone callers in the room : `phone.floor` (staff) gives a caller the floor
(the gateway publishes their voice) or takes it back. The rules and what follows a change
(the gateway told, `phone.floor` and `hand.lowered` backstage) are in
`antenne.rooms.phone`; callers raise their hand from the telephone (*1), through the
gateway."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from pydantic import Field

from antenne.live.actions import Context, action, staff
from antenne.live.moderation import StrictPayload
from antenne.rooms import phone as room


class FloorPayload(StrictPayload):
    presence_id: int = Field(ge=1)
    floor: bool


@action("phone.floor", FloorPayload, staff)
async def floor(ctx: Context, data: FloorPayload) -> dict[str, Any]:
    return await sync_to_async(room.set_floor)(
        participant=ctx.participant, presence_id=data.presence_id, floor=data.floor
    )
