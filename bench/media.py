"""Media: server CPU and memory per subscriber of each media engine (embedded aiortc, Janus)
for one 640x480 30 fps camera, and the time from opening the join link to the first decoded
frame in Chromium.

One command, as root: `.venv/bin/python bench/media.py [--engine embedded|janus|both]
[--levels 1,10,30] [--seconds 15] [--baseline 10] [--warmup 5] [--kbps 1000]
[--client-procs 2] [--chromium-runs 5] [--wait-idle 120] [--timeout 1200] [--no-docs]`.

ICE leaves loopback out (aioice, Chromium and Janus alike), so everything runs in a network
namespace of the bench's own (`antenne-bench-<pid>`, a veth pair 10.77.0.1/10.77.0.2 that
exists only inside it), each process started through `ip netns exec`: `antenne run --host
10.77.0.1 --port 8000` on a temporary data dir (SQLite), for `--engine janus` a Janus with
the configuration `antenne.media.janus.config.render_config` writes, the client processes
(bench/media_peer.py) and Chromium (Playwright drives it through a wrapper script).

For each engine: a demo workspace and an API token (the CLI), a webinar, a session, a guest
speaker and registrants (the REST API, called from inside the namespace), the green room;
the speaker joins the room and publishes a 640x480 30 fps VP8 camera (a moving textured
pattern, the encoder pinned to --kbps) and an Opus tone from aiortc; the session starts.
Then, with the publisher alone for --baseline seconds (after --warmup), and with 1, 10 and
30 subscribers (registrants in --client-procs processes, each with its room WebSocket open
and an aiortc peer connection that counts the packets and reassembled frames it receives,
never decoding them), each level measured over --seconds after --warmup:

- the CPU time of the server (`antenne run` and its children; for Janus the Janus process,
  and Antenne apart) from /proc/<pid>/stat, as a % of one core, and its RSS (mean of
  1-second samples); per subscriber = (level - baseline) / subscribers;
- what every subscriber receives (video frames/s, key frames/s and kbit/s, audio frames/s,
  packets/s): a subscriber under 80 % of the frame rate or half the publisher's bitrate, or
  a publisher under 90 % of 30 fps, fails the run;
- the client processes' CPU and how busy the whole machine was (/proc/stat), and so the CPU
  other processes took (others: % of one core), which makes the figures noisy: the bench
  waits up to --wait-idle seconds for an idle machine before each engine.

Last, the subscribers leave and Chromium (/usr/bin/chromium, headless, fake devices) opens a
registrant's join link's room page --chromium-runs times, a new context each time: the time
from `page.goto` to the first `inbound-rtp` video report with `framesDecoded > 0` (the page's
`getStats()` polled every 20 ms by an init script that keeps its peer connections).

Bounded by --timeout (SIGALRM); everything started is stopped by PID and the namespace
deleted. Prints a table per engine, then (unless --no-docs) writes the section "Media: CPU
and memory per subscriber" of docs/benchmarks.md (replacing this bench's earlier one), with
the failed checks, if any, beside the figures they invalidate. Exit status 1 when a check
failed or an engine could not be measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import queue
import re
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import antenne

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Media: CPU and memory per subscriber"
END_MARK = (
    "<!-- End of what bench/media.py writes; the notes below are kept when it runs again. -->"
)
ADDRESS, PEER_ADDRESS, PORT = "10.77.0.1", "10.77.0.2", 8000
BASE = f"http://{ADDRESS}:{PORT}"
ANIMATOR = "camille.martin@demo.antenne.example"
SPEAKER = "orateur.bench@partenaire.example"
TEAM = "Mission Numérique Inclusive"
FPS = 30
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
# Keeps the page's peer connections and polls their stats every 20 ms until a video frame
# has been decoded; Date.now() of the milestones (the same clock as the bench's time.time()).
FIRST_FRAME_PROBE = """
window.__pcs = [];
window.__marks = { pc: null, connected: null, frame: null };
const NativePC = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new NativePC(...args);
  window.__pcs.push(pc);
  if (window.__marks.pc === null) window.__marks.pc = Date.now();
  pc.addEventListener("connectionstatechange", () => {
    if (pc.connectionState === "connected" && window.__marks.connected === null)
      window.__marks.connected = Date.now();
  });
  return pc;
};
window.RTCPeerConnection.prototype = NativePC.prototype;
const __poll = setInterval(async () => {
  for (const pc of window.__pcs) {
    if (pc.connectionState === "closed") continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded > 0
          && window.__marks.frame === null) window.__marks.frame = Date.now();
    });
  }
  if (window.__marks.frame !== null) clearInterval(__poll);
}, 20);
"""

STAGE_TEXT = """() => {
  const empty = document.getElementById("room-stage-empty");
  return empty && !empty.hidden ? empty.textContent.trim() : "(tiles)";
}"""


class Timeout(Exception):
    pass


def on_signal(signum: int, _frame: Any) -> None:
    raise Timeout(f"signal {signum}")


# --- /proc -------------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                children.setdefault(int(_stat(int(entry))[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def usage(pid: int) -> tuple[float, int]:
    """CPU seconds (utime + stime) and RSS bytes of a process and its descendants."""
    cpu, rss = 0.0, 0
    for member in tree(pid):
        with contextlib.suppress(OSError, IndexError):
            fields = _stat(member)
            cpu += (int(fields[11]) + int(fields[12])) / TICK
            rss += int(fields[21]) * PAGE
    return cpu, rss


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, counted in user already
    return total - idle, total


# --- The namespace and the processes in it -----------------------------------------------------


class Netns:
    def __init__(self) -> None:
        self.name = f"antenne-bench-{os.getpid()}"
        self.created = False

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)

    def create(self) -> None:
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise SystemExit("this bench needs root and iproute2 (`ip netns`)")
        self.ip("netns", "add", self.name)
        self.created = True
        ns = ("netns", "exec", self.name, "ip")
        self.ip(*ns, "link", "set", "lo", "up")
        self.ip(*ns, "link", "add", "ant0", "type", "veth", "peer", "name", "ant1")
        self.ip(*ns, "addr", "add", f"{ADDRESS}/24", "dev", "ant0")
        self.ip(*ns, "addr", "add", f"{PEER_ADDRESS}/24", "dev", "ant1")
        self.ip(*ns, "link", "set", "ant0", "up")
        self.ip(*ns, "link", "set", "ant1", "up")

    def command(self, args: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen:
        """`ip netns exec` execs the command: the PID is the command's own."""
        return subprocess.Popen(self.command(args), **kwargs)

    def wrapper(self, directory: Path, binary: str) -> Path:
        path = directory / f"{Path(binary).name}-in-{self.name}"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {binary} "$@"\n')
        path.chmod(0o755)
        return path

    def delete(self) -> None:
        if not self.created:
            return
        left = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in left:  # only processes this bench started can be in its namespace
            print(f"  process {pid} still in the namespace: killed")
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "delete", self.name], check=False, timeout=20)
        self.created = False


def stop(process: subprocess.Popen | None, grace: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_for_text(path: Path, needle: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if needle in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    tail = path.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{needle!r} not seen in {path.name}:\n{tail}")


class PeerProcess:
    """A bench/media_peer.py process in the namespace: one JSON command, one JSON reply."""

    def __init__(self, ns: Netns, name: str, logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self.process = ns.popen(
            [sys.executable, str(Path(__file__).with_name("media_peer.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
            cwd=ROOT,
        )
        self.replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)

    def send(self, cmd: str, **args: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.process.stdin.flush()

    def receive(self, timeout: float = 60) -> dict[str, Any]:
        try:
            reply = json.loads(self.replies.get(timeout=timeout))
        except queue.Empty:
            raise RuntimeError(
                f"{self.name}: no reply in {timeout:.0f} s; see {self.log}"
            ) from None
        if "error" in reply:
            raise RuntimeError(f"{self.name}: {reply['error']} (log: {self.log})")
        return reply

    def call(self, cmd: str, timeout: float = 60, **args: Any) -> dict[str, Any]:
        self.send(cmd, **args)
        return self.receive(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.call("close", timeout=15)
        stop(self.process, grace=5)


# --- One engine --------------------------------------------------------------------------------


def server_env(data: Path, engine: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTENNE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        ANTENNE_DATA_DIR=str(data),
        ANTENNE_BASE_URL=BASE,
        ANTENNE_WORKER_INTERVAL="1",
        # Every subscriber connects from 127.0.0.1: more than one address's share of
        # connections may be waiting for their join at once.
        ANTENNE_LIVE_MAX_UNJOINED="1000",
        **engine,
    )
    return env


def start_antenne(
    ns: Netns, data: Path, log: Path, cwd: Path, engine: dict[str, str]
) -> subprocess.Popen:
    """`antenne run` in the namespace, its output in `log`, once its banner is printed (the
    process is stopped again if it never is)."""
    server = ns.popen(
        [sys.executable, "-m", "antenne", "run", "--host", ADDRESS, "--port", str(PORT)],
        env=server_env(data, engine),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=cwd,
    )
    try:
        wait_for_text(log, "Press Ctrl-C", server, 90)
    except BaseException:
        stop(server)
        raise
    return server


def api_through(peer: PeerProcess, token: str, method: str, path: str, body: Any) -> Any:
    """A REST API call made by a peer process (inside the namespace, where the server is)."""
    reply = peer.call("api", base=BASE, token=token, method=method, path=path, body=body)
    if reply["status"] >= 300:
        raise RuntimeError(f"{method} {path}: {reply['status']} {reply['data']}")
    return reply["data"]


def webinar_with_speaker(
    data: Path, peer: PeerProcess, title: str, speaker_name: str
) -> tuple[str, int]:
    """On the demo workspace, as `ANIMATOR` (an admin): a webinar with one session in 10
    minutes and `SPEAKER` invited. Returns (API token, session id)."""
    env = server_env(data, {})
    antenne(env, "demo")
    antenne(env, "admin", "create", "--email", ANIMATOR)
    token = antenne(env, "token", "create", "--email", ANIMATOR).strip().split()[-1]
    with contextlib.closing(sqlite3.connect(data / "antenne.sqlite3")) as db:
        [(team_id,)] = db.execute("SELECT id FROM accounts_team WHERE name = ?", (TEAM,)).fetchall()
    event = api_through(peer, token, "POST", "/events", {"title": title, "team_id": team_id})
    starts = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    session = api_through(
        peer,
        token,
        "POST",
        f"/events/{event['id']}/sessions",
        {"starts_at": starts, "confirm_conflicts": True},
    )["id"]
    speaker = {"email": SPEAKER, "name": speaker_name}
    api_through(peer, token, "POST", f"/sessions/{session}/speakers", speaker)
    return token, session


def start_janus(ns: Netns, directory: Path, logs: Path) -> tuple[subprocess.Popen, dict]:
    from antenne.media.janus.config import render_config

    secrets_ = {k: secrets.token_urlsafe(24) for k in ("api", "admin", "events")}
    render_config(
        directory,
        api_secret=secrets_["api"],
        admin_secret=secrets_["admin"],
        events_url=f"{BASE}/media/janus/events",
        events_secret=secrets_["events"],
        http_bind="127.0.0.1",
        http_port=8088,
        admin_port=7088,
        rtp_port_range="20000-40000",
        ice_enforce_list=ADDRESS,
    )
    log = logs / "janus.log"
    process = ns.popen(
        ["janus", "-F", str(directory), "-C", str(directory / "janus.jcfg"), "-o"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_for_text(log, "HTTP webserver started", process, 30)
    time.sleep(0.5)
    settings = {
        "ANTENNE_MEDIA_ENGINE": "janus",
        "ANTENNE_JANUS_URLS": "http://127.0.0.1:8088/janus",
        "ANTENNE_JANUS_ADMIN_URLS": "http://127.0.0.1:7088/admin",
        "ANTENNE_JANUS_API_SECRET": secrets_["api"],
        "ANTENNE_JANUS_ADMIN_SECRET": secrets_["admin"],
        "ANTENNE_JANUS_EVENTS_SECRET": secrets_["events"],
    }
    return process, settings


def speaker_link(data: Path, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(data / "antenne.sqlite3")) as db:
            rows = db.execute(
                'SELECT body_text FROM mailing_mailboxmessage WHERE "to" = ?', (SPEAKER,)
            ).fetchall()
        for (body,) in rows:
            for word in body.split():
                if "/speaker/" in word and word.startswith("http"):
                    return word.rstrip(".,;)>")
        time.sleep(0.3)
    raise RuntimeError("the speaker's invitation never reached the mailbox")


class Sample:
    """The counters at one instant."""

    def __init__(self, run: EngineRun) -> None:
        self.at = time.monotonic()
        self.server = usage(run.server.pid)
        self.janus = usage(run.janus.pid) if run.janus is not None else (0.0, 0)
        self.machine = machine_ticks()
        self.clients = [p.call("stats", timeout=60) for p in run.peers()]


def rate(a: float, b: float, seconds: float) -> float:
    return (b - a) / seconds if seconds > 0 else 0.0


class EngineRun:
    def __init__(self, engine: str, args: argparse.Namespace, ns: Netns, tmp: Path) -> None:
        self.engine = engine
        self.args = args
        self.ns = ns
        self.tmp = tmp / engine
        self.logs = self.tmp / "logs"
        self.logs.mkdir(parents=True)
        self.server: subprocess.Popen = None  # type: ignore[assignment]
        self.janus: subprocess.Popen | None = None
        self.publisher: PeerProcess | None = None
        self.subscribers: list[PeerProcess] = []
        self.result: dict[str, Any] = {"engine": engine, "levels": [], "checks": []}

    def peers(self) -> list[PeerProcess]:
        return [p for p in (self.publisher, *self.subscribers) if p is not None]

    # Set-up

    def start(self) -> None:
        data = self.tmp / "data"
        data.mkdir()
        engine_env = {"ANTENNE_MEDIA_ENGINE": "embedded"}
        if self.engine == "janus":
            self.janus, engine_env = start_janus(self.ns, self.tmp / "janus", self.logs)
        self.server = start_antenne(self.ns, data, self.logs / "antenne.log", self.tmp, engine_env)
        self.publisher = PeerProcess(self.ns, "publisher", self.logs)
        self.token, self.session = webinar_with_speaker(
            data, self.publisher, "Bench media", "Orateur Bench"
        )
        self.join_urls = []
        for n in range(max(self.args.levels) + self.args.chromium_runs):
            body = {"email": f"p{n:03d}@bench.example", "first_name": f"P{n}", "last_name": "B"}
            url = self.api("POST", f"/sessions/{self.session}/registrations", body)["join_url"]
            self.join_urls.append(url)
        link = speaker_link(data)
        self.speaker_token = link.rstrip("/").rsplit("/", 1)[-1]
        self.api("POST", f"/sessions/{self.session}/green-room")

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        assert self.publisher is not None
        return api_through(self.publisher, self.token, method, path, body)

    def publish(self) -> None:
        assert self.publisher is not None
        self.feed = self.publisher.call(
            "publish",
            timeout=60,
            base=BASE,
            session=self.session,
            speaker_token=self.speaker_token,
            kbps=self.args.kbps,
        )["feed"]
        self.api("POST", f"/sessions/{self.session}/start")

    def add_subscribers(self, total: int) -> None:
        have = sum(len(k) for k in self.assigned.values())
        new = [u.rstrip("/").rsplit("/", 1)[-1] for u in self.join_urls[have:total]]
        batches: dict[int, list[str]] = {}
        for n, key in enumerate(new):
            batches.setdefault((have + n) % len(self.subscribers), []).append(key)
        for index, keys in batches.items():
            self.assigned[index].extend(keys)
            self.subscribers[index].send(
                "subscribe", base=BASE, session=self.session, feed=self.feed, keys=keys
            )
        errors = []
        for index in batches:
            reply = self.subscribers[index].receive(timeout=120)
            errors += reply["errors"]
        if errors:
            raise RuntimeError(f"{len(errors)} subscribers failed: {errors[:3]}")

    # Measurement

    def window(self, subscribers: int) -> dict[str, Any]:
        args = self.args
        time.sleep(args.warmup)
        rss_samples: list[tuple[int, int]] = []
        first = Sample(self)
        deadline = first.at + (args.baseline if subscribers == 0 else args.seconds)
        while time.monotonic() < deadline - 1:
            time.sleep(1)
            rss_samples.append(
                (usage(self.server.pid)[1], usage(self.janus.pid)[1] if self.janus else 0)
            )
        time.sleep(max(0.0, deadline - time.monotonic()))
        last = Sample(self)
        span = last.at - first.at
        busy = (last.machine[0] - first.machine[0]) / max(1, last.machine[1] - first.machine[1])
        level: dict[str, Any] = {
            "subscribers": subscribers,
            "seconds": span,
            "server_cpu": rate(first.server[0], last.server[0], span) * 100,
            "janus_cpu": rate(first.janus[0], last.janus[0], span) * 100,
            "server_rss": statistics.mean(r[0] for r in rss_samples)
            if rss_samples
            else last.server[1],
            "janus_rss": statistics.mean(r[1] for r in rss_samples)
            if rss_samples
            else last.janus[1],
            "machine_busy": busy * 100,
            "load": os.getloadavg()[0],
        }
        # Each client process's counters with its own clock (read after the server's).
        pub_a, pub_b = first.clients[0], last.clients[0]
        pub_span = pub_b["at"] - pub_a["at"]
        sent_a, sent_b = pub_a["publisher"], pub_b["publisher"]
        video_a, video_b = (
            sent_a.get("video", {}).get("rtp", 0),
            sent_b.get("video", {}).get("rtp", 0),
        )
        level["publisher_kbps"] = rate(video_a, video_b, pub_span) * 8 / 1000
        level["publisher_fps"] = rate(sent_a["frames"], sent_b["frames"], pub_span)
        level["publisher_cpu"] = rate(pub_a["cpu"], pub_b["cpu"], pub_span) * 100
        level["clients_cpu"] = sum(
            rate(a["cpu"], b["cpu"], b["at"] - a["at"]) * 100
            for a, b in zip(first.clients[1:], last.clients[1:], strict=True)
        )
        ours = level["server_cpu"] + level["janus_cpu"] + level["publisher_cpu"]
        level["others_cpu"] = busy * (os.cpu_count() or 1) * 100 - ours - level["clients_cpu"]
        receivers = []
        for a, b in zip(first.clients[1:], last.clients[1:], strict=True):
            client_span = b["at"] - a["at"]
            for pa, pb in zip(a["peers"], b["peers"], strict=True):
                got = {"state": pb["state"]}
                for kind in ("video", "audio"):
                    va, vb = pa.get(kind, {}), pb.get(kind, {})
                    got[f"{kind}_fps"] = rate(va.get("frames", 0), vb.get("frames", 0), client_span)
                    got[f"{kind}_kbps"] = (
                        rate(va.get("bytes", 0), vb.get("bytes", 0), client_span) * 8 / 1000
                    )
                    got[f"{kind}_keyframes"] = rate(
                        va.get("keyframes", 0), vb.get("keyframes", 0), client_span
                    )
                wa, wb = pa.get("wire", {}), pb.get("wire", {})
                got["pps"] = rate(wa.get("received", 0), wb.get("received", 0), client_span)
                got["rtcp_pps"] = rate(wa.get("sent", 0), wb.get("sent", 0), client_span)
                got["wire_kbps"] = (
                    rate(wa.get("received_bytes", 0), wb.get("received_bytes", 0), client_span)
                    * 8
                    / 1000
                )
                receivers.append(got)
        level["receivers"] = receivers
        if receivers:
            level["video_kbps"] = statistics.median(r["video_kbps"] for r in receivers)
            level["audio_kbps"] = statistics.median(r["audio_kbps"] for r in receivers)
            level["video_fps"] = statistics.median(r["video_fps"] for r in receivers)
            level["pps"] = statistics.median(r["pps"] for r in receivers)
            level["rtcp_pps"] = statistics.median(r["rtcp_pps"] for r in receivers)
            level["wire_kbps"] = statistics.median(r["wire_kbps"] for r in receivers)
            level["min_fps"] = min(r["video_fps"] for r in receivers)
            level["min_video_kbps"] = min(r["video_kbps"] for r in receivers)
            level["min_audio_fps"] = min(r["audio_fps"] for r in receivers)
            level["keyframes"] = statistics.median(r["video_keyframes"] for r in receivers)
        return level

    def check(self, level: dict[str, Any]) -> None:
        n = level["subscribers"]
        problems = []
        if level["publisher_kbps"] < 0.5 * self.args.kbps:
            problems.append(f"the publisher sent {level['publisher_kbps']:.0f} kbit/s")
        if level["publisher_fps"] < 0.9 * FPS:
            problems.append(f"the publisher sent {level['publisher_fps']:.1f} frames/s")
        if n:
            if len(level["receivers"]) != n:
                problems.append(f"{len(level['receivers'])} subscribers of {n} reported")
            slow = [
                r
                for r in level["receivers"]
                if r["video_fps"] < 0.8 * FPS
                or r["video_kbps"] < 0.5 * level["publisher_kbps"]
                or r["audio_fps"] < 40
                or r["state"] != "connected"
            ]
            if slow:
                worst = min(slow, key=lambda r: r["video_fps"])
                problems.append(
                    f"{len(slow)} of {n} subscribers receive too little (worst: "
                    f"{worst['video_fps']:.1f} video frames/s, {worst['video_kbps']:.0f} kbit/s, "
                    f"{worst['audio_fps']:.1f} audio frames/s, {worst['state']})"
                )
        for problem in problems:
            message = f"{self.engine}, {n} subscribers: {problem}"
            print("  CHECK FAILED: " + message)
            self.result["checks"].append(message)

    def measure(self) -> None:
        args = self.args
        self.subscribers = [
            PeerProcess(self.ns, f"subscribers{i}", self.logs) for i in range(args.client_procs)
        ]
        self.assigned: dict[int, list[str]] = {i: [] for i in range(args.client_procs)}
        self.publish()
        baseline = self.window(0)
        self.check(baseline)
        self.result["levels"].append(baseline)
        print_level(self.engine, baseline, baseline)
        for n in args.levels:
            self.add_subscribers(n)
            level = self.window(n)
            self.check(level)
            self.result["levels"].append(level)
            print_level(self.engine, level, baseline)
        for process in self.subscribers:
            process.close()
        self.subscribers = []

    def first_frames(self, browser_path: Path) -> None:
        """Each run opens a registrant's room page in a new context; a run that shows no
        frame within 30 s is a failure (the others still count)."""
        from playwright.sync_api import sync_playwright

        urls = self.join_urls[max(self.args.levels) :]
        marks: list[dict[str, float]] = []
        failures: list[str] = []
        time.sleep(2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(browser_path), args=CHROMIUM_ARGS, timeout=60_000
            )
            try:
                for url in urls:
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    try:
                        context.add_init_script(FIRST_FRAME_PROBE)
                        marks.append(first_frame(context.new_page(), f"{url}room/"))
                    except Exception as error:
                        failures.append(str(error).splitlines()[0][:300])
                        print(f"  [{self.engine}] Chromium run failed: {failures[-1]}")
                    finally:
                        context.close()
                    time.sleep(1)
            finally:
                browser.close()
        times = [m["frame"] for m in marks]
        self.result["first_frame"] = times
        self.result["first_frame_marks"] = marks
        if failures:
            message = f"{len(failures)} of {len(urls)} runs failed: {failures[0]}"
            self.result["first_frame_error"] = message
            self.result["checks"].append(f"{self.engine}, Chromium: {message}")
        if times:
            print(
                f"  [{self.engine}] Chromium first decoded frame: "
                + ", ".join(f"{t * 1000:.0f}" for t in times)
                + f" ms (median {statistics.median(times) * 1000:.0f}, max "
                + f"{max(times) * 1000:.0f}); page load event after median "
                + f"{statistics.median(m['load'] for m in marks) * 1000:.0f} ms, first peer "
                + f"connection {statistics.median(m['pc'] for m in marks) * 1000:.0f} ms"
            )

    def errors_logged(self) -> dict[str, int]:
        """The server's ERROR and CRITICAL log lines, without timestamps, and how often."""
        log = self.logs / "antenne.log"
        if not log.exists():
            return {}
        found: dict[str, int] = {}
        for line in log.read_text(errors="replace").splitlines():
            match = re.search(r"\b(ERROR|CRITICAL)\b (.*)", line)
            if match:
                text = re.sub(r"\d+", "N", match.group(2))[:200]
                found[text] = found.get(text, 0) + 1
        return found

    def close(self) -> None:
        for process in self.subscribers:
            process.close()
        if self.publisher is not None:
            self.publisher.close()
        stop(self.server, grace=20)
        stop(self.janus, grace=10)


def first_frame(page: Any, url: str) -> dict[str, float]:
    """Seconds from `page.goto(url)` to the load event, the page's first peer connection,
    its first connected one and its first decoded video frame."""
    started = time.time() * 1000
    page.goto(url, timeout=30_000)
    loaded = time.time() * 1000
    got = page.evaluate("() => window.__marks")
    deadline = time.monotonic() + 30
    while got["frame"] is None:  # polled from here: the page's CSP forbids wait_for_function
        if time.monotonic() > deadline:
            stage = page.evaluate(STAGE_TEXT)
            raise RuntimeError(
                f"Chromium decoded no frame in 30 s (milestones {got}; the stage says {stage!r})"
            )
        time.sleep(0.05)
        got = page.evaluate("() => window.__marks")
    return {
        "load": (loaded - started) / 1000,
        "pc": (got["pc"] - started) / 1000,
        "connected": (got["connected"] - started) / 1000 if got["connected"] else float("nan"),
        "frame": (got["frame"] - started) / 1000,
    }


def print_level(engine: str, level: dict[str, Any], baseline: dict[str, Any]) -> None:
    mib = 1024 * 1024
    n = level["subscribers"]
    line = (
        f"  [{engine}] {n:>2} subscribers: antenne {level['server_cpu']:5.1f} % CPU, "
        f"{level['server_rss'] / mib:5.0f} MiB"
    )
    if engine == "janus":
        line += f"; janus {level['janus_cpu']:5.1f} % CPU, {level['janus_rss'] / mib:5.0f} MiB"
    if n:
        media_cpu = "janus_cpu" if engine == "janus" else "server_cpu"
        media_rss = "janus_rss" if engine == "janus" else "server_rss"
        line += (
            f"; per subscriber {(level[media_cpu] - baseline[media_cpu]) / n:.2f} % CPU, "
            f"{(level[media_rss] - baseline[media_rss]) / n / mib:.2f} MiB; received "
            f"{level['video_kbps']:.0f}+{level['audio_kbps']:.0f} kbit/s, "
            f"{level['video_fps']:.1f} fps (min {level['min_fps']:.1f}), "
            f"{level['keyframes']:.2f} keyframes/s; on the wire {level['pps']:.0f} packets/s "
            f"({level['wire_kbps']:.0f} kbit/s) in, {level['rtcp_pps']:.1f} out (RTCP) each"
        )
    line += (
        f"; publisher sends {level['publisher_kbps']:.0f} kbit/s, "
        f"{level['publisher_fps']:.1f} fps ({level['publisher_cpu']:.0f} % "
        f"CPU), subscriber processes {level['clients_cpu']:.0f} % CPU, machine "
        f"{level['machine_busy']:.0f} % busy (other processes "
        f"{max(0, level['others_cpu']):.0f} % CPU)"
    )
    print(line, flush=True)


# --- The report --------------------------------------------------------------------------------


def table(result: dict[str, Any]) -> list[str]:
    mib = 1024 * 1024
    janus = result["engine"] == "janus"
    cpu_key, rss_key = ("janus_cpu", "janus_rss") if janus else ("server_cpu", "server_rss")
    levels = result["levels"]
    base = levels[0]
    head = (
        "| subscribers | server CPU (% of a core) | per subscriber | RSS (MiB) "
        "| per subscriber (MiB) |"
    )
    sep = "|---:|---:|---:|---:|---:|"
    if janus:
        head += " Antenne CPU % | Antenne per subscriber |"
        sep += "---:|---:|"
    head += (
        " received per subscriber (payload kbit/s video+audio, video fps, packets/s) "
        "| machine busy (others) |"
    )
    sep += "---|---:|"
    lines = [head, sep]
    for level in levels:
        n = level["subscribers"]
        per_cpu = f"{round((level[cpu_key] - base[cpu_key]) / n, 2) + 0:.2f}" if n else "—"
        per_rss = f"{round((level[rss_key] - base[rss_key]) / n / mib, 2) + 0:.2f}" if n else "—"
        row = (
            f"| {n or '0 (publisher only)'} | {level[cpu_key]:.1f} | {per_cpu} | "
            f"{level[rss_key] / mib:.0f} | {per_rss} |"
        )
        if janus:
            per_antenne = (
                f"{round((level['server_cpu'] - base['server_cpu']) / n, 2) + 0:.2f}" if n else "—"
            )
            row += f" {level['server_cpu']:.1f} | {per_antenne} |"
        received = (
            f"{level['video_kbps']:.0f}+{level['audio_kbps']:.0f}, {level['video_fps']:.1f} fps, "
            f"{level['pps']:.0f} packets/s"
            if n
            else f"(publisher sends {level['publisher_kbps']:.0f} video)"
        )
        row += (
            f" {received} | {level['machine_busy']:.0f} % ({max(0, level['others_cpu']):.0f} %) |"
        )
        lines.append(row)
    return lines


def cpu_model() -> str:
    """The processor's name, for the machine line of docs/benchmarks.md."""
    return next(
        (
            line.split(":", 1)[1].strip()
            for line in subprocess.run(
                ["lscpu"], capture_output=True, text=True, check=False
            ).stdout.splitlines()
            if line.startswith("Model name")
        ),
        platform.processor() or "?",
    )


def write_docs(args: argparse.Namespace, results: list[dict[str, Any]], minutes: float) -> None:
    model = cpu_model()
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    levels = ",".join(str(n) for n in args.levels)
    out = [
        SECTION,
        "",
        f"`.venv/bin/python bench/media.py --engine {args.engine} --levels {levels} "
        f"--seconds {args.seconds:g}` (as root), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{minutes:.1f} minutes; {cores} cores ({model}), Python {platform.python_version()}.",
        "",
        "Everything in one network namespace on this machine: `antenne run` (SQLite), Janus, "
        "the publisher (aiortc, a 640x480 30 fps VP8 camera pinned to "
        f"{args.kbps} kbit/s, and Opus), the subscribers (aiortc in {args.client_procs} "
        "processes, counting RTP packets and reassembled frames without decoding) and "
        "Chromium. Server CPU is the media server's (`antenne run` for the embedded engine, "
        "the Janus process for Janus, with Antenne's own beside it) over "
        f"{args.seconds:g} s after a {args.warmup:g} s warm-up; per subscriber = (level - "
        "publisher only) / subscribers. RSS is the mean of 1-second samples. Machine busy: "
        "both cores; others: the CPU (% of one core) that processes outside the bench took "
        "meanwhile (other work on the machine), a source of noise.",
        "",
    ]
    for result in results:
        out.append(
            f"**{result['engine']}**" + (f": {result['error']}" if "error" in result else "")
        )
        out.append("")
        if result.get("levels"):
            out.extend(table(result))
            out.append("")
        if result.get("first_frame"):
            times = result["first_frame"]
            marks = result["first_frame_marks"]
            out.append(
                f"Chromium, join link to first decoded frame ({len(times)} runs, a new context "
                f"each, the session live with the publisher on stage): median "
                f"{statistics.median(times):.2f} s, max {max(times):.2f} s "
                f"({', '.join(f'{t:.2f}' for t in times)}); of which page load event median "
                f"{statistics.median(m['load'] for m in marks):.2f} s, first peer connection "
                f"{statistics.median(m['pc'] for m in marks):.2f} s."
            )
            out.append("")
        if result.get("first_frame_error"):
            out.append(f"Chromium first frame, FAILED: {result['first_frame_error']}.")
            out.append("")
        failed = [c for c in result["checks"] if "Chromium" not in c]
        if failed:
            out.append("Failed checks (these figures are not valid): " + "; ".join(failed) + ".")
            out.append("")
        if result.get("server_errors"):
            out.append(
                "The server logged: "
                + "; ".join(f"{n} x `{line}`" for line, n in result["server_errors"].items())
                + "."
            )
            out.append("")
    wrapped = [
        line
        if line.startswith(("|", "#")) or not line
        else textwrap.fill(line, 95, break_on_hyphens=False)
        for line in out
    ]
    block = "\n".join([*wrapped, END_MARK])
    text = DOCS.read_text()
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:  # this bench's section from an earlier run: its output is replaced, notes kept
        mark = text.find(END_MARK, start)
        following = text.find("\n## ", start + len(SECTION))
        if mark != -1:
            rest = text[mark + len(END_MARK) :]
        elif following != -1:
            rest = "\n\n" + text[following + 1 :]
        else:
            rest = "\n"
        text = text[:start] + block + rest
    DOCS.write_text(text.rstrip("\n") + "\n")
    print(f"results written to {DOCS.relative_to(ROOT)} ({SECTION[3:]})")


# --- Main --------------------------------------------------------------------------------------


def wait_idle(seconds: float) -> float:
    """Wait (at most `seconds`) until other processes leave the machine at most 15 % busy
    over 3 s; returns how busy it was last."""
    deadline = time.monotonic() + seconds
    while True:
        before = machine_ticks()
        time.sleep(3)
        after = machine_ticks()
        busy = (after[0] - before[0]) / max(1, after[1] - before[1]) * 100
        if busy <= 15 or time.monotonic() > deadline:
            return busy
        print(f"  the machine is {busy:.0f} % busy (other processes): waiting", flush=True)


def run_engine(engine: str, args: argparse.Namespace, ns: Netns, tmp: Path, wrapper: Path) -> dict:
    busy = wait_idle(args.wait_idle)
    print(f"[{engine}] machine {busy:.0f} % busy before the start; setting up", flush=True)
    if busy > 15:
        print("  WARNING: the machine is not idle: the CPU figures will be noisy", flush=True)
    run = EngineRun(engine, args, ns, tmp)
    result = run.result
    try:
        started = time.monotonic()
        run.start()
        print(f"  [{engine}] set up in {time.monotonic() - started:.1f} s", flush=True)
        run.measure()
        if args.chromium_runs:
            try:
                run.first_frames(wrapper)
            except Timeout:
                raise
            except Exception as error:
                message = str(error).splitlines()[0][:400]
                print(f"  [{engine}] Chromium FAILED: {message}")
                result["first_frame_error"] = message
                result["checks"].append(f"{engine}, Chromium: {message}")
    except Timeout:
        raise
    except Exception as error:
        print(f"  [{engine}] FAILED: {error}")
        result["error"] = str(error).splitlines()[0][:300]
        result["checks"].append(f"{engine}: {result['error']}")
        log = run.logs / "antenne.log"
        if log.exists():
            print("  last lines of antenne run:\n" + "\n".join(log.read_text().splitlines()[-25:]))
    finally:
        result["server_errors"] = run.errors_logged()
        for line, count in result["server_errors"].items():
            print(f"  [{engine}] the server logged {count} x: {line}")
        run.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["embedded", "janus", "both"], default="both")
    parser.add_argument("--levels", default="1,10,30", help="subscriber counts, increasing")
    parser.add_argument("--seconds", type=float, default=15, help="measured per level")
    parser.add_argument("--baseline", type=float, default=10, help="publisher alone, measured")
    parser.add_argument("--warmup", type=float, default=5, help="before each measurement")
    parser.add_argument("--kbps", type=int, default=1000, help="the publisher's VP8 bitrate")
    parser.add_argument("--client-procs", type=int, default=2, help="subscriber processes")
    parser.add_argument("--chromium-runs", type=int, default=5)
    parser.add_argument(
        "--wait-idle", type=float, default=120, help="seconds to wait for an idle machine"
    )
    parser.add_argument("--timeout", type=float, default=1200, help="seconds for the whole run")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args()
    args.levels = sorted({int(n) for n in args.levels.split(",") if n.strip()})
    if not args.levels or args.levels[0] < 1:
        raise SystemExit("--levels: subscriber counts of at least 1")
    engines = ["embedded", "janus"] if args.engine == "both" else [args.engine]
    if "janus" in engines and shutil.which("janus") is None:
        raise SystemExit("--engine janus needs the janus binary (apt-get install janus)")

    began = time.monotonic()
    signal.signal(signal.SIGALRM, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.alarm(int(args.timeout))
    ns = Netns()
    results: list[dict[str, Any]] = []

    try:
        with tempfile.TemporaryDirectory(prefix="antenne-bench-media-") as tmp:
            ns.create()
            wrapper = ns.wrapper(Path(tmp), CHROMIUM)
            print(
                f"namespace {ns.name}; {os.cpu_count()} CPUs; levels {args.levels}, "
                f"{args.seconds:g} s each after {args.warmup:g} s; publisher {args.kbps} kbit/s",
                flush=True,
            )
            for engine in engines:
                results.append(run_engine(engine, args, ns, Path(tmp), wrapper))
    except Timeout as error:
        print(f"TIMEOUT after {time.monotonic() - began:.0f} s ({error}): everything was stopped")
        return 1
    finally:
        signal.alarm(0)
        ns.delete()
    minutes = (time.monotonic() - began) / 60
    print()
    for result in results:
        print(f"{result['engine']}" + (f": {result['error']}" if "error" in result else ""))
        if result.get("levels"):
            print("\n".join(table(result)))
        if result.get("first_frame"):
            times = result["first_frame"]
            print(
                f"Chromium first decoded frame: median {statistics.median(times):.2f} s, "
                f"max {max(times):.2f} s"
            )
        print()
    checks = [c for r in results for c in r["checks"]]
    print(f"total time {minutes:.1f} min")
    if checks:
        print("FAILED: " + "; ".join(checks))
    if not args.no_docs:
        if any(len(r.get("levels", [])) > 1 for r in results):
            write_docs(args, results, minutes)
        else:
            print("docs/benchmarks.md not written: nothing was measured")
    return 1 if checks else 0


if __name__ == "__main__":
    sys.exit(main())
