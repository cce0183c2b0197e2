"""RTP packets (RFC 3550), G.711 µ-law and A-law in pure Python, RFC 4733 DTMF events."""

from __future__ import annotations

import struct
from array import array
from collections import deque
from dataclasses import dataclass

RTP_HEADER = struct.Struct("!BBHII")
DTMF_EVENTS = "0123456789*#ABCD"


class RtpError(Exception):
    pass


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        header = RTP_HEADER.pack(
            0x80,
            (0x80 if self.marker else 0) | (self.payload_type & 0x7F),
            self.sequence & 0xFFFF,
            self.timestamp & 0xFFFFFFFF,
            self.ssrc & 0xFFFFFFFF,
        )
        return header + self.payload


def parse_rtp(data: bytes) -> RtpPacket:
    """One RTP packet; CSRCs, header extension and padding are skipped. Raises RtpError."""
    if len(data) < RTP_HEADER.size:
        raise RtpError("too short")
    first, second, sequence, timestamp, ssrc = RTP_HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise RtpError("not RTP version 2")
    offset = RTP_HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension
        if len(data) < offset + 4:
            raise RtpError("truncated extension")
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data)
    if first & 0x20:  # padding
        end -= data[-1] if data else 0
    if offset > end:
        raise RtpError("truncated")
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
    )


# --- G.711 (the classic Sun reference algorithm, as audioop implements it) --------------

_SEG_U_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_SEG_A_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for index, end in enumerate(ends):
        if value <= end:
            return index
    return len(ends)


def _linear_to_ulaw(sample: int) -> int:
    sample >>= 2
    if sample < 0:
        sample, mask = -sample, 0x7F
    else:
        mask = 0xFF
    sample = min(sample, 8159) + 0x21
    seg = _segment(sample, _SEG_U_END)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((sample >> (seg + 1)) & 0x0F)) ^ mask


def _ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    value = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - value if code & 0x80 else value - 0x84


def _linear_to_alaw(sample: int) -> int:
    sample >>= 3
    if sample >= 0:
        mask = 0xD5
    else:
        mask, sample = 0x55, -sample - 1
    seg = _segment(sample, _SEG_A_END)
    if seg >= 8:
        return 0x7F ^ mask
    code = seg << 4
    code |= (sample >> 1 if seg < 2 else sample >> seg) & 0x0F
    return code ^ mask


def _alaw_to_linear(code: int) -> int:
    code ^= 0x55
    value = (code & 0x0F) << 4
    seg = (code & 0x70) >> 4
    if seg == 0:
        value += 8
    elif seg == 1:
        value += 0x108
    else:
        value = (value + 0x108) << (seg - 1)
    return value if code & 0x80 else -value


# Encoding tables are indexed by the 16-bit sample as unsigned (sample & 0xFFFF).
_ULAW_ENCODE = bytes(_linear_to_ulaw(s - 65536 if s > 32767 else s) for s in range(65536))
_ALAW_ENCODE = bytes(_linear_to_alaw(s - 65536 if s > 32767 else s) for s in range(65536))
_ULAW_DECODE = array("h", [_ulaw_to_linear(code) for code in range(256)])
_ALAW_DECODE = array("h", [_alaw_to_linear(code) for code in range(256)])


def _encode(pcm: bytes, table: bytes) -> bytes:
    samples = array("H")
    samples.frombytes(pcm[: len(pcm) & ~1])
    if samples.itemsize != 2:  # pragma: no cover - every supported platform has 2-byte H
        raise RuntimeError("unsigned short is not 16 bits")
    return bytes(table[s] for s in samples)


def _decode(data: bytes, table: array) -> bytes:
    return array("h", [table[code] for code in data]).tobytes()


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit signed native-endian linear PCM → µ-law (PCMU), one byte a sample."""
    return _encode(pcm, _ULAW_ENCODE)


def ulaw_decode(data: bytes) -> bytes:
    return _decode(data, _ULAW_DECODE)


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit signed native-endian linear PCM → A-law (PCMA), one byte a sample."""
    return _encode(pcm, _ALAW_ENCODE)


def alaw_decode(data: bytes) -> bytes:
    return _decode(data, _ALAW_DECODE)


ENCODERS = {"PCMU": ulaw_encode, "PCMA": alaw_encode}
DECODERS = {"PCMU": ulaw_decode, "PCMA": alaw_decode}
SILENCE = {"PCMU": 0xFF, "PCMA": 0xD5}


# --- RFC 4733 telephone-events ----------------------------------------------------------


@dataclass(frozen=True)
class DtmfEvent:
    event: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        return DTMF_EVENTS[self.event] if self.event < len(DTMF_EVENTS) else None


def parse_dtmf(payload: bytes) -> DtmfEvent:
    if len(payload) < 4:
        raise RtpError("telephone-event payload too short")
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return DtmfEvent(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)


def build_dtmf(digit: str, *, end: bool, duration: int, volume: int = 10) -> bytes:
    return struct.pack(
        "!BBH", DTMF_EVENTS.index(digit), (0x80 if end else 0) | (volume & 0x3F), duration
    )


class DtmfReceiver:
    """Turns telephone-event packets into digits, each key press once.

    One key press is one RTP timestamp (RFC 4733 §2.5.1.2), sent as several update packets
    and three end packets: the digit is reported on the first packet seen of that event
    (so a lost start still yields it from its end packets), and every later packet with the
    same SSRC and timestamp is a duplicate. A new event on the same timestamp after an end
    (a sender reusing timestamps) counts as a new press.
    """

    def __init__(self, memory: int = 32) -> None:
        self._seen: deque[tuple[int, int]] = deque(maxlen=memory)
        self._ended: dict[tuple[int, int], int] = {}

    def feed(self, packet: RtpPacket) -> str | None:
        try:
            event = parse_dtmf(packet.payload)
        except RtpError:
            return None
        key = (packet.ssrc, packet.timestamp)
        if key in self._seen:
            ended = self._ended.get(key)
            if ended is None or ended == event.event:
                if event.end:
                    self._ended[key] = event.event
                return None
        self._seen.append(key)
        self._ended = {k: v for k, v in self._ended.items() if k in self._seen}
        self._ended.pop(key, None)
        if event.end:
            self._ended[key] = event.event
        return event.digit
