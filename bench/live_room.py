"""2,000 attendees in one live room: join storm, memory per connection, one broadcast to all,
and chat at 10 messages per second, through one `antenne run` process or two behind Redis.

One command: `.venv/bin/python bench/live_room.py [--attendees 2000] [--servers 1|2]
[--duration 20] [--rate 10] [--senders 10] [--broadcasts 5] [--rejoins 50] [--late 200]
[--client-procs 2]
[--no-deflate] [--database-url URL] [--redis-url URL] [--timeout 300]`.

It creates its own PostgreSQL database (--database-url, default
postgres://postgres@127.0.0.1:5432/antenne_bench_live; the name must contain "bench"),
migrates it and, in one `antenne manage shell`, creates an animator (with an API token and a
back-office login session), a webinar and a session starting in 10 minutes (the room is open
to registrants from 30 minutes before), and --attendees confirmed registrations (bulk, each
with its join key), plus one per server to warm it up. It starts --servers `antenne run`
processes on free loopback ports (ANTENNE_RUN_WORKER=false; with two or more, REDIS_URL so
that they share the room through Redis pub/sub). Then, from --client-procs client processes
(asyncio + websockets, permessage-deflate offered as browsers do unless --no-deflate), all
WebSocket connections sending `Origin: <ANTENNE_BASE_URL>`:

1. the animator joins from the back office (session cookie), one warm-up attendee joins each
   server and leaves, each server answers one API request; the servers' RSS is read (/proc);
2. join storm: the --attendees clients, spread evenly over the servers, all connect and send
   `join` with their join key at once; time until all joined, join latency p50/p95,
   failures; the servers' RSS again → memory per connection; the servers' CPU time;
3. broadcast: the animator starts the session through the API (`POST
   /api/v1/sessions/{id}/start`, a `state` event), then sends --broadcasts chat messages
   from the back office, one a second; delivery latency to every attendee (from just before
   the request, resp. the sender's timestamp in the text) p50/p95/max, and completeness;
4. chat: --senders attendees send --rate messages per second in all (each message carries its
   sender's timestamp) for --duration seconds; every attendee must receive every
   acknowledged message exactly once (by message id, in frames whose `seq` has no gap):
   completeness and latency p50/p95/max; meanwhile --rejoins attendees of another client
   process drop their connection one after the other, stay away 0.3 s and rejoin with the
   last (epoch, seq) they saw: the missed frames must follow the reply in order (a frame
   received out of order or skipped counts as a sequence gap);
5. late joins: --late more attendees join the room, whose chat history is now full (the join
   reply carries the last 100 messages): time, latency p50/p95/max, server CPU per join;
6. everyone leaves; the attendance rows must all be closed.

Bounded by --timeout (SIGALRM); it then stops the client processes and the servers by PID and
drops the database. Exit status 1 when a join failed, a delivery is missing or duplicated, a
connection was dropped, a frame sequence has a gap, or a server logged an error. Timings are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Any

from common import (
    admin_url,
    antenne,
    drop_database,
    free_port,
    recreate_database,
    start_server,
    wait_ready,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/antenne_bench_live"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
ANIMATOR = "bench-animator@example.org"

SETUP = """
import json, random, secrets
from datetime import timedelta
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils import timezone
from antenne.accounts import services
from antenne.accounts.models import Team, User
from antenne.core.permissions import Role
from antenne.events.models import Event, Session
from antenne.registrations.models import Registration

animator = User.objects.create(email={animator!r}, full_name="Bench Animator", role=Role.ANIMATOR)
team = Team.objects.create(name="Bench", contact_email="bench@example.org")
event = Event.objects.create(title="Bench live room", team=team, owner=animator, published=True)
# A session id no other process is likely to use: the Redis group name is room.<id>.
session = Session.objects.create(
    pk=random.randint(10**8, 10**9),
    event=event,
    starts_at=timezone.now() + timedelta(minutes=10),
    time_zone="Europe/Paris",
)
session.animators.set([animator])
Registration.objects.bulk_create(
    [
        Registration(
            session=session,
            email=f"person{{n:05d}}@bench.example",
            first_name=f"Person{{n}}",
            last_name="Bench",
            join_key=secrets.token_urlsafe(32),
        )
        for n in range({count})
    ],
    batch_size=1000,
)
keys = list(
    Registration.objects.filter(session=session).order_by("pk").values_list("join_key", flat=True)
)
_token, raw = services.create_api_token(actor=None, user=animator, name="bench")
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(animator.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = animator.get_session_auth_hash()
store.save()
with open({out!r}, "w") as handle:
    json.dump(
        {{
            "session": session.pk,
            "token": raw,
            "cookie": f"{{settings.SESSION_COOKIE_NAME}}={{store.session_key}}",
            "keys": keys,
        }},
        handle,
    )
"""

SERVER_ERROR = re.compile(r"\bERROR\b|Traceback|Exception in ASGI|CRITICAL")
SLOW_DROP = "does not keep up"


# --- Small helpers ------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ms(value: float) -> str:
    return "—" if value != value else f"{value * 1000:.0f} ms"  # NaN → dash


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def raise_open_files(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- PostgreSQL database of the run -------------------------------------------------------


def db_counts(url: str, session_id: int) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE left_at IS NULL), "
            "count(DISTINCT registration_id) FROM rooms_presence WHERE session_id = %s",
            [session_id],
        ).fetchone()
        chat = conn.execute(
            "SELECT count(*) FROM rooms_chatmessage WHERE session_id = %s", [session_id]
        ).fetchone()
        assert row is not None
        assert chat is not None
    return {"presences": row[0], "open": row[1], "people": row[2], "chat": chat[0]}


def pg_sessions(url: str) -> int:
    """Connections ever opened to the bench database (pg_stat_database.sessions, PG 14+)."""
    import psycopg

    _, name = admin_url(url)
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]
            ).fetchone()
            return int(row[0]) if row and row[0] is not None else -1
    except psycopg.Error:
        return -1


# --- Servers ------------------------------------------------------------------------------


def antenne_env(args: argparse.Namespace, data_dir: str, base_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTENNE_", "DJANGO_")) and k not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(
        DATABASE_URL=args.database_url,
        ANTENNE_DATA_DIR=data_dir,
        ANTENNE_SECRET_KEY=secrets.token_urlsafe(50),
        ANTENNE_RUN_WORKER="false",
        ANTENNE_BASE_URL=base_url,
        # Every client of the bench connects from 127.0.0.1: the storm's thousands of
        # connections waiting for their join would be over one address's share.
        ANTENNE_LIVE_MAX_UNJOINED=str(args.attendees + args.late + 10),
    )
    if args.servers > 1:
        env["REDIS_URL"] = args.redis_url
    return env


def api(port: int, token: str, method: str, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        method,
        f"/api/v1{path}",
        body=b"{}" if method != "GET" else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    data = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, data


# --- Client processes ---------------------------------------------------------------------


class Client:
    """One WebSocket connection and what it received."""

    def __init__(self, index: int, port: int, join_key: str, cookie: str = "") -> None:
        self.index = index
        self.port = port
        self.join_key = join_key
        self.cookie = cookie
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.pending: dict[str, asyncio.Future] = {}
        self.epoch = ""
        self.seq = -1
        self.gaps = 0
        self.frames = 0
        self.chat: dict[int, float] = {}  # message id -> first receipt (time.time())
        self.duplicates = 0
        self.states: dict[str, float] = {}
        self.close_code: int | None = None
        self.joined = False
        self.rejoining = False
        self.early = 0  # frames received after a (re)join was sent, before its reply


class Worker:
    """The clients of one process. Commands come from the bench process through a pipe."""

    def __init__(self, conn: Any, config: dict[str, Any]) -> None:
        self.conn = conn
        self.config = config
        self.clients: list[Client] = []
        self.staff: Client | None = None
        self.texts: dict[int, str] = {}  # message id -> text, parsed once per process
        self.closed_early: Counter[int | None] = Counter()

    # The connection's receiving side: replies resolve futures, frames are recorded.
    async def read(self, client: Client) -> None:
        from websockets.exceptions import ConnectionClosed

        texts = self.texts
        try:
            async for raw in client.ws:
                now = time.time()
                message = json.loads(raw)
                kind = message[0]
                if kind == "frame":
                    data = message[1]
                    if not client.joined:
                        # Before the join reply: a frame numbered after the reply's frames.
                        client.early += 1
                    else:
                        if data["epoch"] != client.epoch or data["seq"] != client.seq + 1:
                            client.gaps += 1
                        client.epoch, client.seq = data["epoch"], data["seq"]
                    client.frames += 1
                    for event, payload in data["events"]:
                        if event == "chat.message":
                            mid = payload["id"]
                            if mid in client.chat:
                                client.duplicates += 1
                            else:
                                client.chat[mid] = now
                                if mid not in texts:
                                    texts[mid] = payload["text"]
                        elif event == "state":
                            client.states.setdefault(payload["state"], now)
                elif kind in ("success", "error"):
                    if kind == "success" and message[1] == "join":
                        # Here, not in `open`: the frames that follow the reply are read next.
                        self.joined(client, message[2], now)
                    future = client.pending.pop(message[1], None)
                    if future is not None and not future.done():
                        future.set_result((message, now))
        except ConnectionClosed:
            pass
        client.close_code = client.ws.close_code
        if not self.closing and not client.rejoining:
            self.closed_early[client.close_code] += 1

    closing = False

    async def request(
        self, client: Client, action: str, rid: str, payload: dict, timeout: float
    ) -> tuple[list, float]:
        future = asyncio.get_running_loop().create_future()
        client.pending[rid] = future
        await client.ws.send(json.dumps([action, rid, payload]))
        return await asyncio.wait_for(future, timeout)

    async def open(self, client: Client, timeout: float, resync: bool = False) -> dict[str, Any]:
        """Connect and join (with the last epoch and seq seen when `resync`)."""
        from websockets.asyncio.client import connect

        headers = {"Cookie": client.cookie} if client.cookie else None
        started = time.time()
        try:
            client.ws = await connect(
                f"ws://127.0.0.1:{client.port}/ws/room/{self.config['session']}/",
                origin=self.config["origin"],
                additional_headers=headers,
                compression=None if self.config["no_deflate"] else "deflate",
                open_timeout=timeout,
                ping_interval=None,
                max_size=2**20,
                user_agent_header=None,
            )
        except Exception as error:
            return {"error": f"connect: {type(error).__name__}: {error}"[:200]}
        opened = time.time()
        client.reader = asyncio.get_running_loop().create_task(self.read(client))
        payload: dict[str, Any] = {"join_key": client.join_key} if client.join_key else {}
        if resync:
            payload.update(epoch=client.epoch, last_seq=client.seq)
        try:
            reply, at = await self.request(client, "join", "join", payload, timeout)
        except Exception as error:
            return {"error": f"join: {type(error).__name__}: {error}"[:200]}
        if reply[0] != "success":
            return {"error": f"join refused: {reply[2].get('code')}"}
        data = reply[2]
        return {
            "started": started,
            "opened": opened,
            "joined": at,
            "role": data["role"],
            "resynced": data["resynced"],
        }

    @staticmethod
    def joined(client: Client, data: dict[str, Any], at: float) -> None:
        """The join reply: from now on frames must follow in sequence."""
        if not data["resynced"]:  # a fresh view: the snapshot stands for what was missed
            client.epoch, client.seq = data["epoch"], data["seq"]
            for message in (data.get("snapshot") or {}).get("chat", []):
                client.chat.setdefault(message["id"], at)
        client.joined = True

    async def cmd_rejoin(self, start_at: float, duration: float, count: int) -> dict[str, Any]:
        """During the chat, `count` attendees of this process lose their connection, stay away
        0.3 s and rejoin with the last (epoch, seq) they saw: the missed frames must follow the
        reply, in order, none missing (else counted as sequence gaps)."""
        chosen = [c for c in self.clients if c.joined][:count]

        async def rejoin(n: int, client: Client) -> dict[str, Any]:
            delay = start_at + (n + 0.5) * duration / max(1, len(chosen)) - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            client.rejoining = True
            await client.ws.close()  # frames still buffered on it are read as usual
            if client.reader is not None:
                await client.reader
            client.joined = False
            await asyncio.sleep(0.3)
            result = await self.open(client, 30, resync=True)
            client.rejoining = False
            return result

        results = await asyncio.gather(*(rejoin(n, c) for n, c in enumerate(chosen)))
        return {"results": results, "early": sum(c.early for c in chosen)}

    async def cmd_staff(self, port: int, cookie: str) -> dict[str, Any]:
        self.staff = Client(-1, port, "", cookie)
        return await self.open(self.staff, 30)

    async def cmd_warm(self, items: list[tuple[int, str]]) -> dict[str, Any]:
        """One attendee per server joins and leaves: the code paths are warm before the
        memory baseline."""
        results = []
        for port, key in items:
            client = Client(-2, port, key)
            results.append(await self.open(client, 30))
            self.closing = True
            await client.ws.close()
            if client.reader:
                await client.reader
            self.closing = False
        return {"results": results}

    async def cmd_join(self, items: list[tuple[int, int, str]], timeout: float) -> dict[str, Any]:
        clients = [Client(i, port, key) for i, port, key in items]
        self.clients.extend(clients)
        results = await asyncio.gather(*(self.open(c, timeout) for c in clients))
        return {"results": results}

    async def cmd_staff_chat(self, count: int, interval: float) -> dict[str, Any]:
        assert self.staff is not None
        sent = []
        for n in range(count):
            ts = time.time()
            reply, _at = await self.request(
                self.staff, "chat.send", f"b{n}", {"text": f"bench broadcast {n} {ts:.6f}"}, 10
            )
            if reply[0] == "success":
                sent.append(reply[2]["id"])
            else:
                sent.append(None)
            await asyncio.sleep(interval)
        return {"ids": sent}

    async def cmd_chat(
        self, start_at: float, rate: float, duration: float, senders: int
    ) -> dict[str, Any]:
        chosen = [c for c in self.clients if c.joined][:senders]
        total = int(rate * duration)
        acks: list[dict[str, Any]] = []

        async def send(k: int) -> None:
            delay = start_at + k / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            client = chosen[k % len(chosen)]
            ts = time.time()
            try:
                reply, at = await self.request(
                    client, "chat.send", f"c{k}", {"text": f"bench chat {k} {ts:.6f}"}, 15
                )
            except Exception as error:
                acks.append({"k": k, "sent": ts, "error": f"{type(error).__name__}"})
                return
            if reply[0] == "success":
                acks.append({"k": k, "sent": ts, "ack": at, "id": reply[2]["id"]})
            else:
                acks.append({"k": k, "sent": ts, "error": reply[2].get("code")})

        await asyncio.gather(*(send(k) for k in range(total)))
        return {"acks": acks}

    def cmd_check(self, ids: list[int]) -> dict[str, Any]:
        """For each attendee: which of `ids` arrived, latency from the timestamp in the text."""
        wanted = set(ids)
        sent_at = {}
        for mid in ids:
            text = self.texts.get(mid)
            if text is not None:
                sent_at[mid] = float(text.rsplit(" ", 1)[1])
        latencies = []
        missing = 0
        for client in self.clients:
            got = client.chat
            for mid in wanted:
                at = got.get(mid)
                if at is None:
                    missing += 1
                else:
                    latencies.append(at - sent_at[mid])
        return {
            "latencies": latencies,
            "missing": missing,
            "expected": len(wanted) * len(self.clients),
            "duplicates": sum(c.duplicates for c in self.clients),
        }

    def cmd_missing(self, ids: list[int]) -> dict[str, Any]:
        missing = sum(1 for c in self.clients for mid in ids if mid not in c.chat)
        return {"missing": missing}

    def cmd_states(self, state: str) -> dict[str, Any]:
        times = [c.states.get(state) for c in self.clients]
        return {"times": [t for t in times if t is not None], "missing": times.count(None)}

    def cmd_health(self) -> dict[str, Any]:
        return {
            "gaps": sum(c.gaps for c in self.clients),
            "frames": sum(c.frames for c in self.clients),
            "closed_early": dict(self.closed_early),
            "duplicates": sum(c.duplicates for c in self.clients),
        }

    async def cmd_close(self) -> dict[str, Any]:
        self.closing = True
        everyone = [c for c in [*self.clients, self.staff] if c is not None and c.ws is not None]

        async def close(client: Client) -> None:
            with contextlib.suppress(Exception):  # closing anyway
                await asyncio.wait_for(client.ws.close(), 10)

        started = time.time()
        await asyncio.gather(*(close(c) for c in everyone))
        return {"seconds": time.time() - started}

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            name, kwargs = await loop.run_in_executor(None, self.conn.recv)
            if name == "exit":
                self.conn.send({})
                return
            method = getattr(self, f"cmd_{name}")
            try:
                result = method(**kwargs)
                if asyncio.iscoroutine(result):
                    result = await result
            except Exception as error:
                result = {"failure": f"{name}: {type(error).__name__}: {error}"}
            self.conn.send(result)


def worker_main(conn: Any, config: dict[str, Any]) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(Worker(conn, config).serve())


class Workers:
    """The client processes, driven in lock step."""

    def __init__(self, count: int, config: dict[str, Any]) -> None:
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(count):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=worker_main, args=(child, config), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def send(self, index: int, name: str, **kwargs: Any) -> None:
        """Start a command without waiting; `answer` collects its result."""
        self.pipes[index].send((name, kwargs))

    def answer(self, index: int, name: str, timeout: float) -> dict[str, Any]:
        return self._answer(index, name, timeout)

    def call(self, index: int, name: str, timeout: float = 120, **kwargs: Any) -> dict[str, Any]:
        self.pipes[index].send((name, kwargs))
        return self._answer(index, name, timeout)

    def all(
        self, name: str, per_worker: list[dict] | None = None, timeout: float = 120, **kwargs: Any
    ) -> list[dict[str, Any]]:
        for n, pipe in enumerate(self.pipes):
            pipe.send((name, {**kwargs, **(per_worker[n] if per_worker else {})}))
        return [self._answer(n, name, timeout) for n in range(len(self.pipes))]

    def _answer(self, index: int, name: str, timeout: float) -> dict[str, Any]:
        if not self.pipes[index].poll(timeout):
            raise TimeoutError(f"client process {index} did not answer {name!r} in {timeout} s")
        result = self.pipes[index].recv()
        if "failure" in result:
            raise RuntimeError(f"client process {index}: {result['failure']}")
        return result

    def cpu(self) -> float:
        """CPU seconds used so far by the client processes."""
        return sum(cpu_seconds(p.pid) for p in self.processes if p.pid is not None)

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)


# --- The run ------------------------------------------------------------------------------


class Timeout(Exception):
    pass


def on_signal(signum: int, frame: Any) -> None:
    raise Timeout(signal.Signals(signum).name)


def run(args: argparse.Namespace, report: dict[str, Any]) -> None:
    deadline = time.monotonic() + args.timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout()
        return remaining

    servers: list[subprocess.Popen[str]] = []
    outputs: list[list[str]] = []
    workers: Workers | None = None
    report["outputs"] = outputs
    recreate_database(args.database_url)
    try:
        with tempfile.TemporaryDirectory(prefix="antenne-bench-") as data_dir:
            ports = [free_port() for _ in range(args.servers)]
            base_url = f"http://127.0.0.1:{ports[0]}"
            env = antenne_env(args, data_dir, base_url)
            began = time.monotonic()
            antenne(env, "manage", "migrate", "--verbosity", "0")
            setup_file = os.path.join(data_dir, "bench.json")
            antenne(
                env,
                "manage",
                "shell",
                "-c",
                SETUP.format(
                    animator=ANIMATOR,
                    count=args.attendees + args.late + args.servers,
                    out=setup_file,
                ),
            )
            with open(setup_file) as handle:
                setup = json.load(handle)
            report["setup_seconds"] = time.monotonic() - began
            session_id = setup["session"]
            keys: list[str] = setup["keys"]
            warm_keys, keys = keys[: args.servers], keys[args.servers :]
            keys, late_keys = keys[: args.attendees], keys[args.attendees :]

            servers = [start_server(env, port) for port in ports]
            outputs.extend(wait_ready(server, deadline) for server in servers)
            pids = [s.pid for s in servers]
            report["pids"] = pids

            config = {"session": session_id, "origin": base_url, "no_deflate": args.no_deflate}
            workers = Workers(args.client_procs, config)
            # Staff from the back office on the first server; a warm-up attendee on each.
            staff = workers.call(0, "staff", port=ports[0], cookie=setup["cookie"])
            if "error" in staff or staff.get("role") != "staff":
                raise RuntimeError(f"the animator could not join: {staff}")
            warm = workers.call(0, "warm", items=list(zip(ports, warm_keys, strict=True)))
            bad = [r for r in warm["results"] if "error" in r]
            if bad:
                raise RuntimeError(f"warm-up join failed: {bad}")
            for port in ports:  # the API's first request (URL resolution, imports) too
                status, body = api(port, setup["token"], "GET", f"/sessions/{session_id}")
                if status != 200:
                    raise RuntimeError(f"GET /sessions/{session_id} answered {status}: {body}")
            time.sleep(1)
            rss_before = [rss_bytes(pid) for pid in pids]
            cpu_before = [cpu_seconds(pid) for pid in pids]
            clients_before = workers.cpu()
            pg_before = pg_sessions(args.database_url)

            # 2. Join storm. Client i: process i % W, server (i // W) % S.
            W, S = args.client_procs, args.servers
            items: list[list[tuple[int, int, str]]] = [[] for _ in range(W)]
            for i, key in enumerate(keys):
                items[i % W].append((i, ports[(i // W) % S], key))
            storm_started = time.time()
            answers = workers.all(
                "join",
                per_worker=[{"items": part, "timeout": min(120.0, left())} for part in items],
                timeout=left(),
            )
            results = [r for answer in answers for r in answer["results"]]
            joined = [r for r in results if "error" not in r]
            failures = Counter(r["error"] for r in results if "error" in r)
            time.sleep(2)  # let the servers settle (attendance rows written, buffers freed)
            rss_after = [rss_bytes(pid) for pid in pids]
            cpu_after = [cpu_seconds(pid) for pid in pids]
            clients_cpu = workers.cpu() - clients_before
            pg_after = pg_sessions(args.database_url)
            report["join"] = {
                "joined": len(joined),
                "failures": failures,
                "storm": (max(r["joined"] for r in joined) - storm_started) if joined else 0,
                "latency": [r["joined"] - r["started"] for r in joined],
                "handshake": [r["opened"] - r["started"] for r in joined],
                "join_only": [r["joined"] - r["opened"] for r in joined],
                "rss_before": rss_before,
                "rss_after": rss_after,
                "cpu": [a - b for a, b in zip(cpu_after, cpu_before, strict=True)],
                "clients_cpu": clients_cpu,
                "pg_sessions": pg_after - pg_before if pg_before >= 0 <= pg_after else -1,
            }

            # 3. Broadcasts: the start through the API, then messages from the back office.
            cpu_before = [cpu_seconds(pid) for pid in pids]
            t0 = time.time()
            status, body = api(ports[0], setup["token"], "POST", f"/sessions/{session_id}/start")
            api_seconds = time.time() - t0
            if status != 200:
                raise RuntimeError(f"POST /start answered {status}: {body}")
            state_times: list[float] = []
            state_missing = 0
            until = time.monotonic() + min(15.0, left())
            while True:
                states = workers.all("states", state="live")
                state_missing = sum(s["missing"] for s in states)
                if not state_missing or time.monotonic() > until:
                    break
                time.sleep(0.25)
            state_times = [t - t0 for s in states for t in s["times"]]
            staff_ids = workers.call(
                0, "staff_chat", timeout=left(), count=args.broadcasts, interval=1.0
            )["ids"]
            good_ids = [i for i in staff_ids if i is not None]
            wait_all(workers, good_ids, min(15.0, left()))
            checks = workers.all("check", ids=good_ids, timeout=left())
            report["broadcast"] = {
                "api_seconds": api_seconds,
                "state": state_times,
                "state_missing": state_missing,
                "sent": len(staff_ids),
                "acked": len(good_ids),
                "chat": [x for c in checks for x in c["latencies"]],
                "chat_missing": sum(c["missing"] for c in checks),
                "chat_expected": sum(c["expected"] for c in checks),
                "cpu": [cpu_seconds(pid) - b for pid, b in zip(pids, cpu_before, strict=True)],
            }

            # 4. Chat at --rate messages per second from --senders attendees (process 0).
            cpu_before = [cpu_seconds(pid) for pid in pids]
            clients_before = workers.cpu()
            start_at = time.time() + 1.0
            rejoiner = 1 if W > 1 and args.rejoins else None
            if rejoiner is not None:  # attendees of another process lose and resume their link
                workers.send(
                    rejoiner,
                    "rejoin",
                    start_at=start_at,
                    duration=args.duration,
                    count=args.rejoins,
                )
            chat = workers.call(
                0,
                "chat",
                timeout=min(left(), args.duration + 60),
                start_at=start_at,
                rate=args.rate,
                duration=args.duration,
                senders=args.senders,
            )
            acks = chat["acks"]
            rejoins = (
                workers.answer(rejoiner, "rejoin", min(left(), 60))
                if rejoiner is not None
                else {"results": [], "early": 0}
            )
            ids = [a["id"] for a in acks if "id" in a]
            drained = wait_all(workers, ids, min(15.0, left()))
            cpu_chat = [cpu_seconds(pid) - b for pid, b in zip(pids, cpu_before, strict=True)]
            clients_cpu = workers.cpu() - clients_before
            checks = workers.all("check", ids=ids, timeout=left())
            sends = sorted(a["sent"] for a in acks)
            report["chat"] = {
                "planned": int(args.rate * args.duration),
                "acked": len(ids),
                "errors": Counter(a["error"] for a in acks if "error" in a),
                "rate": (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 else 0,
                "ack": [a["ack"] - a["sent"] for a in acks if "ack" in a],
                "latency": [x for c in checks for x in c["latencies"]],
                "missing": sum(c["missing"] for c in checks),
                "expected": sum(c["expected"] for c in checks),
                "drain": drained,
                "cpu": cpu_chat,
                "clients_cpu": clients_cpu,
                "rejoins": rejoins,
            }
            health = workers.all("health")
            report["health"] = {
                "gaps": sum(h["gaps"] for h in health),
                "frames": sum(h["frames"] for h in health),
                "duplicates": sum(h["duplicates"] for h in health),
                "closed_early": sum((Counter(h["closed_early"]) for h in health), Counter()),
            }

            # 4b. Late joins: --late more attendees join a room whose chat is now full.
            report["late"] = {"joined": 0, "failures": Counter(), "latency": [], "cpu": []}
            if late_keys:
                late_items: list[list[tuple[int, int, str]]] = [[] for _ in range(W)]
                for n, key in enumerate(late_keys):
                    i = len(keys) + n
                    late_items[i % W].append((i, ports[(i // W) % S], key))
                cpu_before = [cpu_seconds(pid) for pid in pids]
                late_started = time.time()
                answers = workers.all(
                    "join",
                    per_worker=[
                        {"items": part, "timeout": min(60.0, left())} for part in late_items
                    ],
                    timeout=left(),
                )
                results = [r for answer in answers for r in answer["results"]]
                done = [r for r in results if "error" not in r]
                report["late"] = {
                    "joined": len(done),
                    "failures": Counter(r["error"] for r in results if "error" in r),
                    "storm": (max(r["joined"] for r in done) - late_started) if done else 0,
                    "latency": [r["joined"] - r["started"] for r in done],
                    "cpu": [cpu_seconds(pid) - b for pid, b in zip(pids, cpu_before, strict=True)],
                }

            # 5. Everyone leaves; every attendance row must be closed.
            close_started = time.time()
            workers.all("close", timeout=left())
            counts = db_counts(args.database_url, session_id)
            until = time.monotonic() + min(30.0, left())
            while counts["open"] and time.monotonic() < until:
                time.sleep(0.5)
                counts = db_counts(args.database_url, session_id)
            report["leave"] = {"seconds": time.time() - close_started, **counts}
            workers.all("exit", timeout=10)
            workers.stop()
            workers = None

            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(30)
    finally:
        if workers is not None:
            workers.stop()
        for server in servers:
            if server.poll() is None:
                server.kill()
                server.wait(10)
        drop_database(args.database_url)


def wait_all(workers: Workers, ids: list[int], seconds: float) -> float:
    """Until every client has every message of `ids` (or `seconds` passed): the wait."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if not sum(w["missing"] for w in workers.all("missing", ids=ids)):
            break
        time.sleep(0.25)
    return time.monotonic() - started


def dist(values: list[float]) -> str:
    """p50, p95 and max of latencies in seconds, in milliseconds."""
    return (
        f"p50 {ms(pct(values, 0.5))}, p95 {ms(pct(values, 0.95))}, "
        f"max {ms(max(values, default=float('nan')))}"
    )


def summary(args: argparse.Namespace, report: dict[str, Any]) -> bool:
    mib = 1024 * 1024
    join, bc, chat, health = report["join"], report["broadcast"], report["chat"], report["health"]
    leave = report["leave"]
    lines = report["outputs"]
    errors = [line.rstrip() for out in lines for line in out if SERVER_ERROR.search(line)]
    drops = sum(1 for out in lines for line in out if SLOW_DROP in line)
    layer = "Redis pub/sub channel layer" if args.servers > 1 else "in-memory channel layer"
    compression = "no compression" if args.no_deflate else "permessage-deflate"
    print(
        f"{args.servers} x antenne run (PostgreSQL, {layer}, ANTENNE_RUN_WORKER=false); "
        f"{args.attendees} attendees from {args.client_procs} client processes "
        f"(websockets, {compression}) on the same machine; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(
        f"setup (migrate, data)  {report['setup_seconds']:.1f} s; load average (1 min) "
        f"{report['load_start']:.1f} at the start, {report['load_end']:.1f} at the end"
    )
    conns = max(1, join["joined"])
    rate = join["joined"] / max(join["storm"], 1e-9)
    print(
        f"join storm             {join['joined']} of {args.attendees} joined in "
        f"{join['storm']:.2f} s ({rate:.0f} joins/s); "
        f"failures: {dict(join['failures']) or 'none'}"
    )
    print(
        f"  connect+join         {dist(join['latency'])} (handshake p95 "
        f"{ms(pct(join['handshake'], 0.95))}; join sent→reply p50 "
        f"{ms(pct(join['join_only'], 0.5))}, p95 {ms(pct(join['join_only'], 0.95))})"
    )
    print(
        f"  server CPU           {' + '.join(f'{c:.1f}' for c in join['cpu'])} s "
        f"({sum(join['cpu']) * 1000 / conns:.1f} ms per join; client processes "
        f"{join['clients_cpu']:.1f} s); new PostgreSQL connections: {join['pg_sessions']}"
    )
    grown = sum(join["rss_after"]) - sum(join["rss_before"])
    before = " + ".join(f"{b / mib:.0f}" for b in join["rss_before"])
    after = " + ".join(f"{a / mib:.0f}" for a in join["rss_after"])
    print(
        f"memory                 RSS {before} MiB → {after} MiB: "
        f"{grown / conns / 1024:.1f} KiB per connection"
    )
    print(
        f"broadcast: start (API) answered in {ms(bc['api_seconds'])}; 'live' delivered to "
        f"{len(bc['state'])} of {len(bc['state']) + bc['state_missing']}: {dist(bc['state'])}"
    )
    delivered = len(bc["chat"])
    print(
        f"broadcast: {bc['acked']} of {bc['sent']} staff messages, {delivered} of "
        f"{bc['chat_expected']} deliveries: {dist(bc['chat'])}; server CPU {sum(bc['cpu']):.1f} s"
    )
    complete = chat["expected"] - chat["missing"]
    print(
        f"chat                   {chat['acked']} of {chat['planned']} messages acknowledged "
        f"(sent at {chat['rate']:.1f}/s by {args.senders} attendees; errors: "
        f"{dict(chat['errors']) or 'none'}), ack p95 {ms(pct(chat['ack'], 0.95))}"
    )
    print(
        f"  delivered            {complete} of {chat['expected']} "
        f"({100 * complete / max(1, chat['expected']):.2f} %), duplicates "
        f"{health['duplicates']}: {dist(chat['latency'])}"
    )
    rejoined = chat["rejoins"]["results"]
    if args.rejoins and args.client_procs > 1:
        failed = [r["error"] for r in rejoined if "error" in r]
        print(
            f"  resync               {len(rejoined) - len(failed)} of {len(rejoined)} attendees "
            f"rejoined mid-chat with their last (epoch, seq): "
            f"{sum(1 for r in rejoined if r.get('resynced'))} resynced, "
            f"{sum(1 for r in rejoined if r.get('resynced') is False)} fresh snapshots, "
            f"failures {failed or 'none'}; frames received before the join reply: "
            f"{chat['rejoins']['early']}"
        )
    span = args.duration + 1 + chat["drain"]
    print(
        f"  server CPU           {' + '.join(f'{c:.1f}' for c in chat['cpu'])} s in "
        f"{span:.0f} s ({sum(chat['cpu']) / span * 100:.0f} % of one core; client processes "
        f"{chat['clients_cpu']:.1f} s)"
    )
    late = report["late"]
    if args.late:
        print(
            f"late joins             {late['joined']} of {args.late} joined in "
            f"{late['storm']:.2f} s with {chat['acked'] + bc['acked']} chat messages in the room "
            f"(failures: {dict(late['failures']) or 'none'}): {dist(late['latency'])}; "
            f"server CPU {sum(late['cpu']) * 1000 / max(1, late['joined']):.1f} ms per join"
        )
    print(
        f"frames                 {health['frames']} received, sequence gaps {health['gaps']}, "
        f"connections closed by the server {dict(health['closed_early']) or 'none'}, "
        f"slow-client drops logged {drops}"
    )
    print(
        f"leave                  attendance rows {leave['presences']} "
        f"({leave['people']} people), still open {leave['open']}, "
        f"{leave['seconds']:.1f} s to close all; chat rows {leave['chat']}"
    )
    for line in errors[:20]:
        print("server error:", line)
    checks = {
        "every attendee joined": join["joined"] == args.attendees,
        "every late attendee joined": late["joined"] == args.late,
        "'live' delivered to all": not bc["state_missing"],
        "staff messages acknowledged": bc["acked"] == bc["sent"],
        "staff messages delivered to all": delivered == bc["chat_expected"],
        "chat messages acknowledged": chat["acked"] == chat["planned"],
        "chat delivered to all": chat["missing"] == 0,
        "no rejoin failed": not any("error" in r for r in rejoined),
        "no duplicate": health["duplicates"] == 0,
        "no sequence gap": health["gaps"] == 0,
        "no connection closed by a server": not health["closed_early"],
        "every attendance row closed": leave["open"] == 0,
        "no server error": not errors,
    }
    ok = all(checks.values())
    if not ok:
        print("failed checks:         " + "; ".join(k for k, v in checks.items() if not v))
    targets = (
        pct(bc["state"], 0.95) <= 0.5
        and pct(bc["chat"], 0.95) <= 0.5
        and pct(chat["latency"], 0.95) <= 1.5
    )
    print(f"targets (broadcast p95 ≤ 0.5 s, chat p95 ≤ 1.5 s): {'met' if targets else 'MISSED'}")
    print("RESULT                 " + ("OK" if ok else "FAILED"))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=2000)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--duration", type=float, default=20, help="seconds of chat")
    parser.add_argument("--rate", type=float, default=10, help="chat messages per second")
    parser.add_argument("--senders", type=int, default=10, help="attendees who chat")
    parser.add_argument("--broadcasts", type=int, default=5, help="staff messages, 1 a second")
    parser.add_argument(
        "--late", type=int, default=200, help="attendees joining after the chat (full history)"
    )
    parser.add_argument(
        "--rejoins", type=int, default=50, help="attendees who reconnect and resync mid-chat"
    )
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--no-deflate", action="store_true", help="clients offer no compression")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole run")
    args = parser.parse_args()
    admin_url(args.database_url)
    if args.servers > 1:
        import redis

        try:
            redis.Redis.from_url(args.redis_url).ping()
        except redis.RedisError as error:
            raise SystemExit(
                f"--servers {args.servers} needs Redis at {args.redis_url}: {error}"
            ) from None
    limit = raise_open_files(2 * args.attendees + 1024)
    if limit < args.attendees + 256:
        raise SystemExit(f"open files limit {limit}: too low for {args.attendees} connections")

    signal.signal(signal.SIGALRM, on_signal)
    signal.signal(signal.SIGTERM, on_signal)  # stopped by PID: clean up all the same
    signal.alarm(int(args.timeout) + 60)  # the phases use --timeout; this is the backstop
    report: dict[str, Any] = {"load_start": os.getloadavg()[0]}
    try:
        run(args, report)
    except (Timeout, TimeoutError) as error:
        print(f"TIMEOUT (--timeout {args.timeout:.0f} s) {error}; everything started was stopped")
        return 1
    finally:
        signal.alarm(0)
    report["load_end"] = os.getloadavg()[0]
    return 0 if summary(args, report) else 1


if __name__ == "__main__":
    sys.exit(main())
