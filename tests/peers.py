"""The system peers of the suite — binaries and capabilities pip does not install — and the
one place that decides whether each is present.

A test or fixture that needs one calls its function here first: it gets what to run (a
binary's absolute path), or the test is skipped with the reason and the Debian package to
install (`apt-get install chromium gettext janus iproute2 sip-tester baresip espeak-ng sox`,
see README's Quick start). Under ANTENNE_REQUIRE_ALL=1 (CI, `.ci/run`) a missing peer fails
the test instead, so nothing is hidden there.

Binaries are found on PATH and nowhere else, so a PATH without one simulates a machine
without it; their absolute path is what runs, also inside a network namespace, where
`ip netns exec` would search PATH itself and fail with "exec of ... failed" (`Netns.command`
resolves a bare name through `binary()`). A peer not listed in `PACKAGES` is a KeyError:
add it there, with its package, before using it."""

from __future__ import annotations

import os
import shutil
import socket
from typing import NoReturn

import pytest

# Every binary a test runs, and the Debian package that provides it.
PACKAGES: dict[str, str] = {
    "chromium": "chromium",
    "janus": "janus",
    "sipp": "sip-tester",
    "baresip": "baresip",
    "espeak-ng": "espeak-ng",
    "sox": "sox",
    "msgfmt": "gettext",
    "msgattrib": "gettext",
    "xgettext": "gettext",
    "ip": "iproute2",
}
REQUIRE_ALL = "ANTENNE_REQUIRE_ALL"


def missing(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it under ANTENNE_REQUIRE_ALL=1."""
    if os.environ.get(REQUIRE_ALL) == "1":
        pytest.fail(f"{REQUIRE_ALL}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def binary(name: str) -> str:
    """The absolute path of the system binary `name` (one of `PACKAGES`), or skip."""
    package = PACKAGES[name]
    path = shutil.which(name)
    if path is None:
        missing(f"`{name}` is not installed (Debian package {package}: apt-get install {package})")
    return os.path.abspath(path)


def chromium() -> str:
    """Headless Chromium, driven by Playwright through `executable_path`."""
    return binary("chromium")


def janus() -> str:
    return binary("janus")


def sipp() -> str:
    return binary("sipp")


def baresip() -> str:
    return binary("baresip")


def espeak_ng() -> str:
    return binary("espeak-ng")


def sox() -> str:
    return binary("sox")


def gettext(tool: str) -> str:
    """One of gettext's tools: msgfmt, msgattrib, xgettext."""
    return binary(tool)


def ip() -> str:
    return binary("ip")


def root(purpose: str) -> None:
    """Skip unless the tests run as root (`purpose`: what needs it)."""
    if os.geteuid() != 0:
        missing(f"{purpose} needs root (run the suite as root)")


def network_namespaces() -> str:
    """What creating a network namespace needs, iproute2 and root: the path of `ip`."""
    path = ip()
    root("creating a network namespace")
    return path


def raw_sockets() -> None:
    """CAP_NET_RAW, for sipp's `play_pcap_audio` (it sends from a raw socket)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).close()
    except PermissionError:
        missing("sipp's play_pcap_audio needs CAP_NET_RAW (run as root, or setcap sipp)")


def redis(host: str = "127.0.0.1", port: int = 6379) -> None:
    """A Redis server listening on `host:port` (Debian package redis-server)."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        missing(f"no Redis server on {host}:{port} (Debian package redis-server)")
