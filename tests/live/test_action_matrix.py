"""Every live-room action × every role has an expected first answer; a new action without a
row fails here (the WebSocket side of tests/test_permission_matrix.py).

Roles: attendee (join link), speaker (speaker link), staff (an animator of the session, by
the back-office cookie). The payload of each row is valid, so a refusal can only come from
the permission; the expected answer is "success" or an error code."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from antenne.accounts.models import hash_secret
from antenne.asgi import application
from antenne.events.models import Speaker
from antenne.live.actions import load
from antenne.rooms.models import ChatMessage
from tests.factories import RegistrationFactory, SessionFactory
from tests.live.test_room_protocol import HEADERS, login_cookie

ROLES = ("attendee", "speaker", "staff")
OK = "success"
DENIED = "permission.denied"

# action -> (payload builder from the fixtures, {role: expected})
MATRIX = {
    "ping": (lambda o: {}, {"*": OK}),
    "chat.send": (lambda o: {"text": "bonjour"}, {"*": OK}),
    "chat.delete": (
        lambda o: {"message_id": o["message"].pk},
        {"attendee": DENIED, "speaker": DENIED, "staff": OK},
    ),
}


def test_every_registered_action_has_a_row():
    assert sorted(load()) == sorted(MATRIX)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(MATRIX))
async def test_answer(animator, name, role):
    session = await sync_to_async(SessionFactory)(
        animators=[animator], starts_at=timezone.now() + timedelta(minutes=10)
    )
    person = await sync_to_async(RegistrationFactory)(session=session)
    await sync_to_async(Speaker.objects.create)(
        session=session, email="guest@x.example", name="Guest", token_hash=hash_secret("tok")
    )
    objects = {
        "message": await sync_to_async(ChatMessage.objects.create)(
            session=session, author_name="X", role="attendee", text="hello"
        )
    }
    headers = list(HEADERS)
    join: dict = {"join_key": person.join_key}
    if role == "speaker":
        join = {"speaker_token": "tok"}
    elif role == "staff":
        cookie = await sync_to_async(login_cookie)(animator)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
        join = {}
    ws = WebsocketCommunicator(application, f"/ws/room/{session.pk}/", headers=headers)
    assert (await ws.connect())[0]
    await ws.send_to(text_data=json.dumps(["join", "j", join]))
    joined = json.loads(await ws.receive_from(timeout=3))
    assert joined[0] == OK, joined
    build, expected = MATRIX[name]
    await ws.send_to(text_data=json.dumps([name, "a", build(objects)]))
    while True:
        reply = json.loads(await ws.receive_from(timeout=3))
        if reply[1] == "a":
            break
    want = expected.get(role, expected.get("*"))
    got = OK if reply[0] == OK else reply[2]["code"]
    assert got == want, (name, role, reply)
    await ws.disconnect()
