"""`antenne sip` alone, and the gateway inside `antenne run`, as an operator starts them."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest

from antenne.telephony.sip import SipMessage, new_branch, parse_message
from tests.helpers import ANTENNE, antenne_env, antenne_run, free_port, wait_for_line

pytestmark = pytest.mark.e2e

JANUS = {
    "ANTENNE_MEDIA_ENGINE": "janus",
    "ANTENNE_JANUS_API_SECRET": "api-secret-for-tests",
    "ANTENNE_JANUS_ADMIN_SECRET": "admin-secret-for-tests",
}


def options(port: int) -> SipMessage:
    """An OPTIONS keep-alive to the gateway on `port`; its response."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        here = sock.getsockname()[1]
        request = SipMessage(
            method="OPTIONS",
            uri=f"sip:antenne@127.0.0.1:{port}",
            headers=[
                ("Via", f"SIP/2.0/UDP 127.0.0.1:{here};branch={new_branch()}"),
                ("From", f"<sip:trunk@127.0.0.1:{here}>;tag=t1"),
                ("To", f"<sip:antenne@127.0.0.1:{port}>"),
                ("Call-ID", "keepalive@test"),
                ("CSeq", "1 OPTIONS"),
            ],
        )
        sock.sendto(request.to_bytes(), ("127.0.0.1", port))
        return parse_message(sock.recv(65535))


def test_antenne_sip_refuses_the_embedded_engine(tmp_path):
    done = subprocess.run(
        [*ANTENNE, "sip"],
        env=antenne_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "ANTENNE_MEDIA_ENGINE=janus" in done.stderr


def test_antenne_sip_serves_until_sigterm(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [*ANTENNE, "sip", "--bind", f"127.0.0.1:{port}"],
        env=antenne_env(tmp_path, **JANUS),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_line(process, f"listening on 127.0.0.1:{port}")
        assert options(port).status == 200
        process.send_signal(signal.SIGTERM)
        assert "stopped" in process.communicate(timeout=20)[0]
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_antenne_sip_reports_a_taken_port(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*ANTENNE, "sip", "--bind", f"127.0.0.1:{port}"],
            env=antenne_env(tmp_path, **JANUS),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"could not listen for SIP on 127.0.0.1:{port}" in done.stderr


def test_antenne_run_starts_the_gateway_and_says_where(tmp_path):
    port = free_port()
    with antenne_run(tmp_path, ANTENNE_SIP_BIND=f"127.0.0.1:{port}") as (_process, _base, banner):
        assert f"Telephone dial-in (SIP, UDP and TCP): 127.0.0.1:{port}" in banner
        assert options(port).status == 200


def test_antenne_run_goes_on_without_the_gateway_when_its_port_is_taken(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with antenne_run(tmp_path, ANTENNE_SIP_BIND=f"127.0.0.1:{port}") as (_p, base, banner):
            assert "Telephone dial-in NOT started: could not listen for SIP" in banner
            import urllib.request

            with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
                assert response.status == 200
