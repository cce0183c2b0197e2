"""The live room's door, through the real ASGI application: joins are throttled per
credential and per client address's wrong guesses (shared with the join pages), a
connection that does not join is closed, and one client address holds a bounded number of
connections that have not joined. Client addresses follow ANTENNE_TRUSTED_PROXIES."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from antenne.asgi import application
from antenne.live import admission
from tests.factories import RegistrationFactory
from tests.live.helpers import HEADERS, call

pytestmark = pytest.mark.django_db(transaction=True)


def socket_from(session_id: int, client: str, forwarded: str = "") -> WebsocketCommunicator:
    """A connection from `client` (the TCP peer), with an X-Forwarded-For header if given."""
    headers = list(HEADERS)
    if forwarded:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    communicator = WebsocketCommunicator(application, f"/ws/room/{session_id}/", headers=headers)
    communicator.scope["client"] = (client, 50000)
    return communicator


async def opened(session_id: int, client: str, forwarded: str = "") -> WebsocketCommunicator:
    communicator = socket_from(session_id, client, forwarded)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def refused(session_id: int, client: str, forwarded: str = "") -> bool:
    communicator = socket_from(session_id, client, forwarded)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return not connected


async def test_joins_are_throttled_per_link_with_a_clear_code(room, settings):
    settings.RATE_LIMIT_LIVE_JOIN = (3, 60)
    person = await sync_to_async(RegistrationFactory)(session=room)
    other = await sync_to_async(RegistrationFactory)(session=room)
    for _ in range(3):  # a page reloaded three times
        ws = await opened(room.pk, "192.0.2.10")
        assert (await call(ws, "join", {"join_key": person.join_key}))[0] == "success"
        await ws.disconnect()

    ws = await opened(room.pk, "192.0.2.11")  # another address: the link is what counts
    reply = await call(ws, "join", {"join_key": person.join_key})
    assert reply[0] == "error"
    assert reply[2]["code"] == "rate_limited"
    assert 0 < reply[2]["retry_after"] <= 60
    # Someone else's link, from the same addresses, still gets in.
    assert (await call(ws, "join", {"join_key": other.join_key}, "r2"))[0] == "success"
    await ws.disconnect()


async def test_wrong_links_are_throttled_per_client_address_on_pages_and_room(room, settings):
    settings.RATE_LIMIT_SECRET = (3, 600)
    person = await sync_to_async(RegistrationFactory)(session=room)
    ws = await opened(room.pk, "192.0.2.20")
    for number in range(3):
        guess = await call(ws, "join", {"join_key": f"guess{number}"}, f"g{number}")
        assert guess[2]["code"] == "join.invalid_link"
    # The address used up its guesses: even a right link waits, and says how long.
    limited = await call(ws, "join", {"join_key": person.join_key}, "right")
    assert limited[2]["code"] == "rate_limited"
    assert limited[2]["retry_after"] > 0
    await ws.disconnect()
    # The join pages count the same guesses for the same address…
    page = await sync_to_async(Client(REMOTE_ADDR="192.0.2.20").get)(f"/join/{person.join_key}/")
    assert page.status_code == 429
    # …and another address is not affected.
    elsewhere = await opened(room.pk, "192.0.2.21")
    assert (await call(elsewhere, "join", {"join_key": person.join_key}))[0] == "success"
    await elsewhere.disconnect()


async def test_a_connection_that_does_not_join_is_closed(room, settings):
    settings.LIVE_JOIN_TIMEOUT = 1
    person = await sync_to_async(RegistrationFactory)(session=room)
    idle = await opened(room.pk, "192.0.2.30")
    # A refused join does not buy time.
    assert (await call(idle, "join", {"join_key": "wrong"}))[2]["code"] == "join.invalid_link"
    closed = await idle.receive_output(timeout=5)
    assert (closed["type"], closed.get("code")) == ("websocket.close", admission.CLOSE_JOIN_TIMEOUT)
    await idle.disconnect()

    joined = await opened(room.pk, "192.0.2.30")
    assert (await call(joined, "join", {"join_key": person.join_key}))[0] == "success"
    await asyncio.sleep(1.5)
    assert (await call(joined, "ping", {}, "p"))[0] == "success"  # past the timeout, open
    await joined.disconnect()


async def test_one_address_holds_a_bounded_number_of_unjoined_connections(room, settings):
    settings.LIVE_MAX_UNJOINED = 2
    person = await sync_to_async(RegistrationFactory)(session=room)
    first = await opened(room.pk, "192.0.2.40")
    second = await opened(room.pk, "192.0.2.40")
    assert await refused(room.pk, "192.0.2.40")  # the third waits outside
    other = await opened(room.pk, "192.0.2.41")  # another address has its own share

    # Joining frees the place: the next connection of that address is let in.
    assert (await call(first, "join", {"join_key": person.join_key}))[0] == "success"
    third = await opened(room.pk, "192.0.2.40")
    for socket in (first, second, third, other):
        await socket.disconnect()
    assert "192.0.2.40" not in admission.WAITING.counts  # nothing left counted

    # An IPv6 /64 is one machine's, not a share per address.
    settings.LIVE_MAX_UNJOINED = 1
    v6 = await opened(room.pk, "2001:db8:1:2::1")
    assert await refused(room.pk, "2001:db8:1:2::ffff")
    await v6.disconnect()


async def test_the_client_behind_a_trusted_proxy_is_the_forwarded_one(room, settings):
    settings.LIVE_MAX_UNJOINED = 1
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.1/32")]
    behind = [
        await opened(room.pk, "10.0.0.1", "198.51.100.1"),
        await opened(room.pk, "10.0.0.1", "198.51.100.2"),  # another client, same proxy
        # A client's own X-Forwarded-For comes first: the proxy's addition is what counts.
        await opened(room.pk, "10.0.0.1", "203.0.113.66, 198.51.100.3"),
    ]
    assert await refused(room.pk, "10.0.0.1", "203.0.113.77, 198.51.100.1")

    # From an untrusted peer, X-Forwarded-For changes nothing.
    direct = await opened(room.pk, "192.0.2.50", "198.51.100.9")
    assert await refused(room.pk, "192.0.2.50", "198.51.100.10")
    for socket in (*behind, direct):
        await socket.disconnect()
