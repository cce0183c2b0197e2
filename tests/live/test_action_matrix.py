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
from antenne.live.consumer import ACTIONS  # every feature registered
from antenne.rooms.models import ChatMessage, Poll, Question, StageInvitation
from tests.factories import RegistrationFactory, SessionFactory
from tests.live.helpers import HEADERS, login_cookie

ROLES = ("attendee", "speaker", "staff")
OK = "success"
DENIED = "permission.denied"

STAFF = {"attendee": DENIED, "speaker": DENIED, "staff": OK}
ATTENDEE = {"attendee": OK, "speaker": DENIED, "staff": DENIED}

# action -> (payload builder from the fixtures, {role: expected})
MATRIX = {
    "ping": (lambda o: {}, {"*": OK}),
    "chat.send": (lambda o: {"text": "bonjour"}, {"*": OK}),
    "chat.delete": (lambda o: {"message_id": o["message"].pk}, STAFF),
    "qa.ask": (lambda o: {"text": "?"}, {"*": OK}),
    "qa.upvote": (lambda o: {"question_id": o["question"].pk}, {"*": OK}),
    "qa.answer": (lambda o: {"question_id": o["question"].pk}, STAFF),
    "qa.dismiss": (lambda o: {"question_id": o["question"].pk}, STAFF),
    "qa.reopen": (lambda o: {"question_id": o["question"].pk}, STAFF),
    "poll.create": (lambda o: {"question": "Q", "options": ["A", "B"]}, STAFF),
    "poll.open": (lambda o: {"poll_id": o["draft"].pk}, STAFF),
    "poll.close": (lambda o: {"poll_id": o["poll"].pk}, STAFF),
    "poll.vote": (lambda o: {"poll_id": o["poll"].pk, "choices": [0]}, {"*": OK}),
    "room.settings": (lambda o: {"slow_mode_seconds": 0}, STAFF),
    "chat.mute": (lambda o: {"registration_id": o["person"].pk}, STAFF),
    "chat.unmute": (lambda o: {"registration_id": o["person"].pk}, STAFF),
    "hand.lower_for": (lambda o: {"registration_id": o["person"].pk}, STAFF),
    "stage.remove": (
        lambda o: {"registration_id": o["person"].pk},
        {"attendee": DENIED, "speaker": DENIED, "staff": "stage.not_on_stage"},
    ),
    # The person is not connected in this test: staff get past the permission to that check.
    "stage.invite": (
        lambda o: {"registration_id": o["person"].pk},
        {"attendee": DENIED, "speaker": DENIED, "staff": "stage.not_connected"},
    ),
    "hand.raise": (lambda o: {}, ATTENDEE),
    "hand.lower": (lambda o: {}, ATTENDEE),
    "stage.accept": (lambda o: {"invitation_id": o["invitation"].pk}, ATTENDEE),
    "stage.decline": (lambda o: {"invitation_id": o["invitation"].pk}, ATTENDEE),
    # The attendee's invitation is pending, not accepted: past the permission to that check.
    "stage.leave": (
        lambda o: {},
        {"attendee": "stage.not_on_stage", "speaker": DENIED, "staff": DENIED},
    ),
    "people.list": (lambda o: {}, {"attendee": DENIED, "speaker": OK, "staff": OK}),
    # No telephone caller in this test: staff get past the permission to that check.
    "phone.floor": (
        lambda o: {"presence_id": 10**9, "floor": True},
        {"attendee": DENIED, "speaker": DENIED, "staff": "room.not_found"},
    ),
    "react": (lambda o: {"emoji": "👏"}, {"*": OK}),
}


def test_every_registered_action_has_a_row():
    assert sorted(ACTIONS) == sorted(MATRIX)


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
    other = await sync_to_async(RegistrationFactory)(session=session)

    def make_objects() -> dict:
        return {
            "message": ChatMessage.objects.create(
                session=session, author_name="X", role="attendee", text="hello"
            ),
            # Someone else's question: nobody may upvote their own.
            "question": Question.objects.create(
                session=session, registration=other, author_name="Y", text="Pourquoi ?"
            ),
            "draft": Poll.objects.create(session=session, question="Q", options=["A", "B"]),
            "poll": Poll.objects.create(
                session=session, question="Q", options=["A", "B"], state="open"
            ),
            "person": other,
            # The invitation is the attendee under test's own.
            "invitation": StageInvitation.objects.create(session=session, registration=person),
        }

    objects = await sync_to_async(make_objects)()
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
