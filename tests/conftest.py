from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from antenne.core.permissions import Role
from antenne.live import admission
from tests.factories import UserFactory
from tests.helpers import free_port
from tests.netns import netns  # noqa: F401 (a fixture for media tests)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_waiting_connections():
    """The live room counts unjoined connections per process; a test's communicator that
    ends without `disconnect()` must not use up the next tests' share."""
    admission.WAITING.counts.clear()
    yield
    admission.WAITING.counts.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """The language middleware activates the visitor's language in the test's thread: each
    test starts from the default again, whatever the previous one visited."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _real_email_path(settings):
    """Django's test runner swaps in a locmem mailer; Antenne's default mailbox mode is what
    users get, so tests keep it (or use `smtp_server` for a real SMTP peer)."""
    settings.EMAIL_BACKEND = "antenne.outbox.backends.MailboxBackend"


@pytest.fixture
def admin(db):
    return UserFactory(role=Role.ADMIN, email="admin@service.example", full_name="Ada Admin")


@pytest.fixture
def animator(db):
    return UserFactory(role=Role.ANIMATOR, email="anim@service.example")


@pytest.fixture
def member(db):
    return UserFactory(role=Role.MEMBER, email="membre@service.example")


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@dataclass
class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)  # RCPT TO of each message
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(parsed)
            self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def smtp_server(settings):
    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield sink
    finally:
        controller.stop()
        asyncio.set_event_loop(None)
