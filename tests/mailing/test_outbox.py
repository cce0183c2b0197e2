"""The outbox against a real SMTP server on loopback whose answers the tests choose:
temporary failures retry, permanent ones fail and suppress, a crashed worker loses nothing."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone

from antenne.core import actions
from antenne.core.models import AuditEntry
from antenne.outbox import kinds, services
from antenne.outbox.models import OutgoingEmail, Suppression
from tests.helpers import ANTENNE, antenne_env, drain_tasks, free_port

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class ScriptedSmtp:
    """aiosmtpd handler: answers 421 to the first `busy` DATA commands, 550 to RCPT for the
    addresses in `refused`, and keeps every message it accepts."""

    busy: int = 0
    refused: set[str] = field(default_factory=set)
    delay: float = 0.0
    data_commands: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_commands += 1
            if self.data_commands <= self.busy:
                return "421 4.3.2 Try again later"
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def recipients(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["To"]) for m in self.messages)


class SmtpPeer:
    def __init__(self, handler: ScriptedSmtp, port: int | None = None) -> None:
        self.handler = handler
        self.port = port or free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
        asyncio.set_event_loop(None)


@pytest.fixture
def smtp_peer(settings):
    """A scripted SMTP server; retries are due at once (base delay 0) so `drain_tasks()`
    runs them, as the worker would once the backoff has passed."""
    peer = SmtpPeer(ScriptedSmtp())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = peer.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_RETRY_SECONDS = 0
    peer.start()
    try:
        yield peer
    finally:
        if peer.controller._thread is not None:
            peer.stop()


def queue(to: str, kind: str = "login_link", **extra) -> OutgoingEmail:
    with transaction.atomic():
        return services.queue_email(
            to=to,
            kind=kind,
            template="login_link",
            context={"user": {"email": to}, "login_url": f"https://x.example/{to}", "minutes": 9},
            **extra,
        )


def test_421_for_a_while_then_recovery_delivers_exactly_once(smtp_peer):
    smtp_peer.handler.busy = 3
    email = queue("patient@example.org")

    drain_tasks()

    email.refresh_from_db()
    assert email.state == OutgoingEmail.State.SENT
    assert email.attempts == 4
    assert smtp_peer.handler.data_commands == 4
    assert smtp_peer.handler.recipients() == Counter({"patient@example.org": 1})
    (message,) = smtp_peer.handler.messages
    assert message["Message-ID"] == email.message_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None
    retries = AuditEntry.objects.filter(action=actions.EMAIL_RETRY_SCHEDULED)
    assert retries.count() == 3
    assert "421" in retries.first().data["error"]


def test_a_temporary_failure_waits_for_its_backoff_then_gives_up(smtp_peer, settings):
    settings.EMAIL_RETRY_SECONDS = 30
    settings.EMAIL_MAX_ATTEMPTS = 2
    smtp_peer.handler.busy = 100
    email = queue("late@example.org")
    before = timezone.now()

    drain_tasks()  # one attempt; the retry waits ~30 s

    email.refresh_from_db()
    assert (email.state, email.attempts) == (OutgoingEmail.State.PENDING, 1)
    assert "421" in email.last_error
    delay = (email.next_attempt_at - before).total_seconds()
    assert 30 * 0.8 - 1 <= delay <= 30 * 1.2 + 1
    assert services.retry_delay(20) <= timedelta(hours=1, minutes=12)

    # Time passes: the retry task and the row become due.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    OutgoingEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    drain_tasks()

    email.refresh_from_db()
    assert (email.state, email.attempts) == (OutgoingEmail.State.FAILED, 2)
    assert not Suppression.objects.exists()  # a busy relay says nothing about the address
    assert smtp_peer.handler.messages == []


def test_550_for_one_recipient_fails_and_suppresses_it_while_the_others_go(smtp_peer):
    smtp_peer.handler.refused = {"gone@example.org"}
    addresses = ["a@example.org", "b@example.org", "gone@example.org", "c@example.org"]
    addresses.append("d@example.org")
    rows = {address: queue(address) for address in addresses}

    drain_tasks()

    states = {a: OutgoingEmail.objects.get(pk=r.pk).state for a, r in rows.items()}
    assert states.pop("gone@example.org") == OutgoingEmail.State.FAILED
    assert set(states.values()) == {OutgoingEmail.State.SENT}
    assert smtp_peer.handler.recipients() == Counter(dict.fromkeys(states, 1))
    suppression = Suppression.objects.get()
    assert suppression.address == "gone@example.org"
    assert "550" in suppression.reason
    assert OutgoingEmail.objects.get(pk=rows["gone@example.org"].pk).attempts == 1

    later = queue("Gone@Example.org")
    drain_tasks()

    later.refresh_from_db()
    assert later.state == OutgoingEmail.State.WITHHELD
    assert later.last_error == "suppressed"
    assert later.attempts == 0
    assert "Gone@Example.org" not in smtp_peer.handler.recipients()
    assert AuditEntry.objects.filter(action=actions.EMAIL_WITHHELD).count() == 1


def test_connection_refused_then_server_started_delivers(smtp_peer):
    smtp_peer.stop()
    email = queue("offline@example.org")

    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["default"],
        interval=0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=1,
        worker_id="one-task",
        excluded_queue_names=[],
    ).run()
    email.refresh_from_db()
    assert (email.state, email.attempts) == (OutgoingEmail.State.PENDING, 1)
    assert "ConnectionRefusedError" in email.last_error

    restarted = SmtpPeer(smtp_peer.handler, port=smtp_peer.port)
    restarted.start()
    try:
        drain_tasks()
    finally:
        restarted.stop()

    email.refresh_from_db()
    assert email.state == OutgoingEmail.State.SENT
    assert smtp_peer.handler.recipients() == Counter({"offline@example.org": 1})


def test_a_row_left_sending_by_a_crashed_worker_is_requeued_and_delivered_once(smtp_peer):
    email = queue("stuck@example.org")
    # The worker took the task and claimed the row, then died before sending.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(status="RUNNING")
    OutgoingEmail.objects.filter(pk=email.pk).update(
        state=OutgoingEmail.State.SENDING, claimed_at=timezone.now() - timedelta(minutes=10)
    )
    fresh = queue("fresh@example.org")
    OutgoingEmail.objects.filter(pk=fresh.pk).update(
        state=OutgoingEmail.State.SENDING, claimed_at=timezone.now()
    )

    assert services.requeue_stuck(older_than=timedelta(minutes=5)) == 1
    assert services.requeue_stuck(older_than=timedelta(minutes=5)) == 0  # already queued
    drain_tasks()

    email.refresh_from_db()
    assert email.state == OutgoingEmail.State.SENT
    assert smtp_peer.handler.recipients() == Counter({"stuck@example.org": 1})
    fresh.refresh_from_db()
    assert fresh.state == OutgoingEmail.State.SENDING  # a live worker may still be on it


def test_a_pending_row_whose_task_died_is_requeued(smtp_peer):
    email = queue("orphan@example.org")
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(status="RUNNING")  # taken, then the worker was killed
    OutgoingEmail.objects.filter(pk=email.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )

    assert services.requeue_stuck(older_than=timedelta(minutes=5)) == 1
    drain_tasks()

    assert smtp_peer.handler.recipients() == Counter({"orphan@example.org": 1})


def test_reminder_kinds_carry_one_click_unsubscribe(smtp_peer, monkeypatch):
    monkeypatch.setattr(kinds, "LIST_UNSUBSCRIBE_KINDS", frozenset({"reminder"}))
    monkeypatch.setattr(services, "LIST_UNSUBSCRIBE_KINDS", kinds.LIST_UNSUBSCRIBE_KINDS)
    with pytest.raises(ValueError, match="unsubscribe_url"):
        queue("r@example.org", kind="reminder")
    queue("r@example.org", kind="reminder", unsubscribe_url="https://x.example/u/tok")
    queue("c@example.org", kind="login_link")

    drain_tasks()

    (reminder,) = [m for m in smtp_peer.handler.messages if m["To"] == "r@example.org"]
    assert reminder["List-Unsubscribe"] == "<https://x.example/u/tok>"
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (other,) = [m for m in smtp_peer.handler.messages if m["To"] == "c@example.org"]
    assert other["List-Unsubscribe"] is None


def _count(db_path, sql: str) -> int:
    with sqlite3.connect(db_path, timeout=20) as db:
        return int(db.execute(sql).fetchone()[0])


def test_killing_the_worker_mid_way_loses_no_email(tmp_path):
    handler = ScriptedSmtp(delay=0.02)
    peer = SmtpPeer(handler)
    peer.start()
    env = antenne_env(
        tmp_path,
        ANTENNE_EMAIL="smtp",
        ANTENNE_EMAIL_HOST="127.0.0.1",
        ANTENNE_EMAIL_PORT=str(peer.port),
        ANTENNE_WORKER_INTERVAL="1",
    )
    total = 200
    addresses = [f"r{i:03d}@example.org" for i in range(total)]
    script = (
        "from django.db import transaction\n"
        "from antenne.outbox.services import queue_email\n"
        "with transaction.atomic():\n"
        f"    for i in range({total}):\n"
        "        to = f'r{i:03d}@example.org'\n"
        "        queue_email(to=to, kind='login_link', template='login_link', context={\n"
        "            'user': {'email': to}, 'login_url': 'https://x/', 'minutes': 9})\n"
    )
    workers: list[subprocess.Popen] = []
    db_path = tmp_path / "antenne.sqlite3"
    try:
        subprocess.run([*ANTENNE, "manage", "migrate"], env=env, capture_output=True, check=True)
        subprocess.run(
            [*ANTENNE, "manage", "shell", "-c", script], env=env, check=True, timeout=120
        )

        def start_worker() -> subprocess.Popen:
            worker = subprocess.Popen(
                [*ANTENNE, "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            workers.append(worker)
            return worker

        first = start_worker()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(handler.messages) < total // 3:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        delivered_before_kill = len(handler.messages)
        assert 0 < delivered_before_kill < total

        start_worker()
        deadline = time.monotonic() + 90
        done_sql = "SELECT count(*) FROM mailing_outgoingemail WHERE state IN ('pending')"
        while time.monotonic() < deadline and _count(db_path, done_sql):
            time.sleep(0.3)
        left_sending = _count(
            db_path, "SELECT count(*) FROM mailing_outgoingemail WHERE state = 'sending'"
        )
        # What the periodic sweep does once the row has been stuck for a few minutes.
        sweep = (
            "from datetime import timedelta\n"
            "from antenne.outbox.services import requeue_stuck\n"
            "print(requeue_stuck(older_than=timedelta(0)))\n"
        )
        subprocess.run([*ANTENNE, "manage", "shell", "-c", sweep], env=env, check=True)
        deadline = time.monotonic() + 60
        all_sent = "SELECT count(*) FROM mailing_outgoingemail WHERE state = 'sent'"
        while time.monotonic() < deadline and _count(db_path, all_sent) < total:
            time.sleep(0.3)

        received = handler.recipients()
        assert set(received) == set(addresses), sorted(set(addresses) - set(received))
        duplicates = sum(received.values()) - total
        print(
            f"\nkilled after {delivered_before_kill} deliveries; {left_sending} row(s) left in "
            f"'sending'; duplicates: {duplicates}"
        )
        assert _count(db_path, all_sent) == total
        assert duplicates <= 1  # only the message in flight at the kill can go twice
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait(10)
        peer.stop()
