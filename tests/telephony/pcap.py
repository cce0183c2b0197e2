"""Key presses as a pcap file for sipp's `<exec play_pcap_audio="…"/>`: RFC 4733
telephone-events (payload type 101) in RTP over UDP over IPv4 over Ethernet.

sipp keeps only the UDP payloads and the capture times: it sends each payload from its
media port to the address and port of the gateway's SDP answer, at the pace of the
timestamps, so the addresses and ports written here are placeholders."""

from __future__ import annotations

import struct
from pathlib import Path

from antenne.telephony import rtp

PCAP_HEADER = struct.Struct("<IHHiIII")  # magic, version, zone, sigfigs, snaplen, link type
RECORD_HEADER = struct.Struct("<IIII")  # seconds, microseconds, captured, original length
LINKTYPE_ETHERNET = 1
DTMF_PAYLOAD_TYPE = 101
PACKET_GAP = 0.02  # between the packets of one key press
KEY_GAP = 0.15  # from one key press to the next


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(payload: bytes, *, src_port: int = 6000, dst_port: int = 7000) -> bytes:
    src, dst = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ethernet = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return ethernet + ip + udp


def key_presses(keys: str, *, start: float = 0.0, ssrc: int = 0x5151) -> list[tuple[float, bytes]]:
    """(time, RTP packet) for typing `keys`; a space is a pause of one second (room for the
    voice menu to answer between two PINs). Each key: three updates 20 ms apart, then
    three end packets, on one RTP timestamp (RFC 4733 §2.5.1)."""
    packets: list[tuple[float, bytes]] = []
    at, sequence, timestamp = start, 0, 8000
    for key in keys:
        if key == " ":
            at += 1.0
            continue
        timestamp += 1600
        updates = [rtp.build_dtmf(key, end=False, duration=160 * n) for n in (1, 2, 3)]
        ends = [rtp.build_dtmf(key, end=True, duration=640)] * 3
        for index, payload in enumerate(updates + ends):
            packet = rtp.RtpPacket(
                DTMF_PAYLOAD_TYPE, sequence, timestamp, ssrc, payload, marker=index == 0
            )
            packets.append((at + PACKET_GAP * min(index, 3), packet.to_bytes()))
            sequence += 1
        at += KEY_GAP
    return packets


def write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> Path:
    """A classic (microsecond) pcap file of these UDP payloads."""
    out = [PCAP_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET)]
    base = 1_700_000_000
    for at, payload in packets:
        frame = _frame(payload)
        micros = round(at * 1_000_000)
        out.append(
            RECORD_HEADER.pack(
                base + micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)
            )
        )
        out.append(frame)
    path.write_bytes(b"".join(out))
    return path


def dtmf_pcap(path: Path, keys: str) -> Path:
    return write_pcap(path, key_presses(keys))
