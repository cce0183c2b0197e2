"""The ASGI application serves WebSocket through Channels; unknown paths are refused."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from antenne.asgi import application


@pytest.mark.django_db(transaction=True)
async def test_unknown_websocket_path_is_refused_cleanly():
    communicator = WebsocketCommunicator(
        application,
        "/ws/nowhere/",
        headers=[(b"host", b"antenne.test"), (b"origin", b"https://antenne.test")],
    )
    connected, _subprotocol = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(
        application,
        "/ws/nowhere/",
        headers=[(b"host", b"antenne.test"), (b"origin", b"https://evil.example")],
    )
    connected, _subprotocol = await communicator.connect()
    assert connected is False
    await communicator.disconnect()
