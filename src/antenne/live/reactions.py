"""`react` (anyone joined): an emoji of a fixed set, at most one per second per connection
(`reaction.too_fast`), published as `reactions` `{emoji: count}`.

Each reaction is one publish; the hub sums the reactions of a tick into one `reactions`
event (`live.hub._coalesce`), so an applause of the whole audience is one small event per
frame. The set of emoji is the room's (`rooms.reactions`).

Reactions are not stored. The right to be in the room is re-checked at most every
`RIGHTS_TTL` seconds per connection, not at each reaction, so that an applause of the whole
audience does not cost two queries per person."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.utils.translation import gettext as _

from antenne.core.exceptions import RateLimited
from antenne.live.actions import Context, action
from antenne.live.moderation import StrictPayload
from antenne.rooms import participants
from antenne.rooms.push import publish
from antenne.rooms.reactions import Emoji

INTERVAL = 1.0  # seconds between two reactions of one connection
RIGHTS_TTL = 10.0


class ReactPayload(StrictPayload):
    emoji: Emoji


@dataclass
class _Pace:
    last_reaction: float = float("-inf")
    rights_checked: float = float("-inf")


# Per connection, forgotten with it.
_paces: weakref.WeakKeyDictionary[Any, _Pace] = weakref.WeakKeyDictionary()


@action("react", ReactPayload)
async def react(ctx: Context, data: ReactPayload) -> dict[str, Any]:
    pace = _paces.setdefault(ctx, _Pace())
    now = time.monotonic()
    if now - pace.last_reaction < INTERVAL:
        raise RateLimited(_("One reaction per second at most."), code="reaction.too_fast")
    if now - pace.rights_checked >= RIGHTS_TTL:
        await sync_to_async(participants.require_in_room)(ctx.participant)
        pace.rights_checked = now
    pace.last_reaction = now
    await publish(ctx.session_id, "reactions", {data.emoji: 1})
    return {}
