"""G.711 codecs (checked against the reference implementation), RTP and RFC 4733 DTMF."""

from __future__ import annotations

import math
import struct
import warnings
from array import array

import pytest

from antenne.telephony import rtp


def test_known_code_points():
    assert rtp.ulaw_encode(struct.pack("=h", 0)) == b"\xff"
    assert rtp.alaw_encode(struct.pack("=h", 0)) == b"\xd5"
    assert rtp.ulaw_decode(b"\x00") == struct.pack("=h", -32124)
    assert rtp.ulaw_decode(b"\x80") == struct.pack("=h", 32124)
    assert rtp.alaw_decode(b"\x55") == struct.pack("=h", -8)
    assert rtp.alaw_decode(b"\xaa") == struct.pack("=h", 32256)


def _with_audioop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop  # deprecated: imported only as the reference
        except ImportError:
            pytest.skip("audioop (the stdlib reference implementation) is gone")
    return audioop


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_every_sample_matches_the_stdlib_reference(law):
    audioop = _with_audioop()
    every_sample = array("h", range(-32768, 32768)).tobytes()
    every_code = bytes(range(256))
    encode = getattr(rtp, f"{law}_encode")
    decode = getattr(rtp, f"{law}_decode")
    assert encode(every_sample) == getattr(audioop, f"lin2{law}")(every_sample, 2)
    assert decode(every_code) == getattr(audioop, f"{law}2lin")(every_code, 2)


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_a_tone_survives_the_round_trip_within_g711_error(law):
    tone = array("h", [int(12000 * math.sin(2 * math.pi * 440 * n / 8000)) for n in range(160)])
    encode, decode = getattr(rtp, f"{law}_encode"), getattr(rtp, f"{law}_decode")
    payload = encode(tone.tobytes())
    assert len(payload) == 160
    back = array("h")
    back.frombytes(decode(payload))
    assert max(abs(a - b) for a, b in zip(tone, back, strict=True)) <= 512  # top segment step
    assert decode(encode(decode(bytes(range(256))))) == decode(bytes(range(256)))


def test_rtp_round_trip_and_header_extensions():
    packet = rtp.RtpPacket(0, 65535, 2**32 - 1, 1234, b"\xff" * 160, marker=True)
    assert rtp.parse_rtp(packet.to_bytes()) == packet
    raw = bytearray(packet.to_bytes())
    raw[0] |= 0x10 | 0x01  # one CSRC and an extension of one word
    raw[12:12] = b"CSRC" + b"\xbe\xde\x00\x01" + b"EXT!"
    assert rtp.parse_rtp(bytes(raw)).payload == b"\xff" * 160
    for bad in (b"", b"\x80" * 5, b"\x40" + b"\x00" * 20, b"\x8f" + b"\x00" * 15):
        with pytest.raises(rtp.RtpError):
            rtp.parse_rtp(bad)


def _press(digit, timestamp, *, updates=3, ends=3, ssrc=7):
    packets = [
        rtp.RtpPacket(101, 0, timestamp, ssrc, rtp.build_dtmf(digit, end=False, duration=160 * i))
        for i in range(1, updates + 1)
    ]
    packets += [
        rtp.RtpPacket(101, 0, timestamp, ssrc, rtp.build_dtmf(digit, end=True, duration=800))
    ] * ends
    return packets


def test_dtmf_each_press_is_one_digit_despite_updates_and_repeated_ends():
    receiver = rtp.DtmfReceiver()
    packets = [*_press("1", 1000), *_press("1", 2000), *_press("#", 3000, updates=0)]
    digits = [d for d in map(receiver.feed, packets) if d is not None]
    assert digits == ["1", "1", "#"]
    assert receiver.feed(packets[0]) is None  # a late duplicate of the first press
    assert receiver.feed(rtp.RtpPacket(101, 0, 9, 7, b"\x01")) is None  # truncated payload
    event = rtp.parse_dtmf(rtp.build_dtmf("*", end=True, duration=400, volume=12))
    assert (event.digit, event.end, event.duration, event.volume) == ("*", True, 400, 12)
