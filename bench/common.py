"""What the benchmarks share: a free loopback port, a throw-away PostgreSQL database whose
name must contain "bench", and `antenne` processes started and read until ready."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit, urlunsplit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_url(url: str) -> tuple[str, str]:
    """The server's maintenance database URL, and the bench database's name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or "bench" not in name or name == "test":
        raise SystemExit(f"refusing to use the database {name!r}: its name must contain 'bench'")
    return urlunsplit(parts._replace(path="/postgres")), name


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    maintenance, name = admin_url(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    drop_database(url)
    maintenance, name = admin_url(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def antenne(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "antenne", *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise SystemExit(f"antenne {' '.join(args[:2])} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "antenne", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_ready(process: subprocess.Popen[str], deadline: float) -> list[str]:
    """Read the server's output until it is ready; keep draining it in a thread after."""
    assert process.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
            return lines
    raise SystemExit("antenne run did not start:\n" + "".join(lines[-40:]))


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
