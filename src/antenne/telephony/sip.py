"""SIP messages (RFC 3261): strict parsing, serialising, and building responses.

`parse_message` never lets anything but `SipError` escape; a `SipError` carries the part it
could read, so the gateway can answer a malformed request with a 400 when it knows where to.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field

MAX_MESSAGE_BYTES = 65_535
MAX_HEADERS = 100
MAX_LINE_BYTES = 8_192
MAX_BODY_BYTES = 16_384

COMPACT_FORMS = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "r": "Refer-To",
    "u": "Allow-Events",
}
CANONICAL = {
    name.lower(): name
    for name in (
        *COMPACT_FORMS.values(),
        "CSeq",
        "Max-Forwards",
        "Allow",
        "Accept",
        "User-Agent",
        "Server",
        "Record-Route",
        "Route",
        "Retry-After",
        "Expires",
    )
}
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")

TOKEN_RE = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
REQUEST_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")
STATUS_LINE_RE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9]) ([^\r\n]*)")
CSEQ_RE = re.compile(r"([0-9]{1,10})[ \t]+([A-Za-z0-9.!%*_+`'~-]+)")
CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

REASONS = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    400: "Bad Request",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
}


class SipError(Exception):
    """A message that is not valid SIP. `partial` is what could be read of it (if it was a
    request with its start line and headers intact enough to be answered)."""

    def __init__(self, reason: str, partial: SipMessage | None = None, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.partial = partial
        self.status = status


@dataclass
class SipMessage:
    method: str | None = None  # requests
    uri: str | None = None
    status: int | None = None  # responses
    reason: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    version: str = "SIP/2.0"

    @property
    def is_request(self) -> bool:
        return self.method is not None

    def get(self, name: str) -> str | None:
        key = _canonical(name).lower()
        for header, value in self.headers:
            if header.lower() == key:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        key = _canonical(name).lower()
        return [value for header, value in self.headers if header.lower() == key]

    def set(self, name: str, value: str) -> None:
        key = _canonical(name)
        self.headers = [(h, v) for h, v in self.headers if h.lower() != key.lower()]
        self.headers.append((key, value))

    @property
    def call_id(self) -> str:
        return self.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        match = CSEQ_RE.fullmatch((self.get("CSeq") or "").strip())
        return (int(match[1]), match[2].upper()) if match else (0, "")

    @property
    def branch(self) -> str:
        """The topmost Via's branch parameter ('' if none)."""
        vias = self.get_all("Via")
        return param(vias[0].split(",")[0], "branch") or "" if vias else ""

    def to_bytes(self) -> bytes:
        if self.method is not None:
            start = f"{self.method} {self.uri} SIP/2.0"
        else:
            start = f"SIP/2.0 {self.status} {self.reason}"
        lines = [start]
        lines += [f"{name}: {value}" for name, value in self.headers if name != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def _canonical(name: str) -> str:
    name = COMPACT_FORMS.get(name.lower(), name) if len(name) == 1 else name
    return CANONICAL.get(name.lower(), name)


def param(value: str, name: str) -> str | None:
    """A `;name=value` parameter of a header value (outside its <URI>), or None."""
    if ">" in value:
        value = value.rsplit(">", 1)[1]
    for part in value.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == name.lower():
            return val.strip().strip('"')
    return None


def uri_user(value: str) -> str:
    """The user part of a From/To/Contact value: `"Ann" <sip:0612@host>;tag=x` → `0612`."""
    match = re.search(r"(?:sips?|tel):([^@;>\s]+)", value)
    return match[1] if match else ""


def uri_of(value: str) -> str:
    """The URI of a name-addr (`<sip:…>`) or addr-spec value."""
    if "<" in value and ">" in value:
        return value.split("<", 1)[1].split(">", 1)[0]
    return value.split(";", 1)[0].strip()


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def content_length(head: bytes) -> int | None:
    """The Content-Length of a message head (TCP framing), None if absent or invalid."""
    values = [
        line.partition(b":")[2].strip()
        for line in head.split(b"\r\n")[1:]
        if line.partition(b":")[0].strip().lower() in (b"content-length", b"l")
    ]
    if len(values) != 1 or not values[0].isdigit() or len(values[0]) > 6:
        return None
    return int(values[0])


def parse_message(data: bytes) -> SipMessage:
    """Parse one SIP message (one UDP datagram). Raises `SipError` on anything invalid."""
    try:
        return _parse(data)
    except SipError:
        raise
    except Exception as error:  # a parser bug must not become a crash: it is a bad message
        raise SipError(f"unparseable ({type(error).__name__})") from error


def _parse(data: bytes) -> SipMessage:
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipError("message too large")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipError("no end of headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SipError("headers are not UTF-8") from error
    lines = text.split("\r\n")
    if any(len(line) > MAX_LINE_BYTES for line in lines):
        raise SipError("line too long")
    message = _start_line(lines[0])
    if message.is_request and message.method != "ACK":
        partial: SipMessage | None = message
    else:
        partial = None  # responses and ACKs are never answered
    unfolded: list[str] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        else:
            unfolded.append(line)
    if len(unfolded) > MAX_HEADERS:
        raise SipError("too many headers", partial)
    problems: list[str] = []
    for line in unfolded:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not TOKEN_RE.fullmatch(name) or CONTROL_RE.search(value):
            problems.append(f"bad header line {line[:40]!r}")
            continue
        message.headers.append((_canonical(name), value.strip()))
    for name in REQUIRED:
        if message.get(name) is None:
            problems.append(f"missing {name}")
    if len(message.get_all("Content-Length")) > 1:
        problems.append("several Content-Length")
    length_text = message.get("Content-Length")
    if length_text is not None:
        if not length_text.isdigit() or len(length_text) > 6:
            problems.append("bad Content-Length")
        elif int(length_text) > len(body):
            problems.append("body shorter than Content-Length")
        else:
            body = body[: int(length_text)]  # UDP: bytes past Content-Length are discarded
    if len(body) > MAX_BODY_BYTES:
        problems.append("body too large")
    message.body = body
    cseq = CSEQ_RE.fullmatch((message.get("CSeq") or "").strip())
    if message.get("CSeq") is not None:
        if not cseq or int(cseq[1]) >= 2**31:
            problems.append("bad CSeq")
        elif message.is_request and cseq[2].upper() != message.method:
            problems.append("CSeq method differs from request method")
    if message.get("Call-ID") is not None and not message.call_id.strip():
        problems.append("empty Call-ID")
    if any(not value for value in message.get_all("Via")):
        problems.append("empty Via")
    if problems:
        raise SipError("; ".join(problems), partial if message.get("Via") else None)
    if message.version != "SIP/2.0":
        raise SipError("unsupported SIP version", partial, status=505)
    return message


def _start_line(line: str) -> SipMessage:
    if line.startswith("SIP/"):
        match = STATUS_LINE_RE.fullmatch(line)
        if not match:
            raise SipError("bad status line")
        return SipMessage(status=int(match[1]), reason=match[2])
    parts = line.split(" ")
    if len(parts) != 3:
        raise SipError("bad request line")
    method, uri, version = parts
    if not TOKEN_RE.fullmatch(method) or method.upper() != method:
        raise SipError("bad method")
    if not REQUEST_URI_RE.fullmatch(uri):
        raise SipError("bad Request-URI")
    if not re.fullmatch(r"SIP/[0-9]+\.[0-9]+", version.upper()):
        raise SipError("bad SIP version")
    return SipMessage(method=method, uri=uri, version=version.upper())


def build_response(
    request: SipMessage,
    status: int,
    *,
    reason: str | None = None,
    to_tag: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> SipMessage:
    """A response to `request`: Via, From, To (with our tag added), Call-ID and CSeq copied."""
    response = SipMessage(status=status, reason=reason or REASONS.get(status, "Unknown"))
    for name in ("Via", "Record-Route"):
        response.headers += [(name, value) for value in request.get_all(name)]
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.get(name)
        if value is None:
            continue
        if name == "To" and to_tag and status > 100 and param(value, "tag") is None:
            value = f"{value};tag={to_tag}"
        response.headers.append((name, value))
    response.headers += [("Server", "Antenne"), *(headers or [])]
    response.body = body
    return response


def parse_bind(value: str, default_port: int = 5060) -> tuple[str, int]:
    """`host:port`, `host`, `[v6]:port` → (host, port), as ANTENNE_SIP_BIND is written."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":")
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    if not host or (port and not port.isdigit()) or not 0 <= int(port or default_port) < 65536:
        raise ValueError(f"not a host:port address: {value!r}")
    return host, int(port or default_port)


class Peer:
    """Where a SIP message came from, and how to answer it: a UDP address or a TCP stream."""

    def __init__(
        self,
        addr: tuple[str, int],
        *,
        udp: asyncio.DatagramTransport | None = None,
        tcp: asyncio.StreamWriter | None = None,
    ) -> None:
        self.addr = addr
        self.udp = udp
        self.tcp = tcp
        self.transport = "TCP" if tcp is not None else "UDP"

    def send(self, data: bytes) -> None:
        if self.tcp is not None:
            if not self.tcp.is_closing():
                self.tcp.write(data)
        elif self.udp is not None and not self.udp.is_closing():
            self.udp.sendto(data, self.addr)

    def __str__(self) -> str:
        return f"{self.transport.lower()}:{self.addr[0]}:{self.addr[1]}"
