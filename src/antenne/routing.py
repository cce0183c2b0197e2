"""WebSocket routes. The live room's consumer (antenne.live) registers here."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
