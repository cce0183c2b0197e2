"""Shared test helpers: running queued background tasks, SMTP capture, system binaries."""

from __future__ import annotations

import os
import re
import shutil
import socket

import pytest
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


def require_binary(name: str) -> str:
    """The path of a system binary, or skip — except under ANTENNE_REQUIRE_ALL=1 (CI),
    where a missing binary fails the test instead of hiding it."""
    path = shutil.which(name) or (name if os.path.isfile(name) else None)
    if path:
        return path
    reason = f"{name} is not installed (apt-get install it; .ci/run does)"
    if os.environ.get("ANTENNE_REQUIRE_ALL") == "1":
        pytest.fail(f"ANTENNE_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


URL_RE = re.compile(r"https?://[^\s<>\"]+")


def links_in(text: str) -> list[str]:
    return URL_RE.findall(text)
