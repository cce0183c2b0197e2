"""ANTENNE_SIP_ALLOWED_SOURCES: requests from elsewhere get 403 Forbidden and never a call."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket

import pytest

from antenne.telephony.gateway import SipGateway
from antenne.telephony.sip import Peer
from tests.telephony.sipp import run_sipp
from tests.telephony.test_gateway_sipp import BASIC_CALL, Recorder, _ack, _request

FORBIDDEN_CALL = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="a call and an OPTIONS from a source that is not allowed">
{_request("INVITE", 1, branch="z9hG4bK-inv-[call_number]", sdp_body=True)}
  <recv response="403"/>
{_ack(1, "z9hG4bK-inv-[call_number]")}
{_request("OPTIONS", 2, branch="z9hG4bK-opt-[call_number]")}
  <recv response="403"/>
</scenario>
"""


@contextlib.asynccontextmanager
async def gateway_allowing(*networks: str):
    handler = Recorder()
    gateway = SipGateway(
        handler,
        host="127.0.0.1",
        port=0,
        allowed_sources=[ipaddress.ip_network(network) for network in networks],
    )
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.close()


@pytest.mark.e2e
async def test_sipp_from_a_source_not_allowed_gets_403_and_no_call(tmp_path):
    async with gateway_allowing("10.0.0.0/8", "192.0.2.0/24") as gateway:
        status, log = await run_sipp(tmp_path, gateway, FORBIDDEN_CALL)
        assert status == 0, log
        assert gateway.stats["forbidden"] >= 3  # INVITE, ACK, OPTIONS
        assert gateway.stats["calls"] == 0
        assert gateway.handler.answered == []
        assert gateway.calls == {}


@pytest.mark.e2e
async def test_sipp_from_an_allowed_source_is_answered(tmp_path):
    async with gateway_allowing("10.0.0.0/8", "127.0.0.0/8") as gateway:
        status, log = await run_sipp(tmp_path, gateway, BASIC_CALL.replace("{pause}", "300"))
        assert status == 0, log
        assert len(gateway.handler.answered) == 1
        assert gateway.stats["forbidden"] == 0


async def test_garbage_and_responses_from_outside_are_dropped_silently():
    async with gateway_allowing("10.0.0.0/8") as gateway:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        try:
            malformed = (
                b"INVITE sip:antenne@127.0.0.1 SIP/2.0\r\n"
                b"Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-g\r\n"
                b"From: <sip:x@h>;tag=1\r\nTo: <sip:y@h>\r\nCall-ID: g\r\nCSeq: x INVITE\r\n\r\n"
            )
            response = (
                b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-r\r\n"
                b"From: <sip:x@h>;tag=1\r\nTo: <sip:y@h>\r\nCall-ID: r\r\nCSeq: 1 BYE\r\n\r\n"
            )
            for data in (malformed, response, b"\x00garbage"):
                sock.sendto(data, ("127.0.0.1", gateway.port))
            with pytest.raises(TimeoutError):  # a 400 would tell a scanner we are here
                await asyncio.to_thread(sock.recv, 65535)
        finally:
            sock.close()
        assert gateway.stats["forbidden"] == 3
        assert gateway.stats["malformed"] == 0


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("192.0.2.7", True),
        ("::ffff:192.0.2.7", True),  # an IPv4 peer seen by a dual-stack socket
        ("2001:db8::5", True),
        ("192.0.3.1", False),
        ("not-an-address", False),
    ],
)
def test_allowed_source_matching(host, allowed):
    networks = [ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("2001:db8::/32")]
    gateway = SipGateway(Recorder(), allowed_sources=networks)
    assert gateway._allowed(Peer((host, 5060))) is allowed
    assert SipGateway(Recorder())._allowed(Peer((host, 5060))) is True  # None: everyone
