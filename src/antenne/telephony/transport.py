"""The gateway's sockets: SIP over UDP and TCP on one port, and the bytes in and out.

`SipTransport` binds the UDP socket and the TCP server (the same port for both), frames TCP
messages by their Content-Length, hands every message to its `receive` callback with the
`Peer` to answer, and sends. It knows nothing of SIP beyond framing: a TCP message that
cannot be framed gets a 400 when it is a request we can address, then the connection closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import cast

from .sip import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_BYTES,
    Peer,
    SipError,
    SipMessage,
    build_response,
    content_length,
    parse_message,
)

logger = logging.getLogger("antenne.telephony")

TCP_IDLE = 120.0  # seconds a TCP connection may stay silent (keep-alives count)


class SipTransport:
    def __init__(
        self, receive: Callable[[bytes, Peer], None], stats: Counter[str], *, tcp: bool
    ) -> None:
        self.receive = receive
        self.stats = stats  # "errors" and "malformed" counted here
        self.tcp = tcp
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp_server: asyncio.Server | None = None
        self._tcp_writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen on UDP and TCP, the same port for both, and return it. With port 0 the
        system picks the UDP port, which TCP may already use elsewhere: then another one is
        picked. Nothing stays bound when listening fails."""
        loop = asyncio.get_running_loop()
        attempts = 20 if port == 0 else 1
        for attempt in range(attempts):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _SipProtocol(self), local_addr=(host, port)
            )
            bound = transport.get_extra_info("sockname")[1]
            if not self.tcp:
                break
            try:
                self.tcp_server = await asyncio.start_server(
                    self._tcp_client, host, bound, limit=MAX_MESSAGE_BYTES + 4
                )
                break
            except OSError:
                transport.close()
                await asyncio.sleep(0)  # the socket closes on the loop's next turn
                if attempt == attempts - 1:
                    raise
        self.udp = transport
        logger.info(
            "SIP gateway listening on %s:%s (UDP%s)", host, bound, " and TCP" if self.tcp else ""
        )
        return bound

    async def close(self) -> None:
        if self.udp is not None:
            self.udp.close()
            self.udp = None
        if self.tcp_server is not None:
            self.tcp_server.close()
            for writer in list(self._tcp_writers):
                writer.close()
            await self.tcp_server.wait_closed()
            self.tcp_server = None

    def send(self, data: bytes, addr: Peer) -> None:
        """Send to `addr` the way it came (nothing once closed)."""
        if self.udp is not None:
            addr.send(data)

    def send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        """Send from the UDP socket (a client request of ours: REGISTER)."""
        self.send(data, Peer(addr, udp=self.udp))

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One TCP connection: messages framed by their Content-Length (required on TCP)."""
        peer = Peer(writer.get_extra_info("peername")[:2], tcp=writer)
        self._tcp_writers.add(writer)
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TCP_IDLE)
                head = head.lstrip(b"\r\n")
                if not head:
                    continue  # CRLF keep-alives between messages
                length = content_length(head)
                if length is None or length > MAX_BODY_BYTES:
                    self._bad_framing(head, peer)
                    break
                body = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE)
                self.receive(head + body, peer)
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ConnectionError,
        ):
            pass
        except Exception:
            self.stats["errors"] += 1
            logger.exception("SIP over TCP from %s", peer)
        finally:
            self._tcp_writers.discard(writer)
            writer.close()

    def _bad_framing(self, head: bytes, peer: Peer) -> None:
        """A TCP message without a usable Content-Length: a 400 if addressable, then close."""
        self.stats["malformed"] += 1
        try:
            request: SipMessage | None = parse_message(head)
        except SipError as error:
            request = error.partial
        if request is not None and request.is_request and request.method != "ACK":
            reason = "Content-Length required on TCP"
            self.send(build_response(request, 400, reason=reason).to_bytes(), peer)
        logger.info("SIP over TCP from %s: bad framing, connection closed", peer)


class _SipProtocol(asyncio.DatagramProtocol):
    def __init__(self, sip: SipTransport) -> None:
        self.sip = sip
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.sip.receive(data, Peer(addr, udp=self.transport))
        except Exception:
            self.sip.stats["errors"] += 1
            logger.exception("SIP datagram from %s", addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("SIP socket error: %s", exc)
