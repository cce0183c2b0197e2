"""Concurrent registrations against one session of limited capacity, on PostgreSQL, through
several `antenne run` processes: does the capacity hold, are duplicates refused, and how
fast does it go?

One command: `.venv/bin/python bench/registrations.py [--attempts 2000] [--capacity 500]
[--servers 2] [--clients 16] [--duplicates 0.1] [--timeout 300]`.

It creates its own PostgreSQL database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/antenne_bench; the name must contain "bench"), migrates
it, creates an admin, an API token, a team, then through the API a webinar and a session of
--capacity seats. It starts --servers `antenne run` processes on free loopback ports against
that database (ANTENNE_RUN_WORKER=false, one shared ANTENNE_SECRET_KEY) and fires --attempts
`POST /api/v1/sessions/{id}/registrations` from --clients keep-alive HTTP clients spread
over the servers: distinct emails, plus a fraction (--duplicates) repeating an earlier one
with other case and spacing. Bounded by --timeout; it then stops the servers by PID, counts
in the database and drops the database. Exit status 1 when the capacity was exceeded, an
email is registered twice or a request answered 5xx.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
from common import (
    antenne,
    drop_database,
    free_port,
    recreate_database,
    start_server,
    wait_ready,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/antenne_bench"
ADMIN = "bench-admin@example.org"

SETUP = """
from antenne.accounts import services
from antenne.accounts.models import Team
services.create_admin(email={admin!r}, full_name="Bench Admin")
from antenne.accounts.models import User
admin = User.objects.get(email={admin!r})
team = Team.objects.create(name="Bench", contact_email="bench@example.org")
_token, raw = services.create_api_token(actor=None, user=admin, name="bench")
print("SETUP", raw, team.pk)
"""


def antenne_env(url: str, data_dir: str, pool: int = 0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTENNE_", "DJANGO_"))}
    env.update(
        DATABASE_URL=url,
        ANTENNE_DATA_DIR=data_dir,
        ANTENNE_SECRET_KEY=secrets.token_urlsafe(50),
        ANTENNE_RUN_WORKER="false",
        ANTENNE_DB_POOL_SIZE=str(pool),
    )
    return env


def call(port: int, token: str, method: str, path: str, body: dict) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        method,
        f"/api/v1{path}",
        body=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    data = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, data


def plan(attempts: int, duplicates: float, seed: int) -> list[str]:
    """`attempts` emails: new ones, and about `duplicates` of them repeating an earlier one
    (other case and spacing: the service must see it is the same person)."""
    rng = random.Random(seed)
    emails: list[str] = []
    distinct: list[str] = []
    for n in range(attempts):
        if distinct and rng.random() < duplicates:
            emails.append(f"  {rng.choice(distinct).upper()} ")
        else:
            distinct.append(f"person{n}@bench.example")
            emails.append(distinct[-1])
    return emails


def fire(
    ports: list[int], token: str, session_id: int, emails: list[str], clients: int, deadline: float
) -> dict:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    failures: list[str] = []
    ids_201: list[int] = []
    lock = threading.Lock()
    next_index = iter(range(len(emails)))
    path = f"/api/v1/sessions/{session_id}/registrations"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            body = json.dumps(
                {"email": emails[index], "first_name": "Bench", "last_name": f"Person {index}"}
            )
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    failures.append(f"{type(error).__name__}: {error}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                statuses[response.status] += 1
                latencies.append(elapsed)
                if response.status == 201:
                    ids_201.append(json.loads(payload)["id"])
                elif response.status >= 500 or response.status not in (200, 409):
                    failures.append(f"{response.status}: {payload[:200]!r}")
        conn.close()

    threads = [
        threading.Thread(target=client, args=(ports[n % len(ports)],)) for n in range(clients)
    ]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {
        "statuses": statuses,
        "latencies": sorted(latencies),
        "failures": failures,
        "ids_201": ids_201,
        "elapsed": elapsed,
    }


def count_in_database(url: str, session_id: int) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        by_status = dict(
            conn.execute(
                "SELECT status, count(*) FROM registrations_registration "
                "WHERE session_id = %s GROUP BY status",
                [session_id],
            ).fetchall()
        )
        duplicates = conn.execute(
            "SELECT count(*) FROM (SELECT lower(trim(email)) FROM registrations_registration "
            "WHERE session_id = %s GROUP BY 1 HAVING count(*) > 1) d",
            [session_id],
        ).fetchone()
        emails = conn.execute(
            "SELECT count(*) FROM mailing_outgoingemail WHERE kind = 'registration_confirmation'"
        ).fetchone()
    return {
        "confirmed": int(by_status.get("confirmed", 0)),
        "total": sum(int(v) for v in by_status.values()),
        "duplicates": int(duplicates[0]) if duplicates else -1,
        "emails": int(emails[0]) if emails else -1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--capacity", type=int, default=500)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duplicates", type=float, default=0.1, help="fraction of repeats")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the whole run")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--pool", type=int, default=0, help="ANTENNE_DB_POOL_SIZE of each server (0: none)"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    hard_deadline = time.monotonic() + args.timeout

    servers: list[subprocess.Popen[str]] = []
    outputs: list[list[str]] = []
    recreate_database(url)
    try:
        with tempfile.TemporaryDirectory(prefix="antenne-bench-") as data_dir:
            env = antenne_env(url, data_dir, args.pool)
            antenne(env, "manage", "migrate", "--verbosity", "0")
            setup = antenne(env, "manage", "shell", "-c", SETUP.format(admin=ADMIN))
            [line] = [line for line in setup.splitlines() if line.startswith("SETUP ")]
            _, token, team_id = line.split()

            ports = [free_port() for _ in range(args.servers)]
            servers = [start_server(env, port) for port in ports]
            outputs = [wait_ready(server, hard_deadline) for server in servers]

            status, event = call(
                ports[0],
                token,
                "POST",
                "/events",
                {"title": "Bench", "team_id": int(team_id), "published": True},
            )
            assert status == 201, (status, event)
            starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
            status, session = call(
                ports[0],
                token,
                "POST",
                f"/events/{event['id']}/sessions",
                {"starts_at": starts.isoformat(), "capacity": args.capacity},
            )
            assert status == 201, (status, session)

            emails = plan(args.attempts, args.duplicates, args.seed)
            distinct = len({e.strip().lower() for e in emails})
            result = fire(ports, token, session["id"], emails, args.clients, hard_deadline)
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(30)
            counts = count_in_database(url, session["id"])
    finally:
        for server in servers:
            if server.poll() is None:
                server.kill()
                server.wait(10)
        drop_database(url)

    statuses: Counter[int] = result["statuses"]
    latencies: list[float] = result["latencies"]
    done = sum(statuses.values())
    five_xx = sum(n for code, n in statuses.items() if code >= 500)
    print(
        f"{args.servers} x antenne run (PostgreSQL, ANTENNE_RUN_WORKER=false), {args.clients} "
        f"keep-alive clients in this process; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(f"attempts            {done} of {args.attempts} ({distinct} distinct emails)")
    print(f"answers             201: {statuses[201]}  200: {statuses[200]}  409: {statuses[409]}")
    others = {code: n for code, n in statuses.items() if code not in (200, 201, 409)}
    print(f"other answers       {others or 'none'}; connection errors: {len(result['failures'])}")
    print(f"confirmed in DB     {counts['confirmed']} (capacity {args.capacity})")
    print(f"registrations in DB {counts['total']}; 201 ids distinct: {len(set(result['ids_201']))}")
    print(f"duplicate emails    {counts['duplicates']}")
    print(f"confirmation emails {counts['emails']} queued")
    print(f"HTTP 5xx            {five_xx}")
    if latencies:
        print(
            f"throughput          {done / result['elapsed']:.0f} attempts/s, "
            f"{statuses[201] / result['elapsed']:.0f} registrations/s "
            f"over {result['elapsed']:.1f} s"
        )
        print(
            f"latency             p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
    for failure in result["failures"][:10]:
        print("failure:", failure)
    if five_xx:
        tracebacks = [line for out in outputs for line in out if "Error" in line]
        print("server errors:", "".join(tracebacks[-20:]))
    ok = (
        counts["confirmed"] == min(args.capacity, distinct)
        and counts["duplicates"] == 0
        and five_xx == 0
        and not result["failures"]
        and done == args.attempts
    )
    print("RESULT              " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
