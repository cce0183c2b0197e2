"""WebSocket routes. The live room's consumer (antenne.live) registers here; any other path
is refused at the handshake instead of raising in the ASGI server."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

from antenne.live.consumer import RoomConsumer


class NotFoundConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.close()  # before accept: the handshake is answered 403


websocket_urlpatterns: list[Any] = [
    re_path(r"^ws/room/(?P<session_id>[0-9]{1,12})/$", RoomConsumer.as_asgi()),
    re_path(r"", NotFoundConsumer.as_asgi()),
]
