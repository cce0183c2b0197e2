"""The SIP gateway against real peers on loopback: sipp scenarios, and a small Python UAC
for what sipp cannot easily do (RFC 4733 DTMF, retransmissions, re-INVITE)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket

import pytest

from antenne.telephony import rtp, sdp
from antenne.telephony.call import Call
from antenne.telephony.gateway import SipGateway
from antenne.telephony.sip import SipMessage, new_branch, parse_bind, parse_message
from tests.telephony.sipp import run_sipp

pytestmark = pytest.mark.e2e


class Recorder:
    """A CallHandler: reads a 9-digit PIN, then hangs up (or waits for the caller's BYE)."""

    def __init__(self, gateway_calls: dict[str, Call] | None = None) -> None:
        self.answered: list[Call] = []
        self.digits: dict[str, str] = {}
        self.most_at_once = 0
        self.gateway_calls = gateway_calls

    async def on_call(self, call: Call) -> None:
        self.answered.append(call)
        if self.gateway_calls is not None:
            self.most_at_once = max(self.most_at_once, len(self.gateway_calls))
        digits = await call.read_digits(9, timeout=10)
        self.digits[call.call_id] = digits
        if len(digits) < 9:
            await call.ended.wait()


@pytest.fixture
async def gateway():
    handler = Recorder()
    gateway = SipGateway(handler, host="127.0.0.1", port=0, max_calls=30)
    handler.gateway_calls = gateway.calls
    await gateway.start()
    yield gateway
    await gateway.close()


# --- sipp -------------------------------------------------------------------------------

HEADERS = """Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}
      From: "Caller" <sip:0612345678@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:antenne@[remote_ip]:[remote_port]>{to_tag}
      Call-ID: [call_id]
      Max-Forwards: 70"""

OFFER = """
      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 0 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000"""


def _request(method: str, cseq: int, *, branch: str, to_tag: str = "", sdp_body: bool = False):
    headers = HEADERS.format(branch=branch, to_tag=to_tag)
    extra = "Content-Type: application/sdp\n      " if sdp_body else ""
    return f"""  <send retrans="500"><![CDATA[
      {method} sip:antenne@[remote_ip]:[remote_port] SIP/2.0
      {headers}
      CSeq: {cseq} {method}
      Contact: <sip:0612345678@[local_ip]:[local_port]>
      {extra}Content-Length: [len]
{OFFER if sdp_body else ""}
    ]]></send>
"""


def _ack(cseq: int, branch: str) -> str:
    return _request("ACK", cseq, branch=branch, to_tag="[peer_tag_param]").replace(
        ' retrans="500"', ""
    )


BASIC_CALL = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="basic call">
{_request("INVITE", 1, branch="[branch]", sdp_body=True)}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP 8 101" search_in="body" check_it="true"
            assign_to="answer"/>
    </action>
  </recv>
  <Reference variables="answer"/>
{_ack(1, "[branch]")}
  <pause milliseconds="{{pause}}"/>
{_request("BYE", 2, branch="[branch]", to_tag="[peer_tag_param]")}
  <recv response="200" crlf="true"/>
</scenario>
"""

CANCEL_CALL = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="cancel before answer">
{_request("INVITE", 1, branch="z9hG4bK-inv-[call_number]", sdp_body=True)}
  <recv response="100"/>
  <recv response="180"/>
{_request("CANCEL", 1, branch="z9hG4bK-inv-[call_number]")}
  <recv response="200"/>
  <recv response="487"/>
{_ack(1, "z9hG4bK-inv-[call_number]")}
  <pause milliseconds="600"/>
</scenario>
"""

OPTIONS = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options keep-alive">
{_request("OPTIONS", 1, branch="[branch]")}
  <recv response="200">
    <action>
      <ereg regexp="INVITE.*BYE.*CANCEL" search_in="hdr" header="Allow:" check_it="true"
            assign_to="allow"/>
    </action>
  </recv>
  <Reference variables="allow"/>
</scenario>
"""


async def test_sipp_basic_call_is_answered_and_hung_up_by_the_caller(gateway, tmp_path):
    status, log = await run_sipp(tmp_path, gateway, BASIC_CALL.replace("{pause}", "500"))
    assert status == 0, log
    assert len(gateway.handler.answered) == 1
    call = gateway.handler.answered[0]
    assert call.caller == "0612345678"
    assert call.offer.codec == "PCMA"
    assert call.ended.is_set()
    assert gateway.calls == {}


async def test_sipp_call_over_tcp(gateway, tmp_path):
    status, log = await run_sipp(
        tmp_path, gateway, BASIC_CALL.replace("{pause}", "300"), calls=3, transport="t1"
    )
    assert status == 0, log
    assert len(gateway.handler.answered) == 3
    assert all(call.addr.transport == "TCP" for call in gateway.handler.answered)
    assert gateway.calls == {}


async def test_tcp_keepalives_framing_and_a_missing_content_length(gateway):
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    options = (
        "OPTIONS sip:antenne@127.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-t{n}\r\n"
        "From: <sip:a@h>;tag=1\r\nTo: <sip:antenne@h>\r\nCall-ID: tcp-1\r\nCSeq: {n} OPTIONS\r\n"
    )
    try:
        writer.write(b"\r\n\r\n" + (options.format(n=1) + "Content-Length: 0\r\n\r\n").encode())
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert first.startswith(b"SIP/2.0 200 OK")
        writer.write((options.format(n=2) + "\r\n").encode())  # no Content-Length on TCP
        second = await asyncio.wait_for(reader.read(65535), 5)
        assert second.startswith(b"SIP/2.0 400 Content-Length required")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # and the gateway hung up
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_sipp_cancel_before_answer_gets_487_and_no_call(gateway, tmp_path):
    gateway.ring_seconds = 3
    status, log = await run_sipp(tmp_path, gateway, CANCEL_CALL)
    assert status == 0, log
    assert gateway.stats["cancelled"] == 1
    assert gateway.handler.answered == []
    assert gateway.calls == {}


async def test_sipp_options_keep_alive_is_answered(gateway, tmp_path):
    status, log = await run_sipp(tmp_path, gateway, OPTIONS)
    assert status == 0, log
    assert gateway.calls == {}


async def test_sipp_twenty_concurrent_calls_while_garbage_arrives(gateway, tmp_path):
    garbage_task = asyncio.create_task(_send_garbage(gateway.port, seconds=3))
    try:
        status, log = await run_sipp(
            tmp_path, gateway, BASIC_CALL.replace("{pause}", "2000"), calls=20
        )
    finally:
        answered_400 = await garbage_task
    assert status == 0, log
    assert len(gateway.handler.answered) == 20
    assert gateway.handler.most_at_once >= 10  # they really overlapped
    assert gateway.stats["malformed"] > 0
    assert answered_400 > 0  # the addressable malformed requests got their 400
    assert gateway.stats["errors"] == 0  # no exception reached the socket's catch-all
    assert gateway.calls == {}


async def _send_garbage(port: int, *, seconds: float) -> int:
    """Random datagrams and malformed requests at the gateway; the number of 400s back."""
    rng = random.Random(5060)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    bad_request = (
        b"INVITE sip:antenne@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-g\r\n"
        b"From: <sip:x@h>;tag=1\r\nTo: <sip:y@h>\r\nCall-ID: garbage\r\nCSeq: x INVITE\r\n\r\n"
    )
    answered = 0
    loop = asyncio.get_running_loop().time
    end = loop() + seconds
    try:
        while loop() < end:
            data = bad_request if rng.random() < 0.3 else rng.randbytes(rng.randrange(1, 1400))
            sock.sendto(data, ("127.0.0.1", port))
            await asyncio.sleep(0.01)
            with contextlib.suppress(BlockingIOError):
                while True:
                    answered += sock.recv(65535).startswith(b"SIP/2.0 400")
    finally:
        sock.close()
    return answered


# --- a small Python UAC -----------------------------------------------------------------


class Uac(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.messages: asyncio.Queue[SipMessage] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport
        self.raw: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.raw.append(data)
        self.messages.put_nowait(parse_message(data))

    async def next(self, timeout: float = 5) -> SipMessage:
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def until(self, status: int, timeout: float = 5) -> SipMessage:
        while True:
            message = await self.next(timeout)
            if message.status == status:
                return message


@pytest.fixture
async def uac(gateway):
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        Uac, local_addr=("127.0.0.1", 0), remote_addr=("127.0.0.1", gateway.port)
    )
    protocol.port = transport.get_extra_info("sockname")[1]
    yield protocol
    transport.close()


def request(
    uac,
    method: str,
    *,
    call_id: str,
    cseq: int,
    to_tag: str = "",
    branch: str | None = None,
    body: bytes = b"",
) -> bytes:
    headers = [
        ("Via", f"SIP/2.0/UDP 127.0.0.1:{uac.port};branch={branch or new_branch()}"),
        ("From", f"<sip:0612345678@127.0.0.1:{uac.port}>;tag=uac"),
        ("To", "<sip:antenne@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Contact", f"<sip:0612345678@127.0.0.1:{uac.port}>"),
    ]
    if body:
        headers.append(("Content-Type", "application/sdp"))
    data = SipMessage(
        method=method, uri="sip:antenne@127.0.0.1", headers=headers, body=body
    ).to_bytes()
    uac.transport.sendto(data)
    return data


def offer(port: int) -> bytes:
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    ).encode()


async def answered_call(uac, call_id: str) -> tuple[SipMessage, str]:
    request(uac, "INVITE", call_id=call_id, cseq=1, body=offer(40000))
    assert (await uac.next()).status == 100
    ok = await uac.until(200)
    to_tag = (ok.get("To") or "").split("tag=")[1]
    request(uac, "ACK", call_id=call_id, cseq=1, to_tag=to_tag)
    return ok, to_tag


async def test_dtmf_pin_is_collected_and_the_gateway_hangs_up(gateway, uac):
    ok, _ = await answered_call(uac, "dtmf-1")
    answer = sdp.parse_offer(ok.body)
    assert (answer.codec, answer.dtmf_payload_type) == ("PCMU", 101)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for index, digit in enumerate("123443210"):
            for packet in _key_press(digit, timestamp=1000 + 1600 * index):
                sock.sendto(packet, (answer.host, answer.port))
            await asyncio.sleep(0.02)
    finally:
        sock.close()
    bye = await uac.next(timeout=5)
    assert bye.method == "BYE"
    assert bye.call_id == "dtmf-1"
    uac.transport.sendto(
        b"SIP/2.0 200 OK\r\n"
        + b"".join(
            f"{h}: {bye.get(h)}\r\n".encode() for h in ("Via", "From", "To", "Call-ID", "CSeq")
        )
        + b"Content-Length: 0\r\n\r\n"
    )
    assert gateway.handler.digits == {"dtmf-1": "123443210"}
    for _ in range(50):
        if not gateway.calls:
            break
        await asyncio.sleep(0.05)
    assert gateway.calls == {}


def _key_press(digit: str, *, timestamp: int) -> list[bytes]:
    payloads = [rtp.build_dtmf(digit, end=False, duration=160 * n) for n in (1, 2, 3)]
    payloads += [rtp.build_dtmf(digit, end=True, duration=640)] * 3
    return [
        rtp.RtpPacket(101, seq, timestamp, 4242, payload, marker=seq == 0).to_bytes()
        for seq, payload in enumerate(payloads)
    ]


async def test_retransmissions_reinvite_and_unknown_methods(gateway, uac):
    invite = request(uac, "INVITE", call_id="re-1", cseq=1, body=offer(40002))
    assert (await uac.next()).status == 100
    ok = await uac.until(200)
    uac.transport.sendto(invite)  # a retransmitted INVITE: the same 200 again, no new call
    again = await uac.until(200)
    assert again.to_bytes() == ok.to_bytes()
    resent = await uac.until(200, timeout=2)  # no ACK yet: the 200 OK is retransmitted
    assert resent.to_bytes() == ok.to_bytes()
    to_tag = (ok.get("To") or "").split("tag=")[1]
    request(uac, "ACK", call_id="re-1", cseq=1, to_tag=to_tag)
    assert gateway.stats["calls"] == 1
    request(uac, "INVITE", call_id="re-1", cseq=2, to_tag=to_tag, body=offer(40004))
    reinvite_ok = await uac.until(200)
    assert reinvite_ok.body == ok.body
    request(uac, "ACK", call_id="re-1", cseq=2, to_tag=to_tag)
    request(uac, "SUBSCRIBE", call_id="other", cseq=1)
    assert (await uac.next()).status == 501
    request(uac, "BYE", call_id="nope", cseq=1)
    assert (await uac.next()).status == 481
    request(uac, "BYE", call_id="re-1", cseq=3, to_tag=to_tag)
    assert (await uac.until(200)).cseq == (3, "BYE")
    assert gateway.calls == {}
    with pytest.raises(TimeoutError):  # the ACKed 200 OK is not sent again
        await uac.next(timeout=1.2)


async def test_calls_beyond_the_limit_get_503_and_bad_offers_488(gateway, uac):
    gateway.max_calls = 1
    await answered_call(uac, "limit-1")
    request(uac, "INVITE", call_id="limit-2", cseq=1, body=offer(40006))
    busy = await uac.until(503)
    assert busy.get("Retry-After") == "5"
    request(uac, "BYE", call_id="limit-1", cseq=2, to_tag="x")
    await uac.until(200)
    request(uac, "INVITE", call_id="codec", cseq=1, body=offer(40008).replace(b" 0 101", b" 9"))
    assert (await uac.until(488)).call_id == "codec"
    assert gateway.calls == {}


async def test_closing_the_gateway_hangs_up_answered_calls(gateway, uac):
    await answered_call(uac, "closing")
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(gateway.close())
    bye = await uac.next()
    assert (bye.method, bye.call_id) == ("BYE", "closing")
    await asyncio.wait_for(closing, 5)
    assert gateway.calls == {}


@pytest.mark.parametrize(
    ("bind", "expected"),
    [
        ("127.0.0.1:5060", ("127.0.0.1", 5060)),
        ("192.0.2.10", ("192.0.2.10", 5060)),
        ("[::1]:5070", ("::1", 5070)),
        ("::1", ("::1", 5060)),
    ],
)
def test_bind_addresses(bind, expected):
    assert parse_bind(bind) == expected


@pytest.mark.parametrize("bind", ["", ":5060", "host:port", "127.0.0.1:99999"])
def test_bad_bind_addresses(bind):
    with pytest.raises(ValueError, match="host:port"):
        parse_bind(bind)


async def test_a_port_taken_for_tcp_fails_cleanly_and_port_zero_picks_another(monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = SipGateway(Recorder(), host="127.0.0.1", port=port)
        with pytest.raises(OSError, match="in use"):
            await gateway.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", port))  # the failed start left nothing bound

    real_start_server = asyncio.start_server
    refused: list[int] = []

    async def busy_once(handler, host, port, **kwargs):
        if not refused:
            refused.append(port)
            raise OSError(98, "address already in use")
        return await real_start_server(handler, host, port, **kwargs)

    monkeypatch.setattr(asyncio, "start_server", busy_once)
    gateway = SipGateway(Recorder(), host="127.0.0.1", port=0)
    await gateway.start()
    try:
        assert refused
        assert gateway.port != 0
        assert gateway.transport.udp.get_extra_info("sockname")[1] == gateway.port
        [listening] = gateway.transport.tcp_server.sockets
        assert listening.getsockname()[1] == gateway.port
    finally:
        await gateway.close()
