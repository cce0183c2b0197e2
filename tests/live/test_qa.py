"""Q&A of the live room, driven through the real ASGI application: every action for every
role (and for an attendee of another session), anonymity and hidden names in the frames
attendees get, upvotes once per person, staff moderation, and the join snapshot."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from django.utils.translation import gettext

from antenne.accounts.models import hash_secret
from antenne.events.models import Session, Speaker
from antenne.live import hub
from antenne.live.consumer import ACTIONS  # every feature registered
from antenne.live.qa import qa_snapshot
from antenne.rooms.models import Mute, Presence, Question, QuestionVote, RoomSettings
from antenne.rooms.participants import Participant
from tests.factories import RegistrationFactory, SessionFactory
from tests.live.helpers import connect, login_cookie, revoke_quietly

pytestmark = pytest.mark.django_db(transaction=True)
SETTLE = hub.TICK * 3  # long enough for what was published to reach every connection

_tokens = itertools.count()


class Peer:
    """One joined connection. Keeps every push it received (`raw` text, and room events as
    (channel, event, data) with channel "frame" or "backstage"), so replies and events can
    be awaited in any order."""

    def __init__(self, ws, name: str, reply: list) -> None:
        self.ws, self.name, self.joined = ws, name, reply
        self.raw: list[str] = []
        self.events: list[tuple[str, str, dict]] = []
        self.calls = 0

    def _take(self, text: str) -> list:
        message = json.loads(text)
        if message[0] not in ("success", "error"):
            self.raw.append(text)
        if message[0] in ("frame", "backstage"):
            self.events.extend((message[0], e, d) for e, d in message[1]["events"])
        return message

    async def send(self, action: str, payload: dict) -> str:
        self.calls += 1
        request_id = f"{action}-{self.calls}"
        await self.ws.send_to(text_data=json.dumps([action, request_id, payload]))
        return request_id

    async def reply(self, request_id: str) -> list:
        while True:
            message = self._take(await self.ws.receive_from(timeout=3))
            if message[0] in ("success", "error") and message[1] == request_id:
                return message

    async def call(self, action: str, payload: dict) -> list:
        return await self.reply(await self.send(action, payload))

    async def answer(self, action: str, payload: dict) -> str:
        """ "success" or the error code."""
        reply = await self.call(action, payload)
        return reply[0] if reply[0] == "success" else reply[2]["code"]

    async def wait(self, event: str, match=lambda data: True, channel: str | None = None):
        while True:
            for got_channel, name, data in self.events:
                if name == event and channel in (None, got_channel) and match(data):
                    return data
            self._take(await self.ws.receive_from(timeout=3))

    async def settle(self, seconds: float = SETTLE) -> None:
        """Read whatever arrives within `seconds` (without ever timing out the app)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            if not await self.ws.receive_nothing(timeout=0.02):
                self._take(await self.ws.receive_from())

    def got(self, event: str, channel: str | None = None) -> list[dict]:
        return [d for c, e, d in self.events if e == event and channel in (None, c)]


async def attendee(session, name: str = "Alix", registration=None) -> Peer:
    if registration is None:
        registration = await sync_to_async(RegistrationFactory)(session=session, first_name=name)
    ws = await connect(session.pk)
    peer = Peer(ws, registration.first_name, [])
    peer.joined = await peer.call("join", {"join_key": registration.join_key})
    assert peer.joined[0] == "success", peer.joined
    peer.registration = registration
    return peer


async def speaker(session, name: str = "Sacha Orateur") -> Peer:
    token = f"speaker-link-{next(_tokens)}"
    await sync_to_async(Speaker.objects.create)(
        session=session, email=f"{token}@x.example", name=name, token_hash=hash_secret(token)
    )
    peer = Peer(await connect(session.pk), name, [])
    peer.joined = await peer.call("join", {"speaker_token": token})
    assert peer.joined[0] == "success", peer.joined
    return peer


async def staff(session, user) -> Peer:
    peer = Peer(await connect(session.pk, cookie=await sync_to_async(login_cookie)(user)), "", [])
    peer.joined = await peer.call("join", {})
    assert peer.joined[2]["role"] == "staff", peer.joined
    peer.name = peer.joined[2]["name"]
    return peer


async def leave(*peers: Peer) -> None:
    for peer in peers:
        await peer.ws.disconnect()


def ask_question(session, text="Une question ?", **fields) -> Question:
    fields.setdefault("author_name", "Quelqu'un")
    return Question.objects.create(session=session, text=text, **fields)


# ---------------------------------------------------------------------------------------------
# Every action x role

DENIED = "permission.denied"
# action -> (payload from the question of this session, {role: first answer})
MATRIX = {
    "qa.ask": (lambda q: {"text": "Et le replay ?"}, {"*": "success"}),
    # An attendee of another session, using this session's question: never found.
    "qa.upvote": (lambda q: {"question_id": q.pk}, {"*": "success", "outsider": "qa.not_found"}),
    "qa.answer": (
        lambda q: {"question_id": q.pk},
        {"attendee": DENIED, "speaker": DENIED, "outsider": DENIED, "staff": "success"},
    ),
    "qa.dismiss": (
        lambda q: {"question_id": q.pk},
        {"attendee": DENIED, "speaker": DENIED, "outsider": DENIED, "staff": "success"},
    ),
    "qa.reopen": (
        lambda q: {"question_id": q.pk},
        {"attendee": DENIED, "speaker": DENIED, "outsider": DENIED, "staff": "success"},
    ),
}


def test_every_qa_action_has_a_row():
    assert sorted(name for name in ACTIONS if name.startswith("qa.")) == sorted(MATRIX)


@pytest.mark.parametrize("role", ["attendee", "speaker", "staff", "outsider"])
@pytest.mark.parametrize("name", sorted(MATRIX))
async def test_each_action_answers_each_role(room, animator, name, role):
    question = await sync_to_async(ask_question)(room, state=Question.State.DISMISSED)
    if name != "qa.reopen":
        await sync_to_async(Question.objects.filter(pk=question.pk).update)(state="open")
    if role == "attendee":
        peer = await attendee(room)
    elif role == "speaker":
        peer = await speaker(room)
    elif role == "staff":
        peer = await staff(room, animator)
    else:
        elsewhere = await sync_to_async(SessionFactory)(starts_at=room.starts_at)
        peer = await attendee(elsewhere)
    build, expected = MATRIX[name]
    assert await peer.answer(name, build(question)) == expected.get(role, expected.get("*"))
    await leave(peer)


async def test_staff_of_another_session_find_no_question_of_this_one(room, animator):
    question = await sync_to_async(ask_question)(room)
    elsewhere = await sync_to_async(SessionFactory)(animators=[animator], starts_at=room.starts_at)
    other_staff = await staff(elsewhere, animator)
    for action in ("qa.answer", "qa.dismiss", "qa.reopen", "qa.upvote"):
        assert await other_staff.answer(action, {"question_id": question.pk}) == "qa.not_found"
    await sync_to_async(question.refresh_from_db)()
    assert (question.state, question.votes) == ("open", 0)
    await leave(other_staff)


# ---------------------------------------------------------------------------------------------
# Asking


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"text": "Bonjour", "author": "Bob"}, "protocol.invalid_payload"),
        ({"text": ""}, "protocol.invalid_payload"),
        ({"text": "x" * 1001}, "protocol.invalid_payload"),
        ({"text": "a\x00b"}, "protocol.invalid_payload"),
        ({"text": "Bonjour", "anonymous": "yes"}, "protocol.invalid_payload"),
        ({"text": 42}, "protocol.invalid_payload"),
        ({"text": "   \n "}, "qa.empty"),
        ({"text": "x" * 1000, "anonymous": True}, "success"),
    ],
)
async def test_questions_are_validated(room, payload, code):
    peer = await attendee(room)
    assert await peer.answer("qa.ask", payload) == code
    assert await sync_to_async(Question.objects.count)() == (1 if code == "success" else 0)
    await leave(peer)


async def test_a_question_reaches_everyone_as_plain_text_and_hides_the_attendee(room, animator):
    asker = await attendee(room, "Xanthippe")
    other = await attendee(room, "Bertille")
    guest = await speaker(room)
    team = await staff(room, animator)
    hostile = "<script>alert('x')</script> & <b>gras</b>"
    reply = await asker.call("qa.ask", {"text": hostile})
    assert reply[0] == "success"
    question_id = reply[2]["id"]

    seen = await other.wait("qa.question", lambda d: d["id"] == question_id)
    assert seen["text"] == hostile  # data, as typed: pages insert it as text
    assert seen["author"] == gettext("Attendee")  # names of attendees are not shown
    assert (seen["anonymous"], seen["role"], seen["votes"], seen["state"]) == (
        False,
        "attendee",
        0,
        "open",
    )
    # Staff get a named copy backstage, after the public one; speakers see what attendees see.
    named = await team.wait("qa.question", lambda d: d["id"] == question_id, "backstage")
    assert (named["author"], named["text"]) == ("Xanthippe", hostile)
    assert (await guest.wait("qa.question"))["author"] == gettext("Attendee")
    await asyncio.gather(asker.settle(), other.settle(), guest.settle())
    for peer in (asker, other, guest):
        assert not any("Xanthippe" in text for text in peer.raw)
        assert peer.got("qa.question", "backstage") == []
    await leave(asker, other, guest, team)


async def test_an_anonymous_question_never_carries_the_name_to_attendees(room, animator):
    # Even where the animator shows attendees' names.
    await sync_to_async(RoomSettings.objects.create)(session=room, show_attendee_names=True)
    asker = await attendee(room, "Xanthippe")
    other = await attendee(room, "Bertille")
    guest = await speaker(room)
    team = await staff(room, animator)
    hidden = await asker.call("qa.ask", {"text": "Anonyme", "anonymous": True})
    question_id = hidden[2]["id"]

    anonymous = await other.wait("qa.question", lambda d: d["id"] == question_id)
    assert anonymous["author"] == gettext("Anonymous")
    assert (anonymous["anonymous"], anonymous["role"]) == (True, None)
    backstage = await team.wait("qa.question", lambda d: d["id"] == question_id, "backstage")
    assert (backstage["author"], backstage["anonymous"]) == ("Xanthippe", True)
    await asyncio.gather(team.settle(), asker.settle(), other.settle(), guest.settle())
    public = [d for c, e, d in team.events if e == "qa.question" and c == "frame"]
    assert [d["author"] for d in public] == [gettext("Anonymous")]
    for peer in (asker, other, guest):  # anonymity holds for speakers too
        assert not any("Xanthippe" in text for text in peer.raw)

    # What an attendee sees on joining does not name them either; a signed question does.
    signed = await asker.call("qa.ask", {"text": "Signée"})
    shown = await other.wait("qa.question", lambda d: d["id"] == signed[2]["id"])
    assert shown["author"] == "Xanthippe"  # the animator chose to show names
    latecomer = await attendee(room, "Camille")
    snapshot = await sync_to_async(qa_snapshot)(participant_of(latecomer, room))
    assert [q["author"] for q in snapshot["questions"]] == [gettext("Anonymous"), "Xanthippe"]
    await leave(asker, other, guest, team, latecomer)


def participant_of(peer: Peer, session) -> Participant:
    registration = getattr(peer, "registration", None)
    return Participant(
        session_id=session.pk,
        role=peer.joined[2]["role"],
        name=peer.name,
        registration_id=registration.pk if registration else None,
    )


async def test_speakers_and_staff_are_named_unless_they_ask_anonymously(room, animator):
    guest = await speaker(room, "Sacha Orateur")
    watcher = await attendee(room)
    first = await guest.call("qa.ask", {"text": "Question de l'intervenant"})
    second = await guest.call("qa.ask", {"text": "Sans nom", "anonymous": True})
    shown = await watcher.wait("qa.question", lambda d: d["id"] == first[2]["id"])
    assert (shown["author"], shown["role"]) == ("Sacha Orateur", "speaker")
    masked = await watcher.wait("qa.question", lambda d: d["id"] == second[2]["id"])
    assert (masked["author"], masked["role"]) == (gettext("Anonymous"), None)
    await leave(guest, watcher)


async def test_closed_questions_refuse_attendees_and_speakers_but_not_staff(room, animator):
    await sync_to_async(RoomSettings.objects.create)(session=room, questions_enabled=False)
    peers = [await attendee(room), await speaker(room), await staff(room, animator)]
    answers = [await peer.answer("qa.ask", {"text": "Encore là ?"}) for peer in peers]
    assert answers == ["qa.disabled", "qa.disabled", "success"]
    await leave(*peers)


async def test_a_muted_attendee_cannot_ask_but_others_can(room):
    muted = await attendee(room)
    other = await attendee(room)
    await sync_to_async(Mute.objects.create)(session=room, registration=muted.registration)
    assert await muted.answer("qa.ask", {"text": "Bonjour"}) == "room.muted"
    assert await other.answer("qa.ask", {"text": "Bonjour"}) == "success"
    assert await sync_to_async(Question.objects.count)() == 1
    await leave(muted, other)


async def test_a_revoked_attendee_or_an_ended_session_stops_questions_and_votes(room, animator):
    asker = await attendee(room)
    voter = await attendee(room)
    question = await sync_to_async(ask_question)(room)
    # Revoked behind the room's back (no push): the write itself re-checks the right.
    await sync_to_async(revoke_quietly)(asker.registration)
    assert await asker.answer("qa.ask", {"text": "Encore"}) == "join.invalid_link"
    assert await asker.answer("qa.upvote", {"question_id": question.pk}) == "join.invalid_link"
    await sync_to_async(Session.objects.filter(pk=room.pk).update)(state=Session.State.ENDED)
    assert await voter.answer("qa.upvote", {"question_id": question.pk}) == "room.closed"
    await sync_to_async(question.refresh_from_db)()
    assert question.votes == 0
    await leave(asker, voter)


# ---------------------------------------------------------------------------------------------
# Upvotes


async def test_one_upvote_per_person_not_per_connection_and_not_ones_own(room, animator):
    asker = await attendee(room)
    fan = await attendee(room, "Bertille")
    team = await staff(room, animator)
    guest = await speaker(room)
    question_id = (await asker.call("qa.ask", {"text": "Pour quand ?"}))[2]["id"]
    vote = {"question_id": question_id}

    first = await fan.call("qa.upvote", vote)
    assert first[2] == {"id": question_id, "votes": 1}
    assert await fan.answer("qa.upvote", vote) == "qa.already_voted"
    second_device = await attendee(room, registration=fan.registration)
    assert await second_device.answer("qa.upvote", vote) == "qa.already_voted"
    assert await asker.answer("qa.upvote", vote) == "qa.own_question"
    assert await team.answer("qa.upvote", vote) == "success"
    assert await guest.answer("qa.upvote", vote) == "success"
    assert await guest.answer("qa.upvote", vote) == "qa.already_voted"

    seen = await asker.wait("qa.votes", lambda d: d == {"id": question_id, "votes": 3})
    assert seen["votes"] == 3
    question = await sync_to_async(Question.objects.get)(pk=question_id)
    assert question.votes == 3
    voters = await sync_to_async(list)(
        QuestionVote.objects.filter(question=question).values_list("voter", flat=True)
    )
    # One key per person: registration, user account (staff), speaker (a guest without one).
    assert sorted(voter[0] for voter in voters) == ["r", "s", "u"]
    assert await fan.answer("qa.upvote", {"question_id": 10**9}) == "qa.not_found"
    await leave(asker, fan, team, guest, second_device)


async def test_staff_cannot_upvote_their_own_question_from_another_connection(room, animator):
    first = await staff(room, animator)
    question_id = (await first.call("qa.ask", {"text": "Question préparée"}))[2]["id"]
    second = await staff(room, animator)
    assert await second.answer("qa.upvote", {"question_id": question_id}) == "qa.own_question"
    await leave(first, second)


async def test_upvotes_sent_together_are_all_counted(room):
    question = await sync_to_async(ask_question)(room)
    voters = [await attendee(room, f"Votant{i}") for i in range(12)]
    sent = [await peer.send("qa.upvote", {"question_id": question.pk}) for peer in voters]
    replies = [await peer.reply(request_id) for peer, request_id in zip(voters, sent, strict=True)]
    assert {reply[0] for reply in replies} == {"success"}
    assert sorted(reply[2]["votes"] for reply in replies) == list(range(1, 13))
    await sync_to_async(question.refresh_from_db)()
    assert question.votes == 12
    assert await sync_to_async(QuestionVote.objects.filter(question=question).count)() == 12
    # Everyone ends up with the final count (the votes of one tick travel in one frame).
    final = await voters[0].wait("qa.votes", lambda d: d["votes"] == 12)
    assert final == {"id": question.pk, "votes": 12}
    await leave(*voters)


# ---------------------------------------------------------------------------------------------
# Moderation


async def test_staff_answer_dismiss_and_reopen_and_everyone_sees_the_state(room, animator):
    asker = await attendee(room)
    team = await staff(room, animator)
    question_id = (await asker.call("qa.ask", {"text": "Et après ?"}))[2]["id"]
    target = {"question_id": question_id}

    assert (await team.call("qa.answer", target))[2] == {"id": question_id, "state": "answered"}
    await asker.wait("qa.state", lambda d: d == {"id": question_id, "state": "answered"})
    assert await asker.answer("qa.upvote", target) == "qa.not_open"
    assert await team.answer("qa.answer", target) == "success"  # twice: no error, no event

    assert await team.answer("qa.dismiss", target) == "success"
    await asker.wait("qa.state", lambda d: d == {"id": question_id, "state": "dismissed"})
    latecomer = await attendee(room, "Camille")
    person = participant_of(latecomer, room)
    assert (await sync_to_async(qa_snapshot)(person))["questions"] == []

    assert await team.answer("qa.reopen", target) == "success"
    # Back from dismissed, the question is sent again for those who never had it.
    again = await latecomer.wait("qa.question", lambda d: d["id"] == question_id)
    assert again["state"] == "open"
    await latecomer.wait("qa.state", lambda d: d == {"id": question_id, "state": "open"})
    await asker.settle()
    states = [d["state"] for d in asker.got("qa.state")]
    assert states == ["answered", "dismissed", "open"]
    await leave(asker, team, latecomer)


# ---------------------------------------------------------------------------------------------
# The join snapshot


def test_the_snapshot_lists_the_top_questions_in_each_audiences_variant(
    room, animator, django_assert_num_queries
):
    alix = RegistrationFactory(session=room, first_name="Xanthippe")
    bea = RegistrationFactory(session=room, first_name="Bertille")
    presence = Presence.objects.create(session=room, registration=alix, joined_at=timezone.now())
    top = ask_question(room, "Top", registration=alix, presence=presence, author_name="Xanthippe")
    top.votes = 7
    top.save()
    hidden = ask_question(room, "Anon", registration=alix, author_name="Xanthippe", anonymous=True)
    answered = ask_question(room, "Fait", state="answered", author_name="Staff", votes=2)
    dismissed = ask_question(room, "Hors sujet", state="dismissed", votes=50)
    ask_question(SessionFactory(), "Ailleurs", votes=99)
    QuestionVote.objects.create(question=top, registration=bea, voter=f"r:{bea.pk}")

    person = Participant(room.pk, "attendee", "Bertille", registration_id=bea.pk)
    with django_assert_num_queries(3):
        snapshot = qa_snapshot(person)
    assert snapshot["enabled"] is True
    assert [q["id"] for q in snapshot["questions"]] == [top.pk, answered.pk, hidden.pk]
    assert [q["author"] for q in snapshot["questions"]] == [
        gettext("Attendee"),
        gettext("Attendee"),  # author unknown (no presence): hidden like an attendee
        gettext("Anonymous"),
    ]
    assert snapshot["voted"] == [top.pk]
    assert "Xanthippe" not in json.dumps(snapshot)

    team = Participant(room.pk, "staff", "Anim", user_id=animator.pk)
    for_staff = qa_snapshot(team)
    assert [q["id"] for q in for_staff["questions"]] == [
        dismissed.pk,
        top.pk,
        answered.pk,
        hidden.pk,
    ]
    assert for_staff["questions"][3]["author"] == "Xanthippe"
    assert for_staff["voted"] == []


async def test_after_a_reload_the_snapshot_names_ones_own_questions_and_votes(room, animator):
    """A page loaded again must not offer "Upvote" on the person's own question (the server
    refuses it): the join snapshot says which questions are theirs and which they upvoted."""
    asker = await attendee(room, "Xanthippe")
    other = await attendee(room, "Bertille")
    guest = await speaker(room)
    mine = (await asker.call("qa.ask", {"text": "La mienne"}))[2]["id"]
    theirs = (await other.call("qa.ask", {"text": "La sienne"}))[2]["id"]
    from_speaker = (await guest.call("qa.ask", {"text": "Celle de l'intervenant"}))[2]["id"]
    assert await asker.answer("qa.upvote", {"question_id": theirs}) == "success"
    # The same person again, from another tab or after a reload.
    again = await attendee(room, registration=asker.registration)
    qa = again.joined[2]["snapshot"]["qa"]
    assert (qa["own"], qa["voted"]) == ([mine], [theirs])
    assert await again.answer("qa.upvote", {"question_id": mine}) == "qa.own_question"
    assert other.joined[2]["snapshot"]["qa"]["own"] == []
    assert (await attendee(room, registration=other.registration)).joined[2]["snapshot"]["qa"][
        "own"
    ] == [theirs]
    # A guest speaker's question is theirs on their connection, and nobody else's.
    assert (await sync_to_async(qa_snapshot)(participant_of(again, room)))["own"] == [mine]
    assert from_speaker not in qa["own"]
    await leave(asker, other, guest, again)
