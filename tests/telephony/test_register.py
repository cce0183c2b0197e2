"""Registration with a trunk: the digest computation against the RFCs' worked examples, and
the Registrar against sipp acting as the registrar (401 challenge, verifyauth, 200 or 403)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
from pathlib import Path

import pytest

from antenne.telephony import register
from antenne.telephony.gateway import SipGateway
from antenne.telephony.register import Registrar, digest_response, parse_challenge
from antenne.telephony.sip import parse_message
from tests import peers
from tests.helpers import free_port

USER, PASSWORD = "trunk-user", "s3cret pass"


def test_digest_response_matches_rfc_2617_example():
    response = digest_response(
        username="Mufasa",
        realm="testrealm@host.com",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_digest_response_matches_rfc_7616_examples(algorithm, expected):
    response = digest_response(
        username="Mufasa",
        realm="http-auth@example.org",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        qop="auth",
        nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        algorithm=algorithm,
    )
    assert response == expected


def test_digest_response_refuses_what_it_cannot_compute():
    with pytest.raises(ValueError, match="algorithm"):
        digest_response(
            username="u", realm="r", password="p", method="REGISTER", uri="sip:x", nonce="n",
            algorithm="AKAv1-MD5",
        )  # fmt: skip


def test_challenges_are_parsed_with_quoted_commas():
    value = 'Digest realm="a, b", nonce="n\\"1", qop="auth,auth-int", algorithm=MD5, stale=TRUE'
    assert parse_challenge(value) == {
        "realm": "a, b",
        "nonce": 'n"1',
        "qop": "auth,auth-int",
        "algorithm": "MD5",
        "stale": "TRUE",
    }
    assert parse_challenge('Basic realm="x"') is None


# --- against sipp as the registrar ------------------------------------------------------

RESPONSE_HEADERS = """[last_Via:]
      [last_From:]
      [last_To:];tag=[pid]R[call_number]
      [last_Call-ID:]
      [last_CSeq:]"""


NL = "\n      "


def _response(status: str, extra: str = "") -> str:
    return f"""  <send><![CDATA[
      SIP/2.0 {status}
      {RESPONSE_HEADERS}
      {extra + NL if extra else ""}Content-Length: 0

    ]]></send>
"""


def _register(expires: int, name: str, *, verify: bool = True) -> str:
    auth = f'<verifyauth assign_to="ok" username="{USER}" password="{PASSWORD}"/>'
    return f"""  <recv request="REGISTER">
    <action>
      <ereg regexp="Expires: {expires}\\r" search_in="msg" check_it="true" assign_to="{name}"/>
      {auth if verify else ""}
    </action>
  </recv>
"""


def registrar_scenario(challenge: str) -> str:
    """Challenge, verify; if the credentials are right: 200 (expires=2), a refresh, an
    un-REGISTER; if wrong: 403, and no new REGISTER for 3 seconds."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="registrar">
{_register(600, "e1", verify=False)}
{_response("401 Unauthorized", "WWW-Authenticate: " + challenge)}
{_register(600, "e2")}
  <nop test="ok" next="accepted"/>
{_response("403 Forbidden")}
  <pause milliseconds="3000" next="done"/>
  <label id="accepted"/>
{_response("200 OK", "[last_Contact:];expires=2")}
{_register(600, "e3")}
  <nop test="ok" next="refreshed"/>
  <recv request="NOTHING" timeout="100"/>
  <label id="refreshed"/>
{_response("200 OK", "[last_Contact:];expires=2")}
{_register(0, "e4", verify=False)}
{_response("200 OK")}
  <label id="done"/>
  <Reference variables="e1,e2,e3,e4"/>
</scenario>
"""


class NoCalls:
    async def on_call(self, call) -> None:
        raise AssertionError("no call expected")


@pytest.fixture
async def gateway():
    # The registrar (127.0.0.1) is not an allowed source: its responses still come through.
    allowed = [ipaddress.ip_network("10.0.0.0/8")]
    gateway = SipGateway(NoCalls(), host="127.0.0.1", port=0, allowed_sources=allowed)
    await gateway.start()
    yield gateway
    await gateway.close()


@contextlib.asynccontextmanager
async def sipp_registrar(tmp_path: Path, scenario: str, *, timeout: int = 30):
    """sipp listening as a registrar on a free port: yields (port, result) where result()
    waits for sipp's end and returns (exit status, log)."""
    sipp = peers.sipp()
    path = tmp_path / "registrar.xml"
    path.write_text(scenario)
    errors = tmp_path / "errors.log"
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sipp,
        *("-sf", str(path), "-i", "127.0.0.1", "-p", str(port), "-m", "1"),
        *("-timeout", f"{timeout}s", "-timeout_error", "-nostdin", "-t", "u1"),
        *("-trace_err", "-error_file", str(errors)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )

    async def result() -> tuple[int, str]:
        output, _ = await asyncio.wait_for(process.communicate(), timeout + 10)
        log = errors.read_text(errors="replace") if errors.exists() else ""
        return process.returncode or 0, output.decode(errors="replace")[-3000:] + log[-3000:]

    try:
        yield port, result
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, 9)
            await process.wait()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "challenge",
    [
        'Digest realm="antenne.test", nonce="4f1a9c", qop="auth", algorithm=MD5',
        'Digest realm="antenne.test", nonce="4f1a9c", opaque="x1"',  # no qop (RFC 2069 style)
    ],
    ids=["qop-auth", "no-qop"],
)
async def test_registers_with_digest_refreshes_and_unregisters(gateway, tmp_path, challenge):
    async with sipp_registrar(tmp_path, registrar_scenario(challenge)) as (port, result):
        registrar = Registrar(
            gateway, registrar=f"sip:127.0.0.1:{port}", username=USER, password=PASSWORD
        )
        await registrar.start()
        try:
            assert await registrar.wait_for("registered", "failed", timeout=10) == "registered"
            assert registrar.granted == 2
            await asyncio.sleep(1.6)  # refreshed after half the granted 2 s
            assert registrar.state == "registered"
        finally:
            await registrar.stop()
        status, log = await result()
    assert status == 0, log  # 401, authenticated REGISTER, refresh, then Expires: 0
    assert registrar.state == "unregistered"
    assert registrar.call_id not in gateway.clients
    assert gateway.stats["forbidden"] == 0  # the registrar's answers were not refused


@pytest.mark.e2e
async def test_wrong_password_fails_without_a_tight_retry_loop(gateway, tmp_path, caplog):
    challenge = 'Digest realm="antenne.test", nonce="77aa", qop="auth"'
    async with sipp_registrar(tmp_path, registrar_scenario(challenge)) as (port, result):
        registrar = Registrar(
            gateway, registrar=f"sip:127.0.0.1:{port}", username=USER, password="wrong"
        )
        await registrar.start()
        try:
            assert await registrar.wait_for("registered", "failed", timeout=10) == "failed"
            status, log = await result()  # sipp waits 3 s for another REGISTER
        finally:
            await registrar.stop()
    assert status == 0, log
    assert "refused: 403" in registrar.last_error
    assert f"SIP registration to sip:127.0.0.1:{port} refused: 403" in caplog.text
    assert registrar.state == "unregistered"


async def test_no_answer_is_retransmitted_then_fails(gateway, monkeypatch):
    monkeypatch.setattr(register, "TRANSACTION_TIMEOUT", 2.0)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.setblocking(False)
    port = silent.getsockname()[1]
    registrar = Registrar(gateway, registrar=f"sip:127.0.0.1:{port}", username=USER, password="")
    try:
        await registrar.start()
        assert await registrar.wait_for("failed", timeout=5) == "failed"
        assert "no answer" in registrar.last_error
        received = []
        with contextlib.suppress(BlockingIOError):
            while True:
                received.append(parse_message(silent.recv(65535)))
    finally:
        await registrar.stop()
        silent.close()
    # Sent at 0, 0.5 and 1.5 s (T1 doubling) within the 2 s: one transaction, retransmitted.
    assert len(received) == 3
    assert {message.branch for message in received} == {received[0].branch}
    assert received[0].get("Expires") == "600"
    assert received[0].get("Contact") == f"<sip:{USER}@127.0.0.1:{gateway.port}>"
    assert registrar.state == "unregistered"  # never registered: no un-REGISTER sent
