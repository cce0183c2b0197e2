"""SDP offer/answer (RFC 3264) for one audio stream: G.711 (PCMU/PCMA) and RFC 4733 events."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

STATIC_CODECS = {0: "PCMU", 8: "PCMA"}
SUPPORTED_CODECS = ("PCMU", "PCMA")
MAX_SDP_LINES = 200


class SdpError(Exception):
    """An offer we cannot accept (unparseable, or no G.711 audio): answered with 488."""


@dataclass(frozen=True)
class AudioOffer:
    host: str  # where the caller wants our RTP
    port: int
    payload_type: int  # the chosen G.711 payload type
    codec: str  # "PCMU" or "PCMA"
    dtmf_payload_type: int | None  # telephone-event/8000, if offered


def parse_offer(body: bytes) -> AudioOffer:
    """The first usable audio stream of an SDP offer, with the caller's preferred G.711."""
    try:
        lines = body.decode("utf-8").replace("\r\n", "\n").strip().split("\n")
    except UnicodeDecodeError as error:
        raise SdpError("SDP is not UTF-8") from error
    if len(lines) > MAX_SDP_LINES or not lines or lines[0].strip() != "v=0":
        raise SdpError("not an SDP session description")
    session_host: str | None = None
    media: list[dict] = []
    for raw in lines:
        line = raw.strip()
        kind, eq, value = line.partition("=")
        if not eq or len(kind) != 1:
            raise SdpError(f"bad SDP line {line[:40]!r}")
        if kind == "c":
            host = _connection(value)
            if media:
                media[-1]["host"] = host
            else:
                session_host = host
        elif kind == "m":
            fields = value.split()
            if len(fields) < 4 or not fields[1].isdigit():
                raise SdpError("bad m= line")
            media.append(
                {
                    "kind": fields[0],
                    "port": int(fields[1]),
                    "proto": fields[2],
                    "formats": fields[3:],
                    "rtpmap": {},
                    "host": None,
                }
            )
        elif kind == "a" and media and value.startswith("rtpmap:"):
            number, _, encoding = value[len("rtpmap:") :].partition(" ")
            if number.isdigit():
                media[-1]["rtpmap"][int(number)] = encoding.strip()
    for stream in media:
        if stream["kind"] != "audio" or stream["port"] == 0 or not 0 < stream["port"] < 65536:
            continue
        if stream["proto"] not in ("RTP/AVP", "RTP/AVPF"):
            continue
        address: str | None = stream["host"] or session_host
        if address is None:
            raise SdpError("no connection address")
        codec: tuple[int, str] | None = None
        dtmf: int | None = None
        for fmt in stream["formats"]:
            if not fmt.isdigit() or int(fmt) > 127:
                continue
            pt = int(fmt)
            name, _, rate = (
                stream["rtpmap"].get(pt, STATIC_CODECS.get(pt, "") + "/8000").partition("/")
            )
            rate = rate.split("/")[0]
            if codec is None and name.upper() in SUPPORTED_CODECS and rate == "8000":
                codec = (pt, name.upper())
            elif dtmf is None and name.lower() == "telephone-event" and rate == "8000":
                dtmf = pt
        if codec is None:
            continue
        return AudioOffer(
            host=address,
            port=stream["port"],
            payload_type=codec[0],
            codec=codec[1],
            dtmf_payload_type=dtmf,
        )
    raise SdpError("no G.711 audio stream offered")


def _connection(value: str) -> str:
    fields = value.split()
    if len(fields) != 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
        raise SdpError("bad c= line")
    address = fields[2].split("/")[0]
    try:
        ipaddress.ip_address(address)
    except ValueError as error:
        raise SdpError("c= address is not an IP address") from error
    return address


def build_answer(
    offer: AudioOffer, *, host: str, port: int, session_id: int | None = None
) -> bytes:
    """Our answer: the chosen G.711 codec and, if offered, telephone-event, sendrecv, 20 ms."""
    family = "IP6" if ":" in host else "IP4"
    session_id = session_id or secrets.randbelow(2**31)
    formats = [str(offer.payload_type)]
    attributes = [f"a=rtpmap:{offer.payload_type} {offer.codec}/8000"]
    if offer.dtmf_payload_type is not None:
        formats.append(str(offer.dtmf_payload_type))
        attributes += [
            f"a=rtpmap:{offer.dtmf_payload_type} telephone-event/8000",
            f"a=fmtp:{offer.dtmf_payload_type} 0-15",
        ]
    lines = [
        "v=0",
        f"o=antenne {session_id} {session_id} IN {family} {host}",
        "s=Antenne",
        f"c=IN {family} {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(formats)}",
        *attributes,
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()
