"""Telephone dial-in: how many listening callers one core sustains with less than 1 % packet
loss, and the CPU per caller (the target: 200 callers in one session).

One command, as root: `.venv/bin/python bench/phone.py [--levels 50,100,200,400,600,800,1000,1200]
[--seconds 20] [--settle 8] [--rate 30] [--client-procs 2] [--baseline 10] [--wait-idle 60]
[--retries 2] [--timeout 1500] [--keep-going] [--json bench/results/phone.json]`.

What runs, all in a network namespace of the bench's own (`antenne-bench-<pid>`, the veth
pair of bench/media.py: aioice leaves loopback out of ICE, and the gateway's bridge joins the
stage through the embedded engine's aiortc): `antenne run --host 10.77.0.1` on a temporary
data dir (SQLite, the embedded media engine) with its SIP gateway on 10.77.0.1:5070
(`ANTENNE_SIP_BIND`, `ANTENNE_SIP_MAX_CALLS` above the highest level,
`ANTENNE_SIP_ALLOWED_SOURCES` the namespace's /24), and client processes (bench/phone_peer.py):
one publisher and `--client-procs` caller processes.

Set-up: a demo workspace, an API token (the CLI), a webinar session with a guest speaker
(the REST API), the green room; the speaker joins the room (WebSocket) and publishes a
440 Hz tone (aiortc, Opus, audio only: no camera) through `POST /media/sessions/<id>/feeds`;
the session starts. The server is measured with the publisher alone (--baseline s), then, for
each level N, N callers (tests/telephony/softphone.py's `Phone`, half PCMU, half PCMA, each
from its own number) call at --rate calls/s in all, type the session's PIN and #; once the
database shows N calls in the room, --settle s for the "live" prompt to end, then a window of
--seconds:

- the server's CPU (`antenne run` and its children, utime + stime from /proc/<pid>/stat) as a
  % of one core, its RSS (mean of 1-second samples); per caller = (level - publisher alone)
  / N, and the slope between two levels;
- what every caller receives, by RTP sequence number: packets/s (50 expected), loss (gaps in
  the sequence) in %, packets never sent (fewer than one per 20 ms: the audio clock skipping
  ticks leaves no gap in the sequence, so it is counted apart, against 50/s), the time
  between two packets (p50, p99, max over all callers), and that the stage's tone is what
  they hear (FFT of the last second of one caller per process);
- the server's main thread (its event loop: HTTP, the SIP gateway and the audio clock), from
  /proc/<pid>/schedstat: the % of the time it ran, and the % it waited, runnable, for a CPU
  (the other processes' share of the blame when the clock falls behind);
- the namespace's UDP receive-buffer drops (/proc/<server pid>/net/snmp, `RcvbufErrors`: a
  drop there is a client process too slow to read, not the server), the client processes'
  CPU, and how busy the machine was (both cores; others = what processes outside the bench
  took, in % of one core).

Then every caller hangs up (BYE) and the next level starts from none (the bridge closes with
its last caller and subscribes again with the next level's first). A level is sustained when
its loss (by sequence, and never sent) is under 1 % and the server under 100 % of a core;
a level that is not, while processes outside the bench took more than half a core, is
measured again once the machine is quieter (at most --retries times; the disturbed attempts
are reported apart); the first level that is not sustained ends the run (unless
--keep-going). Bounded by --timeout (SIGALRM); everything started is stopped by its PID and
the namespace deleted. Prints a markdown table and writes the figures as JSON. Exit status 1
when the set-up failed or a caller could not call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from phone_peer import BINS, ClientProcess, percentile  # noqa: E402

from media import (  # noqa: E402
    ADDRESS,
    BASE,
    PEER_ADDRESS,
    Netns,
    Timeout,
    api_through,
    cpu_model,
    machine_ticks,
    on_signal,
    speaker_link,
    start_antenne,
    stop,
    usage,
    wait_idle,
    webinar_with_speaker,
)

SIP_PORT = 5070
TONE_HZ = 440
TICK = 0.02  # one packet every 20 ms to every caller
DISTURBED = 50  # % of a core taken by other processes: a level that fails is tried again


# --- Measuring -----------------------------------------------------------------------------------


def udp_counters(pid: int) -> dict[str, int]:
    """The UDP counters of `pid`'s network namespace."""
    with open(f"/proc/{pid}/net/snmp") as handle:
        rows = [line.split() for line in handle if line.startswith("Udp:")]
    return {k: int(v) for k, v in zip(rows[0][1:], rows[1][1:], strict=True)}


def schedstat(pid: int) -> tuple[float, float]:
    """Seconds the main thread of `pid` (the server's event loop: uvicorn, the gateway and
    the audio clock) ran on a CPU, and seconds it waited, runnable, for one."""
    with open(f"/proc/{pid}/schedstat") as handle:
        ran, waited, _slices = handle.read().split()
    return int(ran) / 1e9, int(waited) / 1e9


class Bench:
    def __init__(self, args: argparse.Namespace, ns: Netns, tmp: Path) -> None:
        self.args = args
        self.ns = ns
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.data = tmp / "data"
        self.data.mkdir()
        self.server: subprocess.Popen | None = None
        self.publisher: ClientProcess | None = None
        self.callers: list[ClientProcess] = []
        self.result: dict[str, Any] = {"levels": [], "problems": [], "disturbed": []}

    # Set-up

    def start(self) -> None:
        engine = {
            "ANTENNE_MEDIA_ENGINE": "embedded",
            "ANTENNE_SIP_BIND": f"{ADDRESS}:{SIP_PORT}",
            "ANTENNE_SIP_MAX_CALLS": str(max(self.args.levels) + 50),
            "ANTENNE_SIP_ALLOWED_SOURCES": f"{ADDRESS.rsplit('.', 1)[0]}.0/24",
        }
        log = self.logs / "antenne.log"
        self.server = start_antenne(self.ns, self.data, log, self.tmp, engine)
        if "SIP" not in log.read_text():
            print("  (the banner does not mention SIP; checking calls anyway)")
        self.publisher = ClientProcess(self.ns, "publisher", self.logs)
        self.token, self.session = webinar_with_speaker(
            self.data, self.publisher, "Bench phone", "Orateur"
        )
        speaker_token = speaker_link(self.data).rstrip("/").rsplit("/", 1)[-1]
        self.api("POST", f"/sessions/{self.session}/green-room")
        self.publisher.call(
            "publish", timeout=60, base=BASE, session=self.session, speaker_token=speaker_token
        )
        self.api("POST", f"/sessions/{self.session}/start")
        with contextlib.closing(sqlite3.connect(self.data / "antenne.sqlite3")) as db:
            [(self.pin,)] = db.execute(
                "SELECT phone_pin FROM events_session WHERE id = ?", (self.session,)
            ).fetchall()
        self.callers = [
            ClientProcess(self.ns, f"callers{i}", self.logs) for i in range(self.args.client_procs)
        ]

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        assert self.publisher is not None
        return api_through(self.publisher, self.token, method, path, body)

    def calls_in_room(self) -> tuple[int, int]:
        """(active calls in the session's room, active calls in all)."""
        with contextlib.closing(sqlite3.connect(self.data / "antenne.sqlite3", timeout=10)) as db:
            [(joined, active)] = db.execute(
                "SELECT count(presence_id), count(*) FROM telephony_phonecall"
                " WHERE outcome = 'active'"
            ).fetchall()
        return joined, active

    # One level

    def sample(self) -> dict[str, Any]:
        assert self.server is not None
        assert self.publisher is not None
        cpu, rss = usage(self.server.pid)
        return {
            "at": time.monotonic(),
            "cpu": cpu,
            "rss": rss,
            "ticks": machine_ticks(),
            "udp": udp_counters(self.server.pid),
            "loop": schedstat(self.server.pid),
            "publisher": usage(self.publisher.process.pid)[0],
        }

    def window(self, callers: int, seconds: float) -> dict[str, Any]:
        """The server's and the machine's figures over `seconds`, and the callers'."""
        for process in self.callers if callers else []:
            process.send("window_start")
        starts = [p.receive(30) for p in self.callers] if callers else []
        a = self.sample()
        rss: list[int] = []
        deadline = a["at"] + seconds
        while time.monotonic() < deadline - 1:
            time.sleep(1)
            rss.append(usage(self.server.pid)[1])  # type: ignore[union-attr]
        time.sleep(max(0.0, deadline - time.monotonic()))
        b = self.sample()
        for process in self.callers if callers else []:
            process.send("window_end")
        ends = [p.receive(60) for p in self.callers] if callers else []
        span = b["at"] - a["at"]
        busy = (b["ticks"][0] - a["ticks"][0]) / max(1, b["ticks"][1] - a["ticks"][1])
        udp = {k: b["udp"].get(k, 0) - a["udp"].get(k, 0) for k in ("RcvbufErrors", "SndbufErrors")}
        level: dict[str, Any] = {
            "callers": callers,
            "seconds": round(span, 2),
            "server_cpu": (b["cpu"] - a["cpu"]) / span * 100,
            "loop_cpu": (b["loop"][0] - a["loop"][0]) / span * 100,
            "loop_waiting": (b["loop"][1] - a["loop"][1]) / span * 100,
            "server_rss": statistics.mean(rss) if rss else b["rss"],
            "machine_busy": busy * 100,
            "load": os.getloadavg()[0],
            "udp_rcvbuf_errors": udp["RcvbufErrors"],
            "udp_sndbuf_errors": udp["SndbufErrors"],
        }
        clients_cpu = sum(
            (e["cpu"] - s["cpu"]) / max(1e-6, e["at"] - s["at"]) * 100
            for s, e in zip(starts, ends, strict=True)
        )
        level["clients_cpu"] = clients_cpu
        level["publisher_cpu"] = (b["publisher"] - a["publisher"]) / span * 100
        ours = level["server_cpu"] + clients_cpu + level["publisher_cpu"]
        level["others_cpu"] = busy * (os.cpu_count() or 1) * 100 - ours
        if callers:
            rates, received, lost, gaps, worst = [], 0, 0, [0] * BINS, 0.0
            lossy, expected = 0, 0.0
            for s, e in zip(starts, ends, strict=True):
                client_span = e["at"] - s["at"]
                expected += len(e["phones"]) * client_span / TICK
                for got, missed, max_gap in e["phones"]:
                    rates.append(got / client_span)
                    received += got
                    lost += missed
                    lossy += missed > 0
                    worst = max(worst, max_gap)
                gaps = [a + b for a, b in zip(gaps, e["bins"], strict=True)]
            level.update(
                reporting=len(rates),
                pps_median=statistics.median(rates),
                pps_min=min(rates),
                loss_pct=lost / max(1, received + lost) * 100,
                # Packets the clock never sent (ticks it skipped): no gap in the sequence.
                missing_pct=max(0.0, (1 - (received + lost) / expected) * 100),
                lost=lost,
                received=received,
                callers_with_loss=lossy,
                gap_p50_ms=percentile(gaps, 0.5) * 1000,
                gap_p99_ms=percentile(gaps, 0.99) * 1000,
                gap_p999_ms=percentile(gaps, 0.999) * 1000,
                gap_max_ms=worst * 1000,
                heard=[e["heard"] for e in ends],
            )
        return level

    def level(self, n: int) -> dict[str, Any]:
        args = self.args
        procs = len(self.callers)
        shares = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        first = 0
        began = time.monotonic()
        for process, share in zip(self.callers, shares, strict=True):
            process.send(
                "call",
                gateway=[ADDRESS, SIP_PORT],
                pin=self.pin,
                first=self.next_number + first,
                count=share,
                rate=args.rate / procs,
                host=PEER_ADDRESS,
            )
            first += share
        self.next_number += n
        failed, errors = 0, []
        for process in self.callers:
            reply = process.receive(timeout=n / args.rate + 120)
            failed += reply["failed"]
            errors += reply["errors"]
        ramp = time.monotonic() - began
        deadline = time.monotonic() + 60
        joined = 0
        while time.monotonic() < deadline:
            joined, _active = self.calls_in_room()
            if joined >= n - failed:
                break
            time.sleep(0.5)
        joined_after = time.monotonic() - began
        print(
            f"  {n} callers: calls placed in {ramp:.1f} s, {joined} in the room after "
            f"{joined_after:.1f} s" + (f"; {failed} failed: {errors[:2]}" if failed else ""),
            flush=True,
        )
        if failed:
            self.result["problems"].append(f"{n} callers: {failed} could not call: {errors[:2]}")
        time.sleep(args.settle)
        level = self.window(n, args.seconds)
        level.update(joined=joined, failed=failed, ramp_seconds=ramp)
        hung = [p.call("hangup", timeout=120) for p in self.callers]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.calls_in_room()[1]:
            time.sleep(0.5)
        level["left_active"] = self.calls_in_room()[1]
        level["hung_up"] = sum(h["hung_up"] for h in hung)
        level["server_hung_up_first"] = sum(h["bye_from_server"] for h in hung)
        return level

    def measure(self) -> None:
        args = self.args
        self.next_number = 0
        time.sleep(args.warmup)
        baseline = self.window(0, args.baseline)
        self.result["baseline"] = baseline
        print(
            f"  publisher alone: server {baseline['server_cpu']:.1f} % CPU, "
            f"{baseline['server_rss'] / 2**20:.0f} MiB; machine {baseline['machine_busy']:.0f} "
            f"% busy",
            flush=True,
        )
        for n in args.levels:
            for attempt in range(1 + args.retries):
                level = self.level(n)
                print_level(level, baseline)
                if sustained(level) or level["others_cpu"] < DISTURBED or attempt == args.retries:
                    break
                # Not sustained while other work took the CPU: once the machine is quieter,
                # measured again (the disturbed attempt is kept apart, and said).
                level["attempt"] = attempt + 1
                self.result["disturbed"].append(level)
                print(
                    f"  {n} callers not sustained while other processes took "
                    f"{level['others_cpu']:.0f} % of a core: measuring again",
                    flush=True,
                )
                wait_idle(args.wait_idle)
            self.result["levels"].append(level)
            if not sustained(level) and not args.keep_going:
                print(f"  {n} callers not sustained: stopping here", flush=True)
                break
            time.sleep(2)

    def errors_logged(self) -> dict[str, int]:
        log = self.logs / "antenne.log"
        found: dict[str, int] = {}
        if log.exists():
            for line in log.read_text(errors="replace").splitlines():
                match = re.search(r"\b(ERROR|CRITICAL|WARNING)\b (.*)", line)
                if match:
                    text = re.sub(r"\d+", "N", match.group(2))[:200]
                    found[text] = found.get(text, 0) + 1
        return found

    def close(self) -> None:
        for process in [*self.callers, self.publisher]:
            if process is not None:
                process.close()
        stop(self.server, grace=20)


def sustained(level: dict[str, Any]) -> bool:
    return (
        level.get("loss_pct", 100) < 1
        and level.get("missing_pct", 100) < 1
        and level["server_cpu"] < 100
        and level.get("reporting") == level["callers"]
        and level.get("failed", 1) == 0
    )


def print_level(level: dict[str, Any], baseline: dict[str, Any]) -> None:
    n = level["callers"]
    per = (level["server_cpu"] - baseline["server_cpu"]) / n
    heard = ", ".join(f"{h[0]:.0f} Hz ({h[1]:.0%})" for h in level["heard"] if h)
    print(
        f"  {n} callers: server {level['server_cpu']:.1f} % CPU ({per:.3f} % per caller), "
        f"{level['server_rss'] / 2**20:.0f} MiB; per caller {level['pps_median']:.1f} packets/s "
        f"(min {level['pps_min']:.1f}), loss {level['loss_pct']:.3f} % "
        f"({level['callers_with_loss']} callers with any), never sent "
        f"{level['missing_pct']:.1f} %; event loop thread {level['loop_cpu']:.0f} % CPU, "
        f"waited {level['loop_waiting']:.0f} % for a CPU; gaps p50 {level['gap_p50_ms']:.1f} "
        f"p99 {level['gap_p99_ms']:.1f} p99.9 {level['gap_p999_ms']:.1f} max "
        f"{level['gap_max_ms']:.0f} ms; heard {heard}; UDP rcvbuf drops "
        f"{level['udp_rcvbuf_errors']}; clients {level['clients_cpu']:.0f} % CPU, machine "
        f"{level['machine_busy']:.0f} % busy (others {max(0, level['others_cpu']):.0f} %)",
        flush=True,
    )


def table(result: dict[str, Any]) -> list[str]:
    base = result["baseline"]
    lines = [
        "| callers | server CPU (% of a core) | per caller (vs. no caller) | slope from previous "
        "level | event loop thread: CPU %, waiting for a CPU % | RSS (MiB) | packets/s per "
        "caller (median, min) | loss % by sequence (callers with any) | never sent % "
        "| interarrival p50 / p99 / max (ms) | stage tone heard | client CPU % | machine "
        "busy (others) |",
        "|---:|---:|---:|---:|---|---:|---|---|---:|---|---|---:|---:|",
        f"| 0 (publisher only) | {base['server_cpu']:.1f} | — | — | "
        f"{base['loop_cpu']:.0f}, {base['loop_waiting']:.0f} | "
        f"{base['server_rss'] / 2**20:.0f} | — | — | — | — | — | — | "
        f"{base['machine_busy']:.0f} % ({max(0, base['others_cpu']):.0f} %) |",
    ]
    previous = base
    for level in result["levels"]:
        n = level["callers"]
        per = (level["server_cpu"] - base["server_cpu"]) / n
        slope = (level["server_cpu"] - previous["server_cpu"]) / (n - previous["callers"])
        previous = level
        heard = ", ".join(f"{h[0]:.0f} Hz" for h in level["heard"] if h) or "?"
        lines.append(
            f"| {n} | {level['server_cpu']:.1f} | {per:.3f} | {slope:.3f} | "
            f"{level['loop_cpu']:.0f}, {level['loop_waiting']:.0f} | "
            f"{level['server_rss'] / 2**20:.0f} | {level['pps_median']:.1f}, "
            f"{level['pps_min']:.1f} | {level['loss_pct']:.3f} ({level['callers_with_loss']}) | "
            f"{level['missing_pct']:.1f} | "
            f"{level['gap_p50_ms']:.1f} / {level['gap_p99_ms']:.1f} / {level['gap_max_ms']:.0f} "
            f"| {heard} | {level['clients_cpu']:.0f} | {level['machine_busy']:.0f} % "
            f"({max(0, level['others_cpu']):.0f} %) |"
        )
    return lines


def summary(result: dict[str, Any]) -> list[str]:
    levels = result["levels"]
    base = result["baseline"]
    ok = [lv["callers"] for lv in levels if sustained(lv)]
    out = [
        "highest level sustained (loss < 1 %, by sequence and by packets never sent; server "
        "under 100 % of a core): " + (f"{max(ok)} callers" if ok else "none")
    ]
    if len(levels) >= 2:
        xs = [lv["callers"] for lv in levels]
        ys = [lv["server_cpu"] for lv in levels]
        slope, intercept = statistics.linear_regression(xs, ys)
        result["slope"] = slope
        result["intercept"] = intercept
        line = (
            f"CPU per caller (least squares over the levels): {slope:.3f} % of a core, "
            f"intercept {intercept:.1f} % (publisher alone: {base['server_cpu']:.1f} %)"
        )
        if slope > 0:
            line += f"; one core at that rate: about {(100 - intercept) / slope:.0f} callers"
        out.append(line)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--levels", default="50,100,200,400,600,800,1000,1200", help="callers, increasing"
    )
    parser.add_argument("--seconds", type=float, default=20, help="measured per level")
    parser.add_argument("--settle", type=float, default=8, help="after the last caller joined")
    parser.add_argument("--rate", type=float, default=30, help="calls per second, in all")
    parser.add_argument("--client-procs", type=int, default=2, help="caller processes")
    parser.add_argument("--baseline", type=float, default=10, help="publisher alone, measured")
    parser.add_argument("--warmup", type=float, default=5, help="before the baseline")
    parser.add_argument("--wait-idle", type=float, default=60, help="for an idle machine")
    parser.add_argument("--timeout", type=float, default=1500, help="seconds for the whole run")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="times a level not sustained is measured again when other processes took over "
        f"{DISTURBED} %% of a core",
    )
    parser.add_argument("--keep-going", action="store_true", help="past a level not sustained")
    parser.add_argument("--json", default=str(HERE / "results" / "phone.json"))
    args = parser.parse_args()
    args.levels = sorted({int(n) for n in args.levels.split(",") if n.strip()})
    if not args.levels or args.levels[0] < 1:
        raise SystemExit("--levels: caller counts of at least 1")

    began = time.monotonic()
    signal.signal(signal.SIGALRM, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.alarm(int(args.timeout))
    ns = Netns()
    bench: Bench | None = None
    status = 0
    try:
        with tempfile.TemporaryDirectory(prefix="antenne-bench-phone-") as tmp:
            ns.create()
            busy = wait_idle(args.wait_idle)
            print(
                f"namespace {ns.name}; {os.cpu_count()} CPUs, machine {busy:.0f} % busy; levels "
                f"{args.levels}, {args.seconds:g} s each, {args.settle:g} s after the last "
                f"caller joined; {args.rate:g} calls/s from {args.client_procs} processes",
                flush=True,
            )
            bench = Bench(args, ns, Path(tmp))
            try:
                bench.start()
                print(f"  set up in {time.monotonic() - began:.1f} s (PIN {bench.pin})", flush=True)
                bench.measure()
            except Timeout:
                raise
            except Exception as error:
                status = 1
                print(f"FAILED: {error}")
                bench.result["problems"].append(str(error).splitlines()[0][:300])
                log = bench.logs / "antenne.log"
                if log.exists():
                    print("last lines of antenne run:")
                    print("\n".join(log.read_text(errors="replace").splitlines()[-25:]))
            finally:
                bench.result["server_log"] = bench.errors_logged()
                bench.close()
    except Timeout as error:
        print(f"TIMEOUT after {time.monotonic() - began:.0f} s ({error}): everything was stopped")
        status = 1
    finally:
        signal.alarm(0)
        ns.delete()
    if bench is None:
        return 1
    result = bench.result
    if result["problems"]:
        status = 1
    minutes = (time.monotonic() - began) / 60
    model = cpu_model()
    result["run"] = {
        "command": " ".join(["bench/phone.py", *sys.argv[1:]]),
        "at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "minutes": round(minutes, 1),
        "cpus": os.cpu_count(),
        "model": model,
        "python": platform.python_version(),
    }
    print()
    if result.get("baseline") and result["levels"]:
        print("\n".join(table(result)))
        print()
        print("\n".join(summary(result)))
    for line, count in result.get("server_log", {}).items():
        print(f"the server logged {count} x: {line}")
    for level in result["disturbed"]:
        print(
            f"disturbed and measured again: {level['callers']} callers, loss "
            f"{level['loss_pct']:.2f} %, never sent {level['missing_pct']:.1f} %, event loop "
            f"waited {level['loop_waiting']:.0f} % for a CPU, others {level['others_cpu']:.0f} %"
        )
    for problem in result["problems"]:
        print(f"PROBLEM: {problem}")
    print(f"total time {minutes:.1f} min")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"figures written to {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
