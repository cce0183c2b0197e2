"""`ping`: a joined client checks the connection."""

from __future__ import annotations

from typing import Any

from antenne.live.actions import Context, action
from antenne.live.protocol import EmptyPayload


@action("ping", EmptyPayload)
async def ping(ctx: Context, data: EmptyPayload) -> dict[str, Any]:
    return {}
