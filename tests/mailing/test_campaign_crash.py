"""A follow-up to 200 attendees sent by real `antenne worker` processes to a real SMTP server
(aiosmtpd on loopback), the workers killed with SIGKILL in the middle of the campaign and
started again: nobody loses their message, each gets their own, and duplicates stay within
the documented at-least-once window (docs/email.md, "Crashes": at most one per killed
worker), counted and reported."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import ANTENNE, antenne_env, free_port, links_in

TOTAL = 200
CANARY = 5

# Run by `antenne manage shell` on the test's own file database: a session that ended two
# hours ago, TOTAL confirmed registrants who all joined its room, and the follow-up to its
# attendees approved, its text naming each person and giving their own join link.
SETUP = """
import secrets
from datetime import timedelta
from django.utils import timezone
from antenne.accounts.models import Team, User
from antenne.core.permissions import Role
from antenne.events.models import Event, Session
from antenne.mailing import campaigns
from antenne.mailing.models import Campaign
from antenne.registrations.models import Registration
from antenne.rooms.models import Presence

now = timezone.now()
animator = User.objects.create(email="anim@service.example", role=Role.ANIMATOR)
team = Team.objects.create(name="Crash", contact_email="crash@service.example")
event = Event.objects.create(title="Budget 2027", team=team, owner=animator, published=True)
session = Session.objects.create(
    event=event, starts_at=now - timedelta(hours=3), time_zone="Europe/Paris",
    state=Session.State.ENDED, started_at=now - timedelta(hours=3),
    ended_at=now - timedelta(hours=2), replay_url="https://video.example/replay",
)
session.animators.add(animator)
people = Registration.objects.bulk_create(
    Registration(
        session=session, email=f"r{i:03d}@public.example", first_name=f"P{i:03d}",
        last_name="Crash", join_key=secrets.token_urlsafe(32),
    )
    for i in range(TOTAL)
)
Presence.objects.bulk_create(
    Presence(session=session, registration=p, joined_at=session.starts_at) for p in people
)
campaign = campaigns.create_campaign(
    actor=animator, session=session, audience=Campaign.Audience.ATTENDEES, is_followup=True
)
part = {
    "subject": "Merci, {first_name}",
    "body": "Bonjour {first_name},\\n\\nLe replay : {replay_url}\\nVotre lien : {join_url}",
}
campaigns.update_content(actor=animator, campaign=campaign, content={"fr": part, "en": part})
campaign.refresh_from_db()
assert campaigns.unconfirmed_flags(campaign) == []
campaign = campaigns.approve(actor=animator, campaign=campaign, expected_count=TOTAL)
print("APPROVED", campaign.state)
"""

# What every worker's sweeper does once a row has been stuck for 5 minutes.
SWEEP_LATER = (
    "from datetime import timedelta\n"
    "from antenne.outbox.services import requeue_stuck\n"
    "print('REQUEUED', requeue_stuck(older_than=timedelta(0)))\n"
)


@dataclass
class StallingSmtp:
    """aiosmtpd handler that keeps every message it accepts (with its envelope recipients).
    Once `stall_after` messages were accepted, it holds its answer to the next QUIT: the
    client's message is accepted (250 to DATA) and the client is still in the SMTP exchange.
    Antenne records the row `sent` before QUIT, so a crash here must not cause a resend
    (it did when the row was saved after QUIT)."""

    port: int = 0
    delay: float = 0.02
    stall_after: int | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        with self.lock:
            stall = (
                self.stall_after is not None
                and len(self.messages) >= self.stall_after
                and not self.held.is_set()
            )
            if stall:
                self.held.set()
        deadline = time.monotonic() + 15
        while stall and not self.release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return "221 Bye"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


def _query(db_path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path, timeout=20)) as db:
        return db.execute(sql).fetchall()


def _one(db_path, sql: str):
    return _query(db_path, sql)[0][0]


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


class Workers:
    """`antenne worker` processes on the test's data dir, stopped by PID at the end."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        worker = subprocess.Popen(
            [*ANTENNE, "worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait(10)


OUTBOX = "SELECT count(*) FROM mailing_outgoingemail WHERE campaign_id IS NOT NULL"
DELIVERY_TASKS = (
    "SELECT count(*) FROM django_tasks_database_dbtaskresult "
    "WHERE task_path = 'antenne.outbox.services.deliver'"
)
READY_TASKS = "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'READY'"
CAMPAIGN_STATE = "SELECT state FROM mailing_campaign"
SENT = "SELECT count(*) FROM mailing_outgoingemail WHERE state = 'sent'"
SENDING = "SELECT count(*) FROM mailing_outgoingemail WHERE state = 'sending'"


@pytest.fixture
def smtp():
    handler = StallingSmtp()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        handler.release.set()
        controller.stop()
        asyncio.set_event_loop(None)


def prepare(tmp_path, smtp: StallingSmtp, *, total: int, canary: int, pause: int) -> dict:
    """A data dir with the approved follow-up to `total` attendees; the workers' environment."""
    env = antenne_env(
        tmp_path,
        ANTENNE_EMAIL="smtp",
        ANTENNE_EMAIL_HOST="127.0.0.1",
        ANTENNE_EMAIL_PORT=str(smtp.port),
        ANTENNE_WORKER_INTERVAL="1",
        ANTENNE_CAMPAIGN_CANARY_SIZE=str(canary),
        ANTENNE_CAMPAIGN_CANARY_PAUSE=str(pause),
    )
    subprocess.run([*ANTENNE, "manage", "migrate"], env=env, capture_output=True, check=True)
    setup = subprocess.run(
        [*ANTENNE, "manage", "shell", "-c", SETUP.replace("TOTAL", str(total))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "APPROVED scheduled" in setup.stdout, setup.stdout + setup.stderr
    return env


def sweep_later(env: dict) -> str:
    """What every worker's sweeper does once a row has been stuck for 5 minutes: how many
    rows it re-queued."""
    sweep = subprocess.run(
        [*ANTENNE, "manage", "shell", "-c", SWEEP_LATER],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return sweep.stdout.split("REQUEUED")[-1].strip()


def kill(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)


def test_killing_workers_mid_campaign_loses_no_followup_and_bounds_duplicates(tmp_path, smtp):
    env = prepare(tmp_path, smtp, total=TOTAL, canary=CANARY, pause=2)
    db = tmp_path / "antenne.sqlite3"
    workers = Workers(env)
    kills: list[str] = []
    try:
        # Kill 1: the canary batch went, the pause is over, the rest of the outbox is written
        # and its delivery tasks are being enqueued (those not enqueued yet wait for the sweep).
        first = workers.start()
        assert _wait_until(
            lambda: (
                smtp.count()
                and _one(db, OUTBOX) > CANARY
                and _one(db, DELIVERY_TASKS) >= CANARY + 20
            ),
            30,
        )
        kill(first)
        kills.append(
            f"1: outbox written, {_one(db, DELIVERY_TASKS)} of {TOTAL} delivery tasks enqueued, "
            f"{smtp.count()} delivered"
        )
        assert 0 < smtp.count() < TOTAL

        # Kill 2: ten messages later, while the worker waits for the server's answer to QUIT
        # after a message was accepted (the row is already recorded sent).
        smtp.stall_after = smtp.count() + 10
        second = workers.start()
        assert smtp.held.wait(30), f"no stall after {smtp.count()} messages"
        kill(second)
        smtp.release.set()
        kills.append(f"2: during QUIT after an accepted message, {smtp.count()} delivered")
        assert smtp.count() < TOTAL

        # A worker runs until it has nothing left to do and stops cleanly; then the sweep
        # finds what the kills left behind, and another worker sends it.
        third = workers.start()
        assert _wait_until(
            lambda: _one(db, CAMPAIGN_STATE) == "sent" and _one(db, READY_TASKS) == 0, 40
        ), (_one(db, CAMPAIGN_STATE), _one(db, READY_TASKS))
        third.send_signal(signal.SIGTERM)
        third.wait(30)
        left_sending = _one(db, SENDING)
        requeued = sweep_later(env)
        workers.start()
        _wait_until(lambda: _one(db, SENT) >= TOTAL, 40)
    finally:
        workers.stop_all()

    with smtp.lock:
        messages = list(smtp.messages)
        envelopes = list(smtp.envelopes)
    received = Counter(str(m["To"]) for m in messages)
    duplicates = sum(received.values()) - len(received)
    message_ids: dict[str, set[str]] = defaultdict(set)
    for message in messages:
        message_ids[str(message["To"])].add(str(message["Message-ID"]))
    new_ids = sum(len(ids) > 1 for ids in message_ids.values())
    report = (
        f"kills: [{'; '.join(kills)}]; {left_sending} row(s) left in 'sending', "
        f"{requeued} row(s) re-queued by the sweep; {duplicates} duplicate(s) received "
        f"({new_ids} of them with a new Message-ID)"
    )
    print("\n" + report)

    addresses = {f"r{i:03d}@public.example" for i in range(TOTAL)}
    assert set(received) == addresses, (sorted(addresses - set(received)), report)
    assert duplicates <= len(kills), report  # at most the message in flight at each kill
    # A resend carries the Message-ID of the first attempt: mail systems can tell it apart.
    assert new_ids == 0, report

    # Each message went to one envelope recipient, the person it names, with their own join
    # link and nobody else's.
    join_keys = dict(_query(db, "SELECT email, join_key FROM registrations_registration"))
    for message, envelope in zip(messages, envelopes, strict=True):
        to = str(message["To"])
        assert envelope == [to]
        text = message.get_body(preferencelist=("plain",)).get_content()
        join_links = [url for url in links_in(text) if "/join/" in url]
        assert len(join_links) == 1, (to, join_links)
        assert join_links[0].endswith(f"/join/{join_keys[to]}/"), (to, join_links)
        assert text.startswith(f"Bonjour P{to[1:4]},")

    # One outbox row per person (re-running a step wrote nothing twice), all sent; every
    # frozen recipient queued; the campaign finished once.
    rows = _query(db, 'SELECT "to", state FROM mailing_outgoingemail WHERE campaign_id IS NOT NULL')
    assert Counter(state for _to, state in rows) == {"sent": TOTAL}, report
    assert {to for to, _state in rows} == addresses
    assert _query(db, "SELECT state, count(*) FROM mailing_campaignrecipient GROUP BY state") == [
        ("queued", TOTAL)
    ]
    assert _one(db, CAMPAIGN_STATE) == "sent"
    finished = "SELECT count(*) FROM core_auditentry WHERE action = 'mailing.campaign.sent'"
    assert _one(db, finished) == 1
