"""Telling a session's room that something changed outside it (a start or an end decided in
the back office or through the API). Sent after commit, through the channel layer: the
in-memory layer in one process, Redis pub/sub across processes."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from antenne.live import groups


def publish_state(session_id: int, state: str) -> None:
    """After the surrounding transaction commits, push the session's new state to its room."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                groups.room(session_id), {"type": "room.state", "state": state}
            )

    transaction.on_commit(send)
