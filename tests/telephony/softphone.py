"""A small SIP softphone over UDP for tests and benchmarks: calls, answers the gateway's
BYE, types DTMF (RFC 4733), speaks (G.711) and records what it hears, counting RTP packets
and the ones lost."""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from array import array

from antenne.telephony import rtp, sdp
from antenne.telephony.sip import SipMessage, new_branch, parse_message


class _Sip(asyncio.DatagramProtocol):
    def __init__(self, phone: Phone) -> None:
        self.phone = phone

    def datagram_received(self, data: bytes, addr) -> None:
        with contextlib.suppress(Exception):
            self.phone._sip_received(parse_message(data))


class _Rtp(asyncio.DatagramProtocol):
    def __init__(self, phone: Phone) -> None:
        self.phone = phone

    def datagram_received(self, data: bytes, addr) -> None:
        self.phone._rtp_received(data)


class Phone:
    def __init__(
        self,
        gateway: tuple[str, int],
        *,
        number: str = "+33612345678",
        host: str = "127.0.0.1",
        codec: str = "PCMU",
        record: bool = True,
        asserted: str = "",
    ) -> None:
        self.gateway = gateway
        self.number = number
        self.asserted = asserted  # the trunk's P-Asserted-Identity (RFC 3325), if any
        self.host = host
        self.codec = codec
        self.record = record
        self.call_id = f"{secrets.token_hex(8)}@softphone"
        self.tag = secrets.token_hex(4)
        self.to_tag = ""
        self.cseq = 1
        self.responses: asyncio.Queue[SipMessage] = asyncio.Queue()
        self.bye = asyncio.Event()
        self.heard: bytearray = bytearray()  # decoded 16-bit PCM, 8 kHz
        self.received = 0
        self.lost = 0
        self.first_packet_at: float | None = None
        self.last_packet_at: float | None = None
        self._last_seq: int | None = None
        self.remote: tuple[str, int] | None = None
        self._sip: asyncio.DatagramTransport | None = None
        self._rtp: asyncio.DatagramTransport | None = None
        self.sip_port = 0
        self.rtp_port = 0
        self._seq = secrets.randbits(16)
        self._ts = secrets.randbits(32)
        self._ssrc = secrets.randbits(32)
        self.final_status = 0

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._sip, _ = await loop.create_datagram_endpoint(
            lambda: _Sip(self), local_addr=(self.host, 0)
        )
        self._rtp, _ = await loop.create_datagram_endpoint(
            lambda: _Rtp(self), local_addr=(self.host, 0)
        )
        self.sip_port = self._sip.get_extra_info("sockname")[1]
        self.rtp_port = self._rtp.get_extra_info("sockname")[1]

    def close(self) -> None:
        for transport in (self._sip, self._rtp):
            if transport is not None:
                transport.close()

    # -- SIP ---------------------------------------------------------------------------------

    def _headers(self, method: str, cseq: int, branch: str) -> list[tuple[str, str]]:
        return [
            ("Via", f"SIP/2.0/UDP {self.host}:{self.sip_port};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{self.number}@{self.host}:{self.sip_port}>;tag={self.tag}"),
            (
                "To",
                f"<sip:antenne@{self.gateway[0]}>" + (f";tag={self.to_tag}" if self.to_tag else ""),
            ),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<sip:{self.number}@{self.host}:{self.sip_port}>"),
        ]

    def _send(self, message: SipMessage) -> None:
        assert self._sip is not None
        self._sip.sendto(message.to_bytes(), self.gateway)

    def _sip_received(self, message: SipMessage) -> None:
        if message.method == "BYE":
            reply = SipMessage(
                status=200,
                reason="OK",
                headers=[
                    (h, message.get(h) or "") for h in ("Via", "From", "To", "Call-ID", "CSeq")
                ],
            )
            self._send(reply)
            self.bye.set()
        elif message.method is None:
            self.responses.put_nowait(message)

    def _offer(self) -> bytes:
        payload = {"PCMU": 0, "PCMA": 8}[self.codec]
        return (
            f"v=0\r\no=- 1 1 IN IP4 {self.host}\r\ns=-\r\nc=IN IP4 {self.host}\r\nt=0 0\r\n"
            f"m=audio {self.rtp_port} RTP/AVP {payload} 101\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
        ).encode()

    async def call(self, timeout: float = 10.0) -> int:
        """INVITE, then ACK the final response; returns its status."""
        branch = new_branch()
        invite = SipMessage(
            method="INVITE",
            uri=f"sip:antenne@{self.gateway[0]}:{self.gateway[1]}",
            headers=[
                *self._headers("INVITE", 1, branch),
                *([("P-Asserted-Identity", f"<tel:{self.asserted}>")] if self.asserted else []),
                ("Content-Type", "application/sdp"),
            ],
            body=self._offer(),
        )
        self._send(invite)
        deadline = time.monotonic() + timeout
        retransmit_at = time.monotonic() + 0.5
        while True:
            wait = min(deadline, retransmit_at) - time.monotonic()
            try:
                response = await asyncio.wait_for(self.responses.get(), max(wait, 0.01))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise
                if self.final_status == 0:
                    self._send(invite)
                    retransmit_at = time.monotonic() + 1.0
                continue
            if response.status and response.status >= 100 and response.status < 200:
                retransmit_at = deadline  # provisional: stop retransmitting
                continue
            if response.status and response.status >= 200:
                break
        self.final_status = response.status or 0
        self.to_tag = ""
        to_value = response.get("To") or ""
        if ";tag=" in to_value:
            self.to_tag = to_value.split(";tag=")[1].split(";")[0]
        ack_branch = branch if self.final_status >= 300 else new_branch()
        self._send(
            SipMessage(
                method="ACK",
                uri=f"sip:antenne@{self.gateway[0]}:{self.gateway[1]}",
                headers=self._headers("ACK", 1, ack_branch),
            )
        )
        if self.final_status == 200:
            answer = sdp.parse_offer(response.body)
            self.remote = (answer.host, answer.port)
        return self.final_status

    async def hangup(self, timeout: float = 5.0) -> None:
        if self.bye.is_set() or self.final_status != 200:
            return
        self.cseq += 1
        self._send(
            SipMessage(
                method="BYE",
                uri=f"sip:antenne@{self.gateway[0]}:{self.gateway[1]}",
                headers=self._headers("BYE", self.cseq, new_branch()),
            )
        )
        with contextlib.suppress(TimeoutError):
            while True:
                response = await asyncio.wait_for(self.responses.get(), timeout)
                if response.status and response.status >= 200:
                    break

    # -- RTP ---------------------------------------------------------------------------------

    def _rtp_received(self, data: bytes) -> None:
        try:
            packet = rtp.parse_rtp(data)
        except rtp.RtpError:
            return
        now = time.monotonic()
        if self.first_packet_at is None:
            self.first_packet_at = now
        self.last_packet_at = now
        self.received += 1
        if self._last_seq is not None:
            gap = (packet.sequence - self._last_seq) & 0xFFFF
            if 0 < gap < 0x8000:
                self.lost += gap - 1
                self._last_seq = packet.sequence
        else:
            self._last_seq = packet.sequence
        if self.record:
            self.heard += rtp.DECODERS[self.codec](packet.payload)

    def _send_rtp(self, payload_type: int, payload: bytes, *, timestamp: int, marker=False) -> None:
        assert self._rtp is not None
        assert self.remote is not None
        packet = rtp.RtpPacket(payload_type, self._seq, timestamp, self._ssrc, payload, marker)
        self._seq = (self._seq + 1) & 0xFFFF
        self._rtp.sendto(packet.to_bytes(), self.remote)

    async def dial(self, keys: str, *, gap: float = 0.12) -> None:
        """Type `keys` as RFC 4733 events (each key 60 ms, end packet sent three times)."""
        for key in keys:
            self._ts = (self._ts + 1600) & 0xFFFFFFFF
            for n in (1, 2, 3):
                self._send_rtp(
                    101,
                    rtp.build_dtmf(key, end=False, duration=160 * n),
                    timestamp=self._ts,
                    marker=n == 1,
                )
                await asyncio.sleep(0.02)
            for _ in range(3):
                self._send_rtp(101, rtp.build_dtmf(key, end=True, duration=480), timestamp=self._ts)
            await asyncio.sleep(gap)

    async def speak_tone(self, frequency: float, seconds: float, amplitude: int = 8000) -> None:
        """Send a sine tone as G.711, paced at 20 ms."""
        encode = rtp.ENCODERS[self.codec]
        payload_type = {"PCMU": 0, "PCMA": 8}[self.codec]
        loop = asyncio.get_running_loop()
        due = loop.time()
        for frame in range(int(seconds * 50)):
            samples = array(
                "h",
                (
                    int(amplitude * math.sin(2 * math.pi * frequency * (frame * 160 + i) / 8000))
                    for i in range(160)
                ),
            )
            self._ts = (self._ts + 160) & 0xFFFFFFFF
            self._send_rtp(payload_type, encode(samples.tobytes()), timestamp=self._ts)
            due += 0.02
            await asyncio.sleep(max(0.0, due - loop.time()))


def dominant_frequency(pcm: bytes, rate: int = 8000) -> tuple[float, float]:
    """The strongest frequency of `pcm` (16-bit) by FFT (Hann window), and the share of the
    spectrum's energy within ±20 Hz of it."""
    import numpy as np

    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    if samples.size < 64:
        return 0.0, 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    spectrum[: int(80 * samples.size / rate)] = 0  # below 80 Hz: hum and offset
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    peak = int(np.argmax(spectrum))
    near = np.abs(freqs - freqs[peak]) <= 20
    total = float(spectrum.sum()) or 1.0
    return float(freqs[peak]), float(spectrum[near].sum()) / total
