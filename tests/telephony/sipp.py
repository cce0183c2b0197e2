"""Running sipp (Debian `sip-tester`) against a gateway on loopback, for the tests of the
gateway alone and of the voice menu."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from pathlib import Path

from antenne.telephony.gateway import SipGateway
from tests import peers
from tests.helpers import free_port


def free_media_ports() -> int:
    """A base port for sipp's media sockets (it binds base to base+3, audio and video, RTP
    and RTCP), below the ephemeral range where the gateway's own RTP sockets land."""
    rng = random.SystemRandom()
    for _ in range(200):
        base = rng.randrange(12000, 30000, 4)
        sockets = []
        try:
            for port in range(base, base + 4):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no four free UDP ports in a row for sipp's media")


async def run_sipp(
    tmp_path: Path,
    gateway: SipGateway,
    scenario: str,
    *,
    calls: int = 1,
    limit: int | None = None,
    rate: int | None = None,
    timeout: float = 40,
    transport: str = "u1",
) -> tuple[int, str]:
    """Run sipp against the gateway; (exit status, output + error log). sipp exits 0 only
    when every call followed the scenario."""
    sipp = peers.sipp()
    path = tmp_path / "scenario.xml"
    path.write_text(scenario)
    errors = tmp_path / "errors.log"
    process = await asyncio.create_subprocess_exec(
        sipp,
        f"127.0.0.1:{gateway.port}",
        "-sf",
        str(path),
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_media_ports()),
        "-m",
        str(calls),
        "-l",
        str(limit or calls),
        "-r",
        str(rate or calls),
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        "-nostdin",
        "-t",
        transport,
        "-trace_err",
        "-error_file",
        str(errors),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout + 10)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, 9)
            await process.wait()
    log = errors.read_text(errors="replace") if errors.exists() else ""
    return process.returncode or 0, output.decode(errors="replace")[-3000:] + log[-3000:]
