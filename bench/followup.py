"""A 5,000-recipient follow-up: how long approving it (freezing the recipients) and writing
its outbox take, and how fast `antenne worker` processes deliver it to an SMTP server.

One command: `.venv/bin/python bench/followup.py [--recipients 5000] [--attended 0.6]
[--workers N] [--database-url [URL]] [--pool 0] [--smtp-delay 0] [--timeout 900]`.

It makes its own database: SQLite in a temporary data directory by default, or with
--database-url a PostgreSQL database it creates and drops (default
postgres://postgres@127.0.0.1:5432/antenne_bench_followup; the name must contain "bench").
In this process (Django set up on that database) it migrates, creates a session that ended
two hours ago with --recipients / --attended registrants of whom exactly --recipients joined
the room, and the follow-up to its attendees (the default text, with the replay link set).
On PostgreSQL it times the segment query on the tables just filled, then runs ANALYZE (as
autovacuum would soon do). It times, separately:

1. the first approval (`campaigns.approve`: counts the segment and freezes one
   CampaignRecipient per person), then the second one (above
   ANTENNE_SECOND_APPROVAL_THRESHOLD, 500 by default);
2. writing the outbox: `campaign_sending.run_campaign` as the task runs it, the canary batch
   (ANTENNE_CAMPAIGN_CANARY_SIZE, 10) then, with ANTENNE_CAMPAIGN_CANARY_PAUSE=0, the rest
   in chunks of 500; split into rendering, inserting the rows, enqueuing one delivery task
   per email and marking the recipients queued;
3. sending: --workers `antenne worker` processes (default 1 on SQLite, 2 on PostgreSQL, each
   with a connection pool of --pool if not 0) deliver to an SMTP server (aiosmtpd, a thread
   of this process, on a free loopback port, answering 250 after --smtp-delay seconds):
   messages per second, the created→sent and claimed→sent times from the database, and on
   PostgreSQL the number of connections the workers opened.

It checks that exactly --recipients messages arrived, one envelope recipient each, to
distinct people, none twice, none failed. Bounded by --timeout; it stops the workers by PID
and drops the PostgreSQL database. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from common import drop_database, free_port, recreate_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/antenne_bench_followup"


# --- PostgreSQL database of the run -------------------------------------------------------


# --- The SMTP server ----------------------------------------------------------------------


class Sink:
    """Keeps each accepted message's bytes, envelope recipients and arrival time; parsing
    waits until the run is over so that it does not compete with the workers for the CPU."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.raw: list[tuple[bytes, list[str], float]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.raw.append((envelope.content, list(envelope.rcpt_tos), time.monotonic()))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.raw)


# --- Timing what runs in this process ----------------------------------------------------


class Stopwatch:
    """Cumulative time spent in some functions, by wrapping them (behaviour unchanged)."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        setattr(owner, name, timed)


@contextmanager
def timer(results: dict[str, float], label: str):
    started = time.perf_counter()
    yield
    results[label] = time.perf_counter() - started


def configure(args: argparse.Namespace, data_dir: str, smtp_port: int) -> dict[str, str]:
    """The environment of this process (Django) and of the workers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTENNE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        ANTENNE_DATA_DIR=data_dir,
        ANTENNE_SECRET_KEY=secrets.token_urlsafe(50),
        ANTENNE_EMAIL="smtp",
        ANTENNE_EMAIL_HOST="127.0.0.1",
        ANTENNE_EMAIL_PORT=str(smtp_port),
        ANTENNE_CAMPAIGN_CANARY_PAUSE="0",
        DJANGO_SETTINGS_MODULE="antenne.settings",
    )
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
        env["ANTENNE_DB_POOL_SIZE"] = str(args.pool)
    return env


def build(args: argparse.Namespace, results: dict[str, float], watch: Stopwatch) -> dict:
    """In this process: the data, the approvals and the outbox, each timed."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from antenne.accounts.models import Team, User
    from antenne.core.permissions import Role
    from antenne.events.models import Event, Session
    from antenne.mailing import campaign_sending, campaigns
    from antenne.mailing.models import Campaign, CampaignRecipient
    from antenne.outbox import services
    from antenne.outbox.models import OutgoingEmail
    from antenne.registrations.models import Registration
    from antenne.rooms.models import Presence

    with timer(results, "migrate"):
        call_command("migrate", interactive=False, verbosity=0)

    with timer(results, "registrants"):
        now = timezone.now()
        anim = User.objects.create(email="anim@bench.example", role=Role.ANIMATOR)
        co = User.objects.create(email="co@bench.example", role=Role.ANIMATOR)
        team = Team.objects.create(name="Bench", contact_email="bench@bench.example")
        event = Event.objects.create(title="Budget 2027", team=team, owner=anim, published=True)
        session = Session.objects.create(
            event=event,
            starts_at=now - timedelta(hours=3),
            time_zone="Europe/Paris",
            state=Session.State.ENDED,
            started_at=now - timedelta(hours=3),
            ended_at=now - timedelta(hours=2),
            replay_url="https://video.example/replay/budget-2027",
        )
        session.animators.set([anim, co])
        registrants = math.ceil(args.recipients / args.attended)
        people = Registration.objects.bulk_create(
            [
                Registration(
                    session=session,
                    email=f"person{n:05d}@bench.example",
                    first_name=f"Person{n}",
                    last_name="Bench",
                    language="en" if n % 5 == 0 else "fr",
                    join_key=secrets.token_urlsafe(32),
                )
                for n in range(registrants)
            ],
            batch_size=1000,
        )
        joined = session.starts_at + timedelta(minutes=2)
        came = people[: args.recipients]
        Presence.objects.bulk_create(
            [Presence(session=session, registration=p, joined_at=joined) for p in came]
            # a tenth joined twice (a second device)
            + [
                Presence(session=session, registration=p, joined_at=joined + timedelta(minutes=9))
                for p in came[::10]
            ],
            batch_size=1000,
        )

    campaign = campaigns.create_campaign(
        actor=anim, session=session, audience=Campaign.Audience.ATTENDEES, is_followup=True
    )
    for flag in campaigns.unconfirmed_flags(campaign):
        campaigns.confirm_flag(actor=anim, campaign=campaign, flag_id=flag.id)

    from django.db import connection

    if connection.vendor == "postgresql":
        # The segment query as the approval runs it, on tables just filled (planner
        # statistics still empty), then ANALYZE, as autovacuum does within a minute or so.
        segment = campaigns.segment_queryset(session, campaign.audience).order_by("pk")
        with timer(results, "segment_cold"):
            list(segment.values_list("pk", "email"))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    with timer(results, "approve_first"):
        campaign = campaigns.approve(actor=anim, campaign=campaign, expected_count=args.recipients)
    first_state = campaign.state
    if campaign.state == Campaign.State.AWAITING_SECOND_APPROVAL:
        with timer(results, "approve_second"):
            campaign = campaigns.approve(
                actor=co, campaign=campaign, expected_count=args.recipients
            )
    frozen = CampaignRecipient.objects.filter(campaign=campaign).count()

    # Writing the outbox, as the approval's task would (the task, queued by the approval,
    # finds the campaign sent when a worker reaches it, and does nothing).
    watch.wrap(campaigns, "render_for", "render")
    watch.wrap(services, "_enqueue_many", "enqueue")
    watch.wrap(OutgoingEmail.objects, "bulk_create", "insert")
    watch.wrap(CampaignRecipient.objects, "bulk_update", "mark")
    with timer(results, "outbox_canary"):
        state_after_canary = campaign_sending.run_campaign(campaign_id=campaign.pk)
    with timer(results, "outbox_rest"):
        final_state = campaign_sending.run_campaign(campaign_id=campaign.pk)
    results["outbox"] = results["outbox_canary"] + results["outbox_rest"]

    from django_tasks_db.models import DBTaskResult

    return {
        "campaign": campaign.pk,
        "registrants": registrants,
        "frozen": frozen,
        "first_state": str(first_state),
        "states": f"{state_after_canary} → {final_state}",
        "rows": OutgoingEmail.objects.filter(campaign=campaign).count(),
        "tasks": DBTaskResult.objects.filter(task_path="antenne.outbox.services.deliver").count(),
        "vendor": connection.vendor,
    }


def start_workers(env: dict[str, str], count: int, log_dir: str) -> list[subprocess.Popen[bytes]]:
    """`antenne worker` processes; their output (a line per task) goes to files."""
    workers = []
    for n in range(count):
        with open(os.path.join(log_dir, f"worker-{n}.log"), "wb") as log:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "antenne", "worker"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]], log_dir: str) -> list[str]:
    """SIGTERM each by PID (a worker finishes its current task), then SIGKILL if needed;
    returns the lines of their output that report a problem."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    problems = []
    for n in range(len(workers)):
        with open(os.path.join(log_dir, f"worker-{n}.log"), errors="replace") as log:
            problems += [
                line.rstrip()
                for line in log
                if "Error" in line or "Traceback" in line or "FAILED" in line
            ]
    return problems


def pg_sessions() -> int:
    """Connections opened to this PostgreSQL database so far (PostgreSQL 14+)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def delivery_figures(campaign_id: int) -> dict:
    from antenne.outbox.models import OutgoingEmail

    rows = OutgoingEmail.objects.filter(campaign_id=campaign_id)
    states = Counter(rows.values_list("state", flat=True))
    times = list(rows.filter(state="sent").values_list("created_at", "claimed_at", "sent_at"))
    waited = sorted((sent - created).total_seconds() for created, _claimed, sent in times)
    sending = sorted((sent - claimed).total_seconds() for _created, claimed, sent in times)
    return {"states": states, "waited": waited, "sending": sending}


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def check_messages(raw: list[tuple[bytes, list[str], float]]) -> dict:
    parsed: list[tuple[EmailMessage, list[str]]] = [
        (message_from_bytes(content, policy=policy.default), rcpt) for content, rcpt, _at in raw
    ]
    to = Counter(str(message["To"]) for message, _rcpt in parsed)
    return {
        "one_recipient": sum(len(rcpt) == 1 for _m, rcpt in parsed),
        "matching": sum(rcpt == [str(m["To"])] for m, rcpt in parsed),
        "distinct": len(to),
        "duplicates": sum(to.values()) - len(to),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument(
        "--attended", type=float, default=0.6, help="share of the registrants who came"
    )
    parser.add_argument("--workers", type=int, help="antenne worker processes (1 SQLite, 2 PG)")
    parser.add_argument(
        "--database-url",
        nargs="?",
        const=DEFAULT_URL,
        help=f"a PostgreSQL database to create and drop (alone: {DEFAULT_URL})",
    )
    parser.add_argument(
        "--pool", type=int, default=0, help="ANTENNE_DB_POOL_SIZE (PostgreSQL; 0: none)"
    )
    parser.add_argument("--smtp-delay", type=float, default=0.0, help="seconds before each 250")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the whole run")
    args = parser.parse_args()
    if not 0 < args.attended <= 1:
        parser.error("--attended is a share: 0 < x <= 1")
    workers_count = args.workers or (2 if args.database_url else 1)
    deadline = time.monotonic() + args.timeout

    sink = Sink(args.smtp_delay)
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    results: dict[str, float] = {}
    watch = Stopwatch()
    workers: list[subprocess.Popen[bytes]] = []
    worker_errors: list[str] = []
    if args.database_url:
        recreate_database(args.database_url)
    controller.start()
    try:
        with tempfile.TemporaryDirectory(prefix="antenne-bench-") as data_dir:
            env = configure(args, data_dir, smtp_port)
            for name in set(os.environ) - set(env):
                del os.environ[name]
            os.environ.update(env)
            built = build(args, results, watch)

            from django.db import connections

            sessions_before = pg_sessions() if args.database_url else 0
            connections.close_all()
            started = time.monotonic()
            workers = start_workers(env, workers_count, data_dir)
            while sink.count() < args.recipients and time.monotonic() < deadline:
                if any(w.poll() is not None for w in workers):
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # let the last rows be marked sent (and any duplicate arrive)
            worker_errors = stop_workers(workers, data_dir)
            with sink.lock:
                raw = list(sink.raw)
            figures = delivery_figures(built["campaign"])
            if args.database_url:
                time.sleep(1)  # PostgreSQL counts a session when it ends
                figures["sessions"] = pg_sessions() - sessions_before
            connections.close_all()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        controller.stop()
        if args.database_url:
            drop_database(args.database_url)

    checks = check_messages(raw)
    arrivals = [at for _content, _rcpt, at in raw]
    n = args.recipients
    print(
        f"follow-up to {n:,} attendees of {built['registrants']:,} registrants; "
        f"{built['vendor']}; {workers_count} x antenne worker"
        f"{f' (pool {args.pool})' if args.pool else ''}; SMTP sink in this process "
        f"(250 after {args.smtp_delay * 1000:.0f} ms); {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(
        f"set-up              migrate {results['migrate']:.1f} s, registrants and attendance "
        f"{results['registrants']:.1f} s"
    )
    if "segment_cold" in results:
        print(
            f"segment query       {results['segment_cold'] * 1000:.0f} ms on tables just filled "
            "(no planner statistics yet); ANALYZE, then:"
        )
    second = results.get("approve_second")
    print(
        f"approval            first (freezes {built['frozen']:,} recipients) "
        f"{results['approve_first'] * 1000:.0f} ms → {built['first_state']}"
        + (f"; second {second * 1000:.0f} ms" if second is not None else "")
    )
    print(
        f"outbox              {built['rows']:,} rows, {built['tasks']:,} delivery tasks in "
        f"{results['outbox']:.2f} s ({built['rows'] / results['outbox']:.0f} emails/s; canary "
        f"{results['outbox_canary'] * 1000:.0f} ms, rest {results['outbox_rest']:.2f} s; "
        f"{built['states']})"
    )
    print(
        "  of which          "
        + ", ".join(
            f"{label} {watch.seconds[label]:.2f} s ({watch.calls[label]:,} calls)"
            for label in ("render", "insert", "enqueue", "mark")
        )
    )
    if arrivals:
        span = arrivals[-1] - arrivals[0]
        total = arrivals[-1] - started
        print(
            f"sending             {len(raw):,} messages in {total:.1f} s from the workers' start "
            f"({len(raw) / total:.0f}/s); {len(raw) / span if span else 0:.0f}/s from the first "
            f"to the last message ({span:.1f} s); first after {arrivals[0] - started:.1f} s"
        )
    waited, sending = figures["waited"], figures["sending"]
    if waited:
        print(
            f"created→sent        p50 {statistics.median(waited):.1f} s, "
            f"p95 {percentile(waited, 0.95):.1f} s, max {waited[-1]:.1f} s (all rows written "
            "before the workers start: this is the queue's length)"
        )
        print(
            f"claimed→sent        p50 {statistics.median(sending) * 1000:.0f} ms, "
            f"p95 {percentile(sending, 0.95) * 1000:.0f} ms (one SMTP exchange and its commit)"
        )
    states = figures["states"]
    print(f"outbox states       {dict(states)}")
    if "sessions" in figures:
        print(
            f"PostgreSQL          {figures['sessions']:,} connections opened while sending "
            f"({figures['sessions'] / max(len(raw), 1):.1f} per message)"
        )
    print(
        f"received            {len(raw):,}; one envelope recipient: {checks['one_recipient']:,}; "
        f"envelope = To: {checks['matching']:,}; distinct people: {checks['distinct']:,}; "
        f"duplicates: {checks['duplicates']}"
    )
    ok = (
        built["frozen"] == n
        and built["rows"] == n
        and len(raw) == n
        and checks["one_recipient"] == n
        and checks["matching"] == n
        and checks["distinct"] == n
        and checks["duplicates"] == 0
        and states.get("sent", 0) == n
        and states.get("failed", 0) == 0
    )
    if not ok:
        for line in worker_errors[:20]:
            print("worker:", line)
    print("RESULT              " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
