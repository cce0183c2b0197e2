"""An asyncio SIP user agent server (UDP and TCP): answers calls, carries RTP, collects DTMF.

One `Call` (`call.py`) per Call-ID, each with its own RTP socket on the gateway's host.
What happens during a call (prompts, PIN, bridging) is a `CallHandler`'s job: `on_call(call)`
runs once the call is confirmed by the caller's ACK, and the call is hung up when it returns.

Transactions (RFC 3261 §17, UDP; `transactions.py`): a retransmitted request is answered
with the response already sent; a 2xx to INVITE is retransmitted (T1 doubling to T2) until
its ACK, and the call dropped after 64·T1 without one; a non-2xx final response to INVITE
likewise until its ACK. Garbage never raises out of `message_received`: it is answered with a
400 when it is a request we can address, else dropped and counted.

Requests from outside `allowed_sources` (the trunk's signalling addresses) get a 403 and
never a call; other messages from there are dropped, except responses to our own client
transactions (REGISTER, see `register.py`), recognised by their Call-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import cast

from . import rtp, sdp
from .call import Call, CallHandler
from .sip import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_BYTES,
    Peer,
    SipError,
    SipMessage,
    build_response,
    content_length,
    new_branch,
    new_tag,
    param,
    parse_bind,
    parse_message,
)
from .transactions import Retransmissions, ServerTransactions, intervals

logger = logging.getLogger("antenne.telephony")

TCP_IDLE = 120.0  # seconds a TCP connection may stay silent (keep-alives count)
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class _SipProtocol(asyncio.DatagramProtocol):
    def __init__(self, gateway: SipGateway) -> None:
        self.gateway = gateway
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.gateway.message_received(data, Peer(addr, udp=self.transport))
        except Exception:
            self.gateway.stats["errors"] += 1
            logger.exception("SIP datagram from %s", addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("SIP socket error: %s", exc)


class SipGateway:
    def __init__(
        self,
        handler: CallHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 5060,
        max_calls: int = 200,
        ring_seconds: float = 0.0,
        tcp: bool = True,
        public_host: str | None = None,
        allowed_sources: Sequence[Network] | None = None,
    ) -> None:
        self.handler = handler
        # Whose requests are served (None: anyone's); the others get 403 Forbidden.
        self.allowed_sources = None if allowed_sources is None else list(allowed_sources)
        # Call-ID → our own client (a `register.Registrar`), which gets its responses.
        self.clients: dict[str, Callable[[SipMessage], None]] = {}
        self.host = host
        # The address written in Contact, Via and SDP: the bound one unless it is a wildcard.
        self.public_host = public_host or host
        self.port = port
        self.max_calls = max_calls
        self.ring_seconds = ring_seconds  # time between 180 Ringing and 200 OK
        self.calls: dict[str, Call] = {}
        self.stats: Counter[str] = Counter()
        self._transport: asyncio.DatagramTransport | None = None
        self._transactions = ServerTransactions()
        self._retransmits = Retransmissions(self._send_raw, self._not_acknowledged)
        self._pending_bye: dict[str, asyncio.Future[int]] = {}
        self.tcp = tcp
        self._tcp_server: asyncio.Server | None = None
        self._tcp_writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen on UDP and TCP, the same port for both. With port 0 the system picks the
        UDP port, which TCP may already use elsewhere: then another one is picked. Nothing
        stays bound when listening fails."""
        loop = asyncio.get_running_loop()
        attempts = 20 if self.port == 0 else 1
        for attempt in range(attempts):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _SipProtocol(self), local_addr=(self.host, self.port)
            )
            port = transport.get_extra_info("sockname")[1]
            if not self.tcp:
                break
            try:
                self._tcp_server = await asyncio.start_server(
                    self._tcp_client, self.host, port, limit=MAX_MESSAGE_BYTES + 4
                )
                break
            except OSError:
                transport.close()
                await asyncio.sleep(0)  # the socket closes on the loop's next turn
                if attempt == attempts - 1:
                    raise
        self._transport = transport
        self.port = port
        logger.info(
            "SIP gateway listening on %s:%s (UDP%s)",
            self.host,
            self.port,
            " and TCP" if self.tcp else "",
        )

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
                self.message_received(head + body, peer)
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

    async def close(self) -> None:
        """Hang up every answered call (BYE, waiting at most 2 s in all), drop the rest."""
        confirmed = [c for c in self.calls.values() if c.state == "confirmed"]
        if confirmed:
            tasks = [asyncio.create_task(self.hangup(call)) for call in confirmed]
            _, pending = await asyncio.wait(tasks, timeout=2)
            for task in pending:
                task.cancel()
        for call in list(self.calls.values()):
            self._end(call)
        self._retransmits.cancel_all()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._tcp_server is not None:
            self._tcp_server.close()
            for writer in list(self._tcp_writers):
                writer.close()
            await self._tcp_server.wait_closed()
            self._tcp_server = None

    def _bad_framing(self, head: bytes, peer: Peer) -> None:
        """A TCP message without a usable Content-Length: a 400 if addressable, then close."""
        self.stats["malformed"] += 1
        try:
            request: SipMessage | None = parse_message(head)
        except SipError as error:
            request = error.partial
        if request is not None and request.is_request and request.method != "ACK":
            reason = "Content-Length required on TCP"
            self._send(build_response(request, 400, reason=reason), peer)
        logger.info("SIP over TCP from %s: bad framing, connection closed", peer)

    # --- receiving --------------------------------------------------------------------

    def message_received(self, data: bytes, addr: Peer) -> None:
        if not data.strip():
            return  # CRLF keep-alive (RFC 5626)
        if not self._allowed(addr):
            self._forbidden(data, addr)
            return
        try:
            message = parse_message(data)
        except SipError as error:
            self.stats["malformed"] += 1
            if error.partial is not None:
                logger.info("malformed SIP from %s (%s): answered %s", addr, error, error.status)
                self._send(
                    build_response(error.partial, error.status, reason=error.reason[:80]), addr
                )
            else:
                logger.debug("malformed SIP from %s dropped: %s", addr, error)
            return
        if not message.is_request:
            self._response_received(message)
            return
        if self._transactions.retransmitted(message):
            self.stats["retransmissions"] += 1
            last = self._transactions.last_response(message)
            if last is not None:
                self._send_raw(last, addr)
            return
        handler = {
            "INVITE": self._invite,
            "ACK": self._ack,
            "BYE": self._bye,
            "CANCEL": self._cancel,
            "OPTIONS": self._options,
            "INFO": self._info,
        }.get(message.method or "")
        if handler is None:
            self._reply(message, 501, addr, headers=[("Allow", ALLOW)])
        else:
            handler(message, addr)

    def _allowed(self, addr: Peer) -> bool:
        if self.allowed_sources is None:
            return True
        try:
            ip = ipaddress.ip_address(addr.addr[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
        return any(ip in network for network in self.allowed_sources)

    def _forbidden(self, data: bytes, addr: Peer) -> None:
        """A message from outside the allowed sources: a request gets 403 (statelessly, no
        call), a response to one of our clients is delivered, anything else is dropped."""
        try:
            message = parse_message(data)
        except SipError:
            message = None
        if message is not None and not message.is_request and message.call_id in self.clients:
            self._response_received(message)
            return
        self.stats["forbidden"] += 1
        if message is not None and message.is_request and message.method != "ACK":
            log = logger.info if message.method == "INVITE" else logger.debug
            log("SIP %s from %s refused: not an allowed source", message.method, addr)
            self._send(build_response(message, 403, reason="Forbidden", to_tag=new_tag()), addr)

    def _invite(self, request: SipMessage, addr: Peer) -> None:
        call = self.calls.get(request.call_id)
        if call is not None:  # re-INVITE: same answer (the new address is honoured)
            if call.state != "confirmed" or param(request.get("To") or "", "tag") is None:
                self._reply(request, 491 if call.state == "early" else 481, addr)
                return
            with contextlib.suppress(sdp.SdpError):
                offer = sdp.parse_offer(request.body)
                call.remote_rtp = (offer.host, offer.port)
            self._answer(call, request, addr)
            return
        if param(request.get("To") or "", "tag") is not None:
            self._reply(request, 481, addr)
            return
        if len(self.calls) >= self.max_calls:
            self.stats["busy"] += 1
            self._reply(request, 503, addr, headers=[("Retry-After", "5")])
            return
        try:
            offer = sdp.parse_offer(request.body)
        except sdp.SdpError as error:
            logger.info("call %s refused: %s", request.call_id, error)
            self._reply(request, 488, addr)
            return
        self._reply(request, 100, addr)
        call = Call(self, request, addr, offer)
        self.calls[call.call_id] = call
        self.stats["calls"] += 1
        call.task = asyncio.create_task(self._setup(call, request, addr))

    async def _setup(self, call: Call, request: SipMessage, addr: Peer) -> None:
        try:
            await call.open_rtp(self.host, self.public_host)
            if self.ring_seconds:
                self._reply(request, 180, addr, to_tag=call.local_tag)
                await asyncio.sleep(self.ring_seconds)
            if call.state == "early":
                self._answer(call, request, addr)
        except Exception:
            logger.exception("call %s could not be answered", call.call_id)
            self._reply(request, 500, addr, to_tag=call.local_tag)
            self._end(call)

    def _answer(self, call: Call, request: SipMessage, addr: Peer) -> None:
        response = self._reply(
            request,
            200,
            addr,
            to_tag=call.local_tag,
            body=call.answer,
            headers=[*self._contact(), ("Content-Type", "application/sdp"), ("Allow", ALLOW)],
        )
        self._retransmits.start((call.call_id, request.cseq[0]), response, addr)

    def _ack(self, request: SipMessage, addr: Peer) -> None:
        self._retransmits.stop((request.call_id, request.cseq[0]))
        # ACK of a non-2xx final response (same branch as the INVITE)
        self._retransmits.stop((request.branch, -1))
        call = self.calls.get(request.call_id)
        if call is not None and call.state == "early" and call.answer:
            call.state = "confirmed"
            call.task = asyncio.create_task(self._run(call))

    async def _run(self, call: Call) -> None:
        try:
            await self.handler.on_call(call)
        except asyncio.CancelledError:
            return
        except Exception:
            logger.exception("call handler failed on %s", call.call_id)
        if call.state == "confirmed":
            await self.hangup(call)

    def _bye(self, request: SipMessage, addr: Peer) -> None:
        call = self.calls.get(request.call_id)
        if call is None:
            self._reply(request, 481, addr)
            return
        self._reply(request, 200, addr)
        self._end(call)

    def _cancel(self, request: SipMessage, addr: Peer) -> None:
        call = self.calls.get(request.call_id)
        if call is None or call.invite.branch != request.branch:
            self._reply(request, 481, addr)
            return
        self._reply(request, 200, addr)
        if call.state == "early":
            call.state = "cancelled"
            self.stats["cancelled"] += 1
            response = self._reply(call.invite, 487, addr, to_tag=call.local_tag)
            self._retransmits.start((call.invite.branch, -1), response, addr)
            self._end(call)

    def _options(self, request: SipMessage, addr: Peer) -> None:
        self._reply(request, 200, addr, headers=[("Allow", ALLOW), ("Accept", "application/sdp")])

    def _info(self, request: SipMessage, addr: Peer) -> None:
        """SIP INFO DTMF (application/dtmf-relay), which some trunks send instead of RTP."""
        call = self.calls.get(request.call_id)
        if call is None:
            self._reply(request, 481, addr)
            return
        for line in request.body.decode("utf-8", "replace").splitlines():
            name, _, value = line.partition("=")
            value = value.strip()
            if name.strip().lower() == "signal" and len(value) == 1 and value in rtp.DTMF_EVENTS:
                call._put_digit(value)
        self._reply(request, 200, addr)

    def _response_received(self, response: SipMessage) -> None:
        client = self.clients.get(response.call_id)
        if client is not None:
            client(response)
            return
        future = self._pending_bye.get(response.branch)
        if future is not None and not future.done() and (response.status or 0) >= 200:
            future.set_result(response.status or 0)

    # --- sending ----------------------------------------------------------------------

    def _contact(self) -> list[tuple[str, str]]:
        return [("Contact", f"<sip:antenne@{self.public_host}:{self.port}>")]

    def _reply(
        self,
        request: SipMessage,
        status: int,
        addr: Peer,
        *,
        to_tag: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> bytes:
        to_tag = to_tag or (new_tag() if status > 100 else None)
        data = build_response(request, status, to_tag=to_tag, headers=headers, body=body).to_bytes()
        self._transactions.responded(request, data)
        self._send_raw(data, addr)
        return data

    def _send(self, message: SipMessage, addr: Peer) -> None:
        self._send_raw(message.to_bytes(), addr)

    def _send_raw(self, data: bytes, addr: Peer) -> None:
        if self._transport is not None:
            addr.send(data)

    def send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        """Send from the gateway's UDP socket (a client request of ours: REGISTER)."""
        self._send_raw(data, Peer(addr, udp=self._transport))

    def _not_acknowledged(self, key: tuple[str, int]) -> None:
        """A final response to INVITE retransmitted for 64·T1 without an ACK."""
        call = self.calls.get(key[0])
        if call is not None and call.state == "early":
            logger.info("call %s: no ACK for our 200 OK, dropped", call.call_id)
            self._end(call)

    async def hangup(self, call: Call) -> None:
        """Send BYE (retransmitted until a final response or 32 s) and end the call."""
        if call.state != "confirmed":
            self._end(call)
            return
        call.state = "ended"
        branch, sent_by = new_branch(), f"{self.public_host}:{self.port}"
        to_value = call.remote_from
        from_value = f"{call.invite.get('To')};tag={call.local_tag}"
        if param(call.invite.get("To") or "", "tag"):
            from_value = call.invite.get("To") or ""
        bye = SipMessage(
            method="BYE",
            uri=call.remote_target,
            headers=[
                ("Via", f"SIP/2.0/{call.addr.transport} {sent_by};branch={branch};rport"),
                ("Max-Forwards", "70"),
                ("From", from_value),
                ("To", to_value),
                ("Call-ID", call.call_id),
                ("CSeq", f"{call.next_cseq()} BYE"),
                ("User-Agent", "Antenne"),
            ],
        )
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending_bye[branch] = future
        data = bye.to_bytes()
        try:
            for interval in intervals():
                if future.done():
                    break
                self._send_raw(data, call.addr)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(future), interval)
        finally:
            self._pending_bye.pop(branch, None)
            self._end(call)

    def _end(self, call: Call) -> None:
        if call.state not in ("cancelled",):
            call.state = "ended"
        call.close()
        self.calls.pop(call.call_id, None)
        current = asyncio.current_task()
        if call.task is not None and call.task is not current and not call.task.done():
            call.task.cancel()


async def serve(
    handler: CallHandler, *, bind: str, public_host: str | None = None, max_calls: int = 200
) -> None:
    """Run a gateway on `bind` until cancelled (what `antenne sip` and `antenne run` call)."""
    host, port = parse_bind(bind)
    gateway = SipGateway(
        handler, host=host, port=port, max_calls=max_calls, public_host=public_host
    )
    await gateway.start()
    try:
        await asyncio.Event().wait()
    finally:
        await gateway.close()
