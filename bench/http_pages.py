"""Requests per second and latency of `antenne run` (embedded defaults) on its busiest
foundation routes: the health check, the login page (a full DSFR template render) and an
authenticated API call (bearer-token lookup).

One command: `.venv/bin/python bench/http_pages.py [--seconds 8] [--clients 8]`.
It starts its own `antenne run` on a free loopback port with a throw-away data directory,
drives it with keep-alive HTTP clients in this process, prints a table, and stops the
server by its PID. Bounded: each route runs for --seconds, then everything stops.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_antenne(data_dir: str, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTENNE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env["ANTENNE_DATA_DIR"] = data_dir
    process = subprocess.Popen(
        [sys.executable, "-m", "antenne", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "Press Ctrl-C" in line:
            return process
        if process.poll() is not None:
            break
    process.kill()
    raise SystemExit("antenne run did not start")


def make_token(data_dir: str) -> str:
    env = {**os.environ, "ANTENNE_DATA_DIR": data_dir}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "antenne", "admin", "create", "--email", "bench@example.org"],
        env=env,
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [sys.executable, "-m", "antenne", "token", "create", "--email", "bench@example.org"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def hammer(port: int, path: str, headers: dict[str, str], seconds: float, clients: int) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95)] * 1000,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="antenne-bench-") as data_dir:
        port = free_port()
        token = make_token(data_dir)
        server = start_antenne(data_dir, port)
        try:
            routes = [
                ("GET /healthz", "/healthz", {}),
                ("GET /login/ (page)", "/login/", {}),
                ("GET /api/v1/me (token)", "/api/v1/me", {"Authorization": f"Bearer {token}"}),
            ]
            print(
                f"antenne run, embedded defaults (SQLite), {args.clients} keep-alive clients, "
                f"{args.seconds:g} s per route; {os.cpu_count()} CPUs, {platform.python_version()}"
            )
            header = ("route", "requests", "req/s", "p50 ms", "p95 ms", "errors")
            print(f"{header[0]:28} " + " ".join(f"{h:>8}" for h in header[1:]))
            for label, path, headers in routes:
                hammer(port, path, headers, 1, 2)  # warm-up
                r = hammer(port, path, headers, args.seconds, args.clients)
                print(
                    f"{label:28} {r['requests']:>8} {r['rps']:>8.0f} {r['p50']:>8.1f} "
                    f"{r['p95']:>8.1f} {r['errors']:>8}"
                )
        finally:
            server.terminate()
            server.wait(30)
            if server.stdout:
                server.stdout.close()


if __name__ == "__main__":
    main()
