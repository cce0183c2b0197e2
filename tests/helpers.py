"""Shared test helpers: running queued background tasks, SMTP capture, Antenne as processes.
System binaries and capabilities (Chromium, Janus, sipp, root...): tests/peers.py."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from django_tasks_db.management.commands.db_worker import Worker


def drain_tasks() -> None:
    """Run every queued background task, as `antenne run`'s worker would, then return."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


URL_RE = re.compile(r"https?://[^\s<>\"]+")


def links_in(text: str) -> list[str]:
    return URL_RE.findall(text)


# --- Antenne as separate processes (what a newcomer runs) -------------------------------

ANTENNE = [sys.executable, "-m", "antenne"]


def antenne_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a newcomer's machine: only a data dir, embedded SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTENNE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    # No SIP gateway unless a test asks for one (with a port of its own): the default,
    # 127.0.0.1:5060, would be shared by every server a test run starts.
    env["ANTENNE_SIP_BIND"] = "off"
    env.update(ANTENNE_DATA_DIR=str(data_dir), **extra)
    return env


def wait_for_line(process: subprocess.Popen, needle: str, timeout: float = 60) -> str:
    """Read the process's output until a line contains `needle`; return all read so far."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        if needle in line:
            return "".join(lines)
    raise AssertionError(f"{needle!r} not printed; output so far:\n{''.join(lines)}")


@contextmanager
def antenne_run(data_dir: Path, **env: str) -> Iterator[tuple[subprocess.Popen, str, str]]:
    """`antenne run` on a free loopback port: yields (process, base URL, startup banner)
    and stops the process by its PID afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [*ANTENNE, "run", "--port", str(port), "--data-dir", str(data_dir)],
        env=antenne_env(data_dir, ANTENNE_WORKER_INTERVAL="1", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = wait_for_line(process, "Press Ctrl-C")
        yield process, f"http://127.0.0.1:{port}", banner
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        process.stdout.close()


def wait_for_mailbox(data_dir: Path, address: str, timeout: float = 30) -> int:
    """Poll a running instance's SQLite mailbox until a message to `address` arrives."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline and not count:
        time.sleep(0.3)
        with closing(sqlite3.connect(data_dir / "antenne.sqlite3")) as db:
            count = db.execute(
                'SELECT count(*) FROM mailing_mailboxmessage WHERE "to" = ?', (address,)
            ).fetchone()[0]
    return count
