"""A network namespace for media tests.

Janus, Chromium and aioice all leave loopback interfaces out of ICE, so media tests cannot
run on 127.0.0.1. The `netns` fixture creates a namespace of its own with a veth pair
(10.77.0.1 and 10.77.0.2, existing only inside it; nothing is reachable from or to the
machine's network) and runs the servers and browsers of a test inside it through
`ip netns exec`. Needs root and iproute2: skipped with the reason otherwise (a failure
under ANTENNE_REQUIRE_ALL=1, as in CI), as decided by tests/peers.py. A bare command name run
inside the namespace is resolved there too (`Netns.command`), so a missing binary skips the
test instead of failing in `ip netns exec`."""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import peers

ADDRESS = "10.77.0.1"
PEER_ADDRESS = "10.77.0.2"


@dataclass
class Netns:
    name: str
    ip: str  # its absolute path, from peers.network_namespaces()
    address: str = ADDRESS
    peer_address: str = PEER_ADDRESS

    def command(self, args: list[str]) -> list[str]:
        """`args` run inside the namespace; a bare program name is resolved through
        tests/peers.py first (skipping the test if it is not installed)."""
        program, *rest = args
        if os.sep not in program:
            program = peers.binary(program)
        return [self.ip, "netns", "exec", self.name, program, *rest]

    def popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen:
        """Start `args` inside the namespace. `ip netns exec` execs the command, so the
        returned PID is the command's own (stop it by that PID)."""
        return subprocess.Popen(self.command(args), **kwargs)

    def run(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(args), check=True, **kwargs)

    def wrapper(self, directory: Path, binary: str) -> Path:
        """An executable that runs `binary` inside the namespace with the same arguments
        and file descriptors: give it to Playwright as `executable_path`."""
        path = directory / f"{Path(binary).name}-in-{self.name}"
        command = shlex.join(self.command([binary]))
        path.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        path.chmod(0o755)
        return path

    def python(self, script: str, *args: str, **kwargs: Any) -> subprocess.Popen:
        """Run a Python file with this interpreter inside the namespace."""
        return self.popen([sys.executable, script, *args], **kwargs)


@pytest.fixture(scope="session")
def netns() -> Iterator[Netns]:
    ip = peers.network_namespaces()

    def _ip(*args: str) -> None:
        subprocess.run([ip, *args], check=True, capture_output=True)

    name = f"antenne-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as exc:
        peers.missing(f"`ip netns add` failed: {exc.stderr.decode().strip()}")
    try:
        ns = ["netns", "exec", name, "ip"]
        _ip(*ns, "link", "set", "lo", "up")
        _ip(*ns, "link", "add", "ant0", "type", "veth", "peer", "name", "ant1")
        _ip(*ns, "addr", "add", f"{ADDRESS}/24", "dev", "ant0")
        _ip(*ns, "addr", "add", f"{PEER_ADDRESS}/24", "dev", "ant1")
        _ip(*ns, "link", "set", "ant0", "up")
        _ip(*ns, "link", "set", "ant1", "up")
        yield Netns(name, ip)
    finally:
        subprocess.run([ip, "netns", "delete", name], check=False)
