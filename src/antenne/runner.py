"""`antenne run`: the ASGI server and an in-process background worker, stopped together."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import uvicorn
from django.conf import settings
from django.db import close_old_connections

from antenne.accounts.services import issue_setup_url
from antenne.core import periodic
from antenne.live.protocol import TRANSPORT_MAX_BYTES
from antenne.telephony import service

logger = logging.getLogger("antenne.runner")


class InProcessWorker:
    """django-tasks-db's worker loop on a thread of `antenne run` (the embedded default;
    production runs `antenne worker` processes instead). A crash of the loop is logged and
    the loop restarted: the task rows are in the database, nothing is lost."""

    def __init__(self, interval: float) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=["default"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"antenne-run-{os.getpid()}",
            excluded_queue_names=[],
        )
        self.thread = threading.Thread(target=self._loop, name="antenne-worker", daemon=True)
        self.stopped = threading.Event()

    def _loop(self) -> None:
        while not self.stopped.is_set():
            try:
                self.worker.run()
            except Exception:
                logger.exception("background worker loop failed; restarting")
                self.stopped.wait(self.worker.interval or 1)
            finally:
                close_old_connections()

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30) -> None:
        self.stopped.set()
        self.worker.running = False
        self.thread.join(timeout)


class Sweeper:
    """The housekeeping of every worker process, once at start and then every `interval`
    seconds on a daemon thread beside the worker loop: the periodic jobs the apps register
    (`core.periodic`, listed in docs/architecture.md). A thread rather than a
    self-re-enqueuing task: it cannot multiply or die out with the queue, and every job is
    idempotent, so several processes sweeping at once is harmless."""

    def __init__(self, interval: float = 60) -> None:
        self.interval = interval
        self.last_runs: dict[str, float] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="antenne-sweeper", daemon=True)

    def sweep(self) -> None:
        try:
            periodic.run_due(self.last_runs, time.monotonic())
        finally:
            close_old_connections()

    def _loop(self) -> None:
        while not self.stopped.wait(self.interval):
            self.sweep()

    def start(self) -> None:
        self.sweep()
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()


def _banner(setup_url: str | None) -> str:
    lines = [
        "",
        f"  Antenne is running at {settings.BASE_URL}/",
        f"  Data directory: {settings.DATA_DIR}",
        f"  Email: {settings.EMAIL_MODE}"
        + (
            " (messages are kept in the back office's Mailbox)"
            if settings.EMAIL_MODE == "mailbox"
            else ""
        ),
    ]
    if setup_url:
        lines += [
            "",
            "  This workspace has no admin yet. Open this one-time link to become its first admin:",
            f"    {setup_url}",
        ]
    lines += ["", "  Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


class _Server(uvicorn.Server):
    banner = ""
    telephony: Any = None

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:  # printed once the port is really ours
            telephony = await self._start_telephony()
            print(
                self.banner.replace("\n\n  Press Ctrl-C", f"\n{telephony}\n  Press Ctrl-C"),
                flush=True,
            )

    async def _start_telephony(self) -> str:
        """The SIP gateway in this event loop (the embedded media engine lives here too).
        Its failure to start is reported, not fatal: the webinars still run."""
        if not service.enabled():
            return "  Telephone dial-in: off (ANTENNE_SIP_BIND)\n"
        try:
            self.telephony = await service.start()
        except service.TelephonyUnavailable as exc:
            return f"  Telephone dial-in NOT started: {exc}\n"
        return f"  Telephone dial-in (SIP, UDP and TCP): {self.telephony.address}\n"

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        if self.telephony is not None:
            await self.telephony.close()
            self.telephony = None
        await super().shutdown(sockets=sockets)


def serve(*, host: str, port: int) -> int:
    setup_url = issue_setup_url()
    worker = InProcessWorker(settings.WORKER_INTERVAL) if settings.RUN_WORKER else None
    sweeper = Sweeper() if settings.RUN_WORKER else None
    config = uvicorn.Config(
        "antenne.asgi:application",
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        # X-Forwarded-For and -Proto only from ANTENNE_TRUSTED_PROXIES (none by default: a
        # client reaching this port directly, or through a relay on this machine that does
        # not rewrite the headers, must not choose its address or scheme). The application
        # resolves the same way (`core.ratelimit.client_ip`), for other ASGI servers.
        proxy_headers=bool(settings.TRUSTED_PROXIES),
        forwarded_allow_ips=[str(network) for network in settings.TRUSTED_PROXIES],
        server_header=False,
        # A WebSocket message is read whole before the application sees it: bounded near
        # the protocol's frame limit, a larger one closes the connection (1009) as soon as
        # its header arrives, instead of buffering up to uvicorn's default 16 MiB.
        ws_max_size=TRANSPORT_MAX_BYTES,
        # Live-room frames are small and encoded once per room; compressing them again for
        # each connection cost 1.6x the fan-out CPU and doubled memory per connection
        # (bench/live_room.py, docs/benchmarks.md).
        ws_per_message_deflate=False,
    )
    server = _Server(config)
    server.banner = _banner(setup_url)
    if worker and sweeper:
        sweeper.start()
        worker.start()
    try:
        server.run()
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully, then re-raises the Ctrl-C it captured.
        pass
    except SystemExit:
        print(f"antenne: could not listen on {host}:{port} (see the error above)", flush=True)
        return 1
    finally:
        if worker:
            worker.stop()
        if sweeper:
            sweeper.stop()
    print("Antenne stopped.", flush=True)
    return 0 if server.started else 1
