"""Driving the live room over WebSocket through the real ASGI application."""

from __future__ import annotations

import json

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from antenne.asgi import application
from antenne.registrations.models import Registration

HEADERS = [(b"host", b"antenne.test"), (b"origin", b"https://antenne.test")]


async def connect(session_id: int, cookie: str = "") -> WebsocketCommunicator:
    headers = list(HEADERS)
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/room/{session_id}/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def call(communicator, action, payload, request_id="r1"):
    """Send an action and return its reply. Pushes that arrive first (a room's tick may
    deliver what the action published before its reply is sent) are kept for `held`."""
    await communicator.send_to(text_data=json.dumps([action, request_id, payload]))
    while True:
        text = await communicator.receive_from(timeout=3)
        message = json.loads(text)
        if message[0] in ("success", "error") and message[1] == request_id:
            return message
        held(communicator).append(text)


def held(communicator) -> list[str]:
    """The messages `call` read while it waited for its reply, oldest first."""
    if not hasattr(communicator, "held_messages"):
        communicator.held_messages = []
    return communicator.held_messages


async def next_frame(communicator, timeout=2.0):
    while True:
        message = json.loads(await communicator.receive_from(timeout=timeout))
        if message[0] == "frame":
            return message[1]


async def next_event(communicator, name: str, timeout=3.0):
    """The data of the next `name` event, whatever frames come first (a presence change or a
    state change may be delivered in a frame of its own before it)."""
    while True:
        frame = await next_frame(communicator, timeout=timeout)
        found = [data for event, data in frame["events"] if event == name]
        if found:
            return found[-1]


def login_cookie(user) -> str:
    """A back-office login session for `user`, as the browser's cookie holds it."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


def revoke_quietly(registration) -> None:
    """Revoke a registration in the database only: no hook fires, the room is not told (the
    service puts the person out of the room: tests/live/test_revocation.py). What is left
    to stop the person is the re-check of each read and write."""
    Registration.objects.filter(pk=registration.pk).update(status=Registration.Status.REVOKED)
