"""A call, as the gateway's handler sees it: its RTP socket, audio and DTMF.

A `Call` owns the media side of one SIP dialog: the RTP socket opened on the gateway's host
and the SDP answer naming it, the packets sent (one RTP header per call over a payload in the
call's codec) and received (decoded audio for `on_audio`, packet and loss counts), and the
digits typed (RFC 4733 events here, SIP INFO ones put by the gateway). Its signalling (moving
its `state` along the dialog, BYE) is the job of the `CallOwner` that answered it: `SipGateway`.

What happens during a call is a `CallHandler`'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Protocol

from . import rtp, sdp
from .sip import Peer, SipMessage, new_tag, uri_of, uri_user

logger = logging.getLogger("antenne.telephony")

AudioSink = Callable[[bytes], None]


class CallHandler(Protocol):
    async def on_call(self, call: Call) -> None:
        """Run the call (answered and confirmed); the call is hung up when this returns."""


class CallOwner(Protocol):
    """The gateway that answered a call, as far as the call needs it."""

    async def hangup(self, call: Call) -> None:
        """Send BYE and end the call."""


class Call:
    def __init__(
        self, gateway: CallOwner, invite: SipMessage, addr: Peer, offer: sdp.AudioOffer
    ) -> None:
        self.gateway = gateway
        self.call_id = invite.call_id
        self.addr = addr
        self.invite = invite
        self.offer = offer
        self.caller = uri_user(invite.get("From") or "")
        self.local_tag = new_tag()
        self.remote_from = invite.get("From") or ""
        self.remote_target = uri_of(invite.get("Contact") or invite.get("From") or "")
        self.state = "early"  # early → confirmed → ended (or cancelled)
        self.digits: asyncio.Queue[str] = asyncio.Queue(maxsize=64)
        self.ended = asyncio.Event()
        self.on_audio: AudioSink | None = None  # decoded 16-bit PCM, 8 kHz, per packet
        self.answer = b""
        self.rtp_port = 0
        self.remote_rtp = (offer.host, offer.port)
        self._rtp_transport: asyncio.DatagramTransport | None = None
        self._dtmf = rtp.DtmfReceiver()
        self._local_cseq = 0
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._ts = secrets.randbits(32)
        self.task: asyncio.Task[None] | None = None
        self.packets_received = 0
        self.packets_lost = 0
        self.packets_sent = 0
        self._last_seq: int | None = None

    async def open_rtp(self, host: str, public_host: str) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _RtpProtocol(self), local_addr=(host, 0)
        )
        self._rtp_transport = transport
        self.rtp_port = transport.get_extra_info("sockname")[1]
        self.answer = sdp.build_answer(self.offer, host=public_host, port=self.rtp_port)

    def _rtp_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            packet = rtp.parse_rtp(data)
        except rtp.RtpError:
            return
        self._count_received(packet.sequence)  # one sequence for audio and DTMF events
        if packet.payload_type == self.offer.dtmf_payload_type:
            digit = self._dtmf.feed(packet)
            if digit is not None:
                self._put_digit(digit)
        elif packet.payload_type == self.offer.payload_type and self.on_audio is not None:
            self.on_audio(rtp.DECODERS[self.offer.codec](packet.payload))

    def _count_received(self, sequence: int) -> None:
        """Received and lost RTP packets (a gap in sequence numbers counts as lost; a late
        or repeated packet is neither)."""
        self.packets_received += 1
        if self._last_seq is not None:
            gap = (sequence - self._last_seq) & 0xFFFF
            if gap == 0 or gap > 0x8000:  # repeated, or late (behind the last one)
                return
            self.packets_lost += gap - 1
        self._last_seq = sequence

    def _put_digit(self, digit: str) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.digits.put_nowait(digit)

    async def read_digits(self, count: int, *, timeout: float, terminator: str = "#") -> str:
        """Up to `count` digits, stopping early at `terminator` or when `timeout` (seconds
        from the first wait) runs out or the call ends. The terminator is not returned."""
        collected = ""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(collected) < count and not self.ended.is_set():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                digit = await asyncio.wait_for(self.digits.get(), remaining)
            except TimeoutError:
                break
            if digit == terminator:
                break
            collected += digit
        return collected

    def send_audio(self, pcm: bytes) -> None:
        """Send one packet of 16-bit PCM (8 kHz; 160 samples = 20 ms) in the call's codec."""
        self.send_encoded(rtp.ENCODERS[self.offer.codec](pcm))

    def send_encoded(self, payload: bytes) -> None:
        """Send one packet already encoded in the call's codec (one encoding of a session's
        audio serves every caller using that codec: only this header is per call)."""
        if self._rtp_transport is None or self.ended.is_set():
            return
        header = rtp.RTP_HEADER.pack(
            0x80, self.offer.payload_type & 0x7F, self._seq, self._ts, self._ssrc
        )
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + len(payload)) & 0xFFFFFFFF
        self.packets_sent += 1
        self._rtp_transport.sendto(header + payload, self.remote_rtp)

    def skip_packets(self, count: int, samples: int = 160) -> None:
        """Packets not sent (the sender fell behind): their sequence numbers and time are
        used up, so the caller's phone sees them as lost rather than as a time warp."""
        self._seq = (self._seq + count) & 0xFFFF
        self._ts = (self._ts + count * samples) & 0xFFFFFFFF

    async def hangup(self) -> None:
        await self.gateway.hangup(self)

    def next_cseq(self) -> int:
        self._local_cseq += 1
        return self._local_cseq

    def close(self) -> None:
        self.ended.set()
        if self._rtp_transport is not None:
            self._rtp_transport.close()
            self._rtp_transport = None


class _RtpProtocol(asyncio.DatagramProtocol):
    def __init__(self, call: Call) -> None:
        self.call = call

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self.call._rtp_received(data, addr)
        except Exception:
            logger.exception("RTP packet on call %s", self.call.call_id)
