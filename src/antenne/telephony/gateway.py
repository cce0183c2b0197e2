"""An asyncio SIP user agent server (UDP and TCP): answers calls, carries RTP, collects DTMF.

`SipGateway` runs the calls' signalling: it listens through a `SipTransport`
(`transport.py`), keeps one `Call` (`call.py`: the RTP socket, audio and DTMF) per Call-ID,
and takes each through its dialog: INVITE, 100 Trying, 180 Ringing when asked to ring, 200 OK
with the SDP answer, ACK, then BYE either way (or CANCEL before the answer). What happens
during a call (prompts, PIN, bridging) is a `CallHandler`'s job: `on_call(call)` runs once
the call is confirmed by the caller's ACK, and the call is hung up when it returns.

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

from . import rtp, sdp
from .call import Call, CallHandler
from .sip import (
    Peer,
    SipError,
    SipMessage,
    build_response,
    new_branch,
    new_tag,
    param,
    parse_bind,
    parse_message,
)
from .transactions import Retransmissions, ServerTransactions, intervals
from .transport import SipTransport

logger = logging.getLogger("antenne.telephony")

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
        self.transport = SipTransport(self.message_received, self.stats, tcp=tcp)
        self._transactions = ServerTransactions()
        self._retransmits = Retransmissions(self._send_raw, self._not_acknowledged)
        self._pending_bye: dict[str, asyncio.Future[int]] = {}

    async def start(self) -> None:
        """Listen on UDP and TCP (see `SipTransport.start`); with port 0, `port` is then the
        one picked."""
        self.port = await self.transport.start(self.host, self.port)

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
        await self.transport.close()

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
        self.transport.send(data, addr)

    def send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        """Send from the gateway's UDP socket (a client request of ours: REGISTER)."""
        self.transport.send_udp(data, addr)

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
