"""A real Janus for the Janus engine's tests, started with the hardened configuration Antenne
renders (`render_config`) on free ports, and a small HTTP receiver standing in for Antenne's
`/media/janus/events` to capture what Janus's event handler posts.

Also runnable inside a network namespace (`python -m tests.media.janus_fixture media DIR`):
there Janus and aiortc peers reach each other over a real interface, so media flows (Janus
leaves loopback out of ICE). That run prints one JSON line of what it saw; see
`test_janus.py::test_media_flows_through_janus_in_a_network_namespace`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from antenne.media.janus import render_config
from tests import peers
from tests.netns import Netns

API_SECRET = "test-api-secret"
ADMIN_SECRET = "test-admin-secret"
EVENTS_SECRET = "test-events-secret"
ROOM_SECRET = "test-room-secret"
PROBE = """
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if json.load(response).get("janus") == "server_info" else 1)
"""


# -- What Janus posts ----------------------------------------------------------------------------


@dataclass
class Post:
    authorization: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class EventSink:
    """An HTTP server on `host` keeping every POST (Janus's sample event handler's)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        sink = self
        self.posts: list[Post] = []
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with sink.lock:
                    sink.posts.append(Post(self.headers.get("Authorization", ""), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/media/janus/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        """Every event posted so far, flattened (Janus groups them in arrays)."""
        with self.lock:
            posts = list(self.posts)
        flat: list[dict[str, Any]] = []
        for post in posts:
            payload = post.json()
            flat.extend(payload if isinstance(payload, list) else [payload])
        return flat

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# -- Janus ---------------------------------------------------------------------------------------


@dataclass
class Janus:
    directory: Path
    bind: str
    http_port: int
    admin_port: int
    binary: str  # its absolute path, from peers.janus()
    process: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.directory / "janus.log"

    @property
    def url(self) -> str:
        return f"http://{self.bind}:{self.http_port}/janus"

    @property
    def admin_url(self) -> str:
        return f"http://{self.bind}:{self.admin_port}/admin"

    def start(self, timeout: float = 20, netns: Netns | None = None) -> None:
        """Start Janus (inside `netns` if given) and wait until its API answers."""
        args = [self.binary, "-F", str(self.directory)]
        with self.log.open("ab") as log:
            options: dict[str, Any] = {"stdout": log, "stderr": subprocess.STDOUT}
            if netns is not None:
                self.process = netns.popen(args, cwd=self.directory, **options)
            else:
                self.process = subprocess.Popen(args, cwd=self.directory, **options)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"janus exited ({self.process.returncode}):\n{self.output()}")
            if self._answers(netns):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"janus did not answer in {timeout} s:\n{self.output()}")

    def _answers(self, netns: Netns | None) -> bool:
        if netns is not None:
            probe = [sys.executable, "-c", PROBE, f"{self.url}/info"]
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            return subprocess.run(netns.command(probe), check=False, **quiet).returncode == 0
        try:
            with urllib.request.urlopen(f"{self.url}/info", timeout=2) as response:
                return bool(json.load(response).get("janus") == "server_info")
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop this Janus by its PID (SIGKILL: as if it crashed)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def make_janus(
    directory: Path,
    *,
    events_url: str,
    bind: str = "127.0.0.1",
    http_port: int,
    admin_port: int,
    **config: Any,
) -> Janus:
    """Render Antenne's configuration into `directory` and return the (stopped) Janus: the
    system's `janus` (tests/peers.py: the test skips without it)."""
    binary = peers.janus()
    render_config(
        directory,
        api_secret=API_SECRET,
        admin_secret=ADMIN_SECRET,
        events_url=events_url,
        events_secret=EVENTS_SECRET,
        http_bind=bind,
        http_port=http_port,
        admin_port=admin_port,
        **config,
    )
    return Janus(directory, bind, http_port, admin_port, binary)


@contextmanager
def janus_in_netns(
    netns: Netns, directory: Path, *, events_url: str = "", http_port: int = 8088
) -> Iterator[dict[str, str]]:
    """A Janus inside the namespace (API on its 127.0.0.1, ICE on the namespace's address)
    for an `antenne run` there: yields Antenne's settings to use it, stops it by its PID.
    Its events go to `events_url` (default: Antenne on the namespace's address, port 8000)."""
    directory.mkdir(parents=True, exist_ok=True)
    janus = make_janus(
        directory,
        events_url=events_url or f"http://{netns.address}:8000/media/janus/events",
        http_port=http_port,
        admin_port=http_port - 1000,
        ice_enforce_list=netns.address,
    )
    janus.start(netns=netns)
    try:
        yield {
            "ANTENNE_MEDIA_ENGINE": "janus",
            "ANTENNE_JANUS_URLS": janus.url,
            "ANTENNE_JANUS_ADMIN_URLS": janus.admin_url,
            "ANTENNE_JANUS_API_SECRET": API_SECRET,
            "ANTENNE_JANUS_ADMIN_SECRET": ADMIN_SECRET,
            "ANTENNE_JANUS_ROOM_SECRET": ROOM_SECRET,
            "ANTENNE_JANUS_EVENTS_SECRET": EVENTS_SECRET,
        }
    finally:
        janus.stop()


def listening_sockets(pid: int) -> set[tuple[str, str, int]]:
    """(protocol, address, port) of the sockets a process listens on (TCP) or has bound
    (UDP), read from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/{pid}/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode not in inodes or (protocol.startswith("tcp") and state != "0A"):
                continue
            address, port = local.split(":")
            found.add((protocol, _address(address), int(port, 16)))
    return found


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return ".".join(str(b) for b in raw[::-1])
    words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
    return str(ipaddress.IPv6Address(b"".join(words)))


# -- Media inside a network namespace -------------------------------------------------------------


async def _media_run(directory: Path, address: str) -> dict[str, Any]:
    """Janus on `address`, an aiortc publisher and two subscribers, one of them completed,
    muted and stopped by another engine (another Antenne process): what they received."""
    from aiortc import RTCSessionDescription

    from antenne.media.janus.engine import JanusEngine
    from antenne.media.janus.events import parse
    from tests.media.conftest import Publisher, Subscriber, eventually

    sink = EventSink(address)
    janus = make_janus(
        directory,
        events_url=sink.url,
        bind=address,
        http_port=8088,
        admin_port=7088,
        ice_enforce_list=address,
        stats_period=1,
    )
    janus.start()
    options: dict[str, Any] = {
        "urls": [janus.url],
        "admin_urls": [janus.admin_url],
        "api_secret": API_SECRET,
        "admin_secret": ADMIN_SECRET,
        "secret": ROOM_SECRET,
        "max_publishers": 3,
    }
    engine, other_process = JanusEngine(**options), JanusEngine(**options)
    publisher, here, there = Publisher(), Subscriber(), Subscriber()
    result: dict[str, Any] = {}

    def frames(kind: str) -> list[int]:
        return [here.frames[kind], there.frames[kind]]

    async def growth(kind: str, seconds: float) -> list[int]:
        before = frames(kind)
        await asyncio.sleep(seconds)
        return [after - was for after, was in zip(frames(kind), before, strict=True)]

    try:
        room = 31
        feed_id = await publisher.publish(engine, "p1", room=room)  # type: ignore[arg-type]
        await eventually(lambda: publisher.pc.connectionState == "connected", 15)
        feeds = await engine.list_feeds(room)
        result["feeds"] = [[f.feed_id, f.participant, f.source, f.audio, f.video] for f in feeds]
        result["feed_id"] = feed_id
        await here.subscribe(engine, "p2", [feed_id, "999"], room=room)  # type: ignore[arg-type]
        result["streams"] = here.streams
        # Offered by this process, answered through another one.
        subscription = await engine.subscribe(room, "p3", [feed_id])
        await there.pc.setRemoteDescription(RTCSessionDescription(subscription.offer_sdp, "offer"))
        await there.pc.setLocalDescription(await there.pc.createAnswer())
        for transceiver in there.pc.getTransceivers():
            there._tasks.append(asyncio.ensure_future(there._read(transceiver.receiver)))
        await other_process.complete_subscription(
            room, subscription.subscription_id, there.pc.localDescription.sdp
        )
        await eventually(lambda: min(frames("video") + frames("audio")) > 10, 20)
        result["received"] = True

        await other_process.mute(room, feed_id, "video", True)
        await asyncio.sleep(0.5)  # what was on its way
        result["video_while_muted"] = await growth("video", 1.0)
        result["audio_while_video_muted"] = await growth("audio", 1.0)
        await other_process.mute(room, feed_id, "video", False)
        result["video_after_unmute"] = await growth("video", 1.0)

        # Stats: Janus posts them every second per handle (the first ones maybe while muted).
        def flowing() -> list[tuple[str, str, str]]:
            events = [e for e in parse(sink.events()) if e.kind == "media_stats"]
            return sorted(
                {(s.participant, s.direction, s.kind) for e in events for s in e.stats if s.bitrate}
            )

        await eventually(lambda: len(flowing()) == 6, 20)
        result["stats"] = flowing()

        await other_process.unsubscribe(room, subscription.subscription_id)
        await asyncio.sleep(0.5)
        result["video_after_unsubscribe"] = await growth("video", 1.0)
        await engine.unpublish(room, feed_id)
        result["feeds_after_unpublish"] = len(await engine.list_feeds(room))
        await asyncio.sleep(0.5)
        result["video_after_unpublish"] = await growth("video", 1.0)
        result["events"] = sorted({(e.kind, e.participant) for e in parse(sink.events())})
        result["handles_left"] = len(engine.rooms.owned)
    finally:
        for peer in (here, there, publisher):
            await peer.close()
        await engine.close()
        await other_process.close()
        janus.stop()
        sink.close()
    return result


def main() -> None:
    if sys.argv[1:2] != ["media"] or len(sys.argv) != 4:
        raise SystemExit("usage: python -m tests.media.janus_fixture media DIR ADDRESS")
    result = asyncio.run(_media_run(Path(sys.argv[2]), sys.argv[3]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
