"""Polls of the live room, driven through the real ASGI application: every action for every
role (and for an attendee of another session), validation, one answer per person, results
hidden from attendees until the close unless shown live, coalesced results, the join
snapshot, and the cost of a vote with thousands of answers."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from antenne.events import lifecycle
from antenne.events.models import Session
from antenne.live.consumer import ACTIONS  # every feature registered
from antenne.live.polls import poll_snapshot
from antenne.registrations.models import Registration
from antenne.rooms import polls
from antenne.rooms.models import Poll, PollVote
from antenne.rooms.participants import Participant
from tests.factories import RegistrationFactory, SessionFactory
from tests.live.helpers import revoke_quietly
from tests.live.test_qa import attendee, leave, speaker, staff

pytestmark = pytest.mark.django_db(transaction=True)
DENIED = "permission.denied"
NEW_POLL = {"question": "Quel format ?", "options": ["Court", "Long", "Les deux"]}


def make_poll(session, state="open", **fields) -> Poll:
    fields.setdefault("question", "Quel format ?")
    fields.setdefault("options", ["Court", "Long", "Les deux"])
    return Poll.objects.create(session=session, state=state, **fields)


async def enter(room, animator, role):
    if role == "attendee":
        return await attendee(room)
    if role == "speaker":
        return await speaker(room)
    if role == "staff":
        return await staff(room, animator)
    elsewhere = await sync_to_async(SessionFactory)(starts_at=room.starts_at)
    return await attendee(elsewhere)


# ---------------------------------------------------------------------------------------------
# Every action x role

STAFF_ONLY = {"attendee": DENIED, "speaker": DENIED, "outsider": DENIED, "staff": "success"}
# action -> (state of this session's poll, payload from it, {role: first answer})
MATRIX = {
    "poll.create": ("draft", lambda p: NEW_POLL, STAFF_ONLY),
    "poll.open": ("draft", lambda p: {"poll_id": p.pk}, STAFF_ONLY),
    "poll.close": ("open", lambda p: {"poll_id": p.pk}, STAFF_ONLY),
    # An attendee of another session, using this session's poll: never found.
    "poll.vote": (
        "open",
        lambda p: {"poll_id": p.pk, "choices": [1]},
        {"*": "success", "outsider": "poll.not_found"},
    ),
}


def test_every_poll_action_has_a_row():
    assert sorted(name for name in ACTIONS if name.startswith("poll.")) == sorted(MATRIX)


@pytest.mark.parametrize("role", ["attendee", "speaker", "staff", "outsider"])
@pytest.mark.parametrize("name", sorted(MATRIX))
async def test_each_action_answers_each_role(room, animator, name, role):
    state, build, expected = MATRIX[name]
    poll = await sync_to_async(make_poll)(room, state)
    peer = await enter(room, animator, role)
    assert await peer.answer(name, build(poll)) == expected.get(role, expected.get("*"))
    await leave(peer)


async def test_staff_of_another_session_find_no_poll_of_this_one(room, animator):
    draft = await sync_to_async(make_poll)(room, "draft")
    running = await sync_to_async(make_poll)(room, "open")
    elsewhere = await sync_to_async(SessionFactory)(animators=[animator], starts_at=room.starts_at)
    other_staff = await staff(elsewhere, animator)
    assert await other_staff.answer("poll.open", {"poll_id": draft.pk}) == "poll.not_found"
    assert await other_staff.answer("poll.close", {"poll_id": running.pk}) == "poll.not_found"
    vote = {"poll_id": running.pk, "choices": [0]}
    assert await other_staff.answer("poll.vote", vote) == "poll.not_found"
    states = await sync_to_async(list)(Poll.objects.order_by("id").values_list("state", flat=True))
    assert states == ["draft", "open"]
    assert await sync_to_async(PollVote.objects.count)() == 0
    await leave(other_staff)


# ---------------------------------------------------------------------------------------------
# Creating, opening, closing


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"options": ["Seule"]}, "protocol.invalid_payload"),
        ({"options": [f"Option {i}" for i in range(11)]}, "protocol.invalid_payload"),
        ({"options": ["Oui", ""]}, "protocol.invalid_payload"),
        ({"options": ["Oui", "n" * 201]}, "protocol.invalid_payload"),
        ({"options": ["Oui", 2]}, "protocol.invalid_payload"),
        ({"question": ""}, "protocol.invalid_payload"),
        ({"question": "q" * 301}, "protocol.invalid_payload"),
        ({"multiple": "oui"}, "protocol.invalid_payload"),
        ({"anonymous": True}, "protocol.invalid_payload"),
        ({"question": "   "}, "poll.empty"),
        ({"options": ["Oui", "   "]}, "poll.option_invalid"),
        ({"options": ["Oui", " oui "]}, "poll.duplicate_option"),
        ({"question": "q" * 300, "options": [f"{i}" * 200 for i in range(10)]}, "success"),
    ],
)
async def test_polls_are_validated(room, animator, change, code):
    team = await staff(room, animator)
    assert await team.answer("poll.create", {**NEW_POLL, **change}) == code
    assert await sync_to_async(Poll.objects.count)() == (1 if code == "success" else 0)
    await leave(team)


async def test_a_draft_is_backstage_until_opened_then_everyone_can_answer(room, animator):
    team = await staff(room, animator)
    guest = await speaker(room)
    person = await attendee(room)
    created = await team.call("poll.create", {**NEW_POLL, "question": "<b>Format</b> ?"})
    poll_id = created[2]["id"]
    draft = await guest.wait("poll.created", lambda d: d["id"] == poll_id, "backstage")
    assert (draft["state"], draft["options"], draft["question"]) == (
        "draft",
        ["Court", "Long", "Les deux"],
        "<b>Format</b> ?",
    )
    vote = {"poll_id": poll_id, "choices": [0]}
    assert await person.answer("poll.vote", vote) == "poll.not_found"  # drafts are not shown
    assert await team.answer("poll.vote", vote) == "poll.not_open"
    await person.settle()
    assert person.got("poll.created") == []

    assert await team.answer("poll.open", {"poll_id": poll_id}) == "success"
    opened = await person.wait("poll.opened", lambda d: d["id"] == poll_id)
    assert (opened["state"], opened["multiple"], opened["results_live"]) == ("open", False, False)
    assert opened["results"] is None
    assert await team.answer("poll.open", {"poll_id": poll_id}) == "poll.not_draft"
    assert await person.answer("poll.vote", vote) == "success"
    assert await guest.answer("poll.vote", {"poll_id": poll_id, "choices": [2]}) == "success"
    assert await team.answer("poll.vote", {"poll_id": poll_id, "choices": [2]}) == "success"

    closed = await team.call("poll.close", {"poll_id": poll_id})
    assert closed[2]["results"] == {"counts": [1, 0, 2], "voters": 3}
    final = await person.wait("poll.closed", lambda d: d["id"] == poll_id)
    assert (final["state"], final["results"]) == ("closed", {"counts": [1, 0, 2], "voters": 3})
    assert await guest.answer("poll.vote", vote) == "poll.not_open"
    assert await team.answer("poll.close", {"poll_id": poll_id}) == "poll.not_open"
    assert await team.answer("poll.open", {"poll_id": poll_id}) == "poll.not_draft"
    await leave(team, guest, person)


# ---------------------------------------------------------------------------------------------
# Answering


@pytest.mark.parametrize(
    ("multiple", "choices", "code"),
    [
        (False, [], "poll.no_choice"),
        (False, [3], "poll.invalid_choice"),
        (False, [-1], "poll.invalid_choice"),
        (False, [0, 1], "poll.single_choice"),
        (True, [1, 1], "poll.duplicate_choice"),
        (True, [0, 5], "poll.invalid_choice"),
        (True, ["0"], "protocol.invalid_payload"),
        (True, [True], "protocol.invalid_payload"),
        (True, [0.0], "protocol.invalid_payload"),
        (True, list(range(11)), "protocol.invalid_payload"),
        (True, [2, 0], "success"),
        (False, [1], "success"),
    ],
)
async def test_answers_are_validated_against_the_poll(room, multiple, choices, code):
    poll = await sync_to_async(make_poll)(room, multiple=multiple)
    person = await attendee(room)
    assert await person.answer("poll.vote", {"poll_id": poll.pk, "choices": choices}) == code
    stored = await sync_to_async(list)(PollVote.objects.values_list("choices", flat=True))
    assert stored == ([sorted(choices)] if code == "success" else [])
    await leave(person)


async def test_one_answer_per_person_whatever_the_connection(room):
    poll = await sync_to_async(make_poll)(room, multiple=True)
    person = await attendee(room)
    vote = {"poll_id": poll.pk, "choices": [0, 1]}
    assert await person.answer("poll.vote", vote) == "success"
    assert await person.answer("poll.vote", {**vote, "choices": [2]}) == "poll.already_voted"
    phone = await attendee(room, registration=person.registration)
    assert await phone.answer("poll.vote", vote) == "poll.already_voted"
    results = await sync_to_async(polls.results_of)([poll])
    assert results[poll.pk] == polls.Results([1, 1, 0], 1)
    await leave(person, phone)


async def test_results_reach_attendees_only_at_the_close_unless_shown_live(room, animator):
    hidden = await sync_to_async(make_poll)(room, results_live=False)
    live = await sync_to_async(make_poll)(room, results_live=True)
    team = await staff(room, animator)
    voters = [await attendee(room, f"Votant{i}") for i in range(4)]
    sent = [
        (peer, await peer.send("poll.vote", {"poll_id": poll.pk, "choices": [index % 2]}))
        for index, peer in enumerate(voters)
        for poll in (hidden, live)
    ]
    assert {(await peer.reply(request_id))[0] for peer, request_id in sent} == {"success"}

    # Staff follow both polls (the hidden one backstage); attendees only the live one.
    done = {"counts": [2, 2, 0], "voters": 4}
    backstage = await team.wait(
        "poll.results", lambda d: d == {"id": hidden.pk, "results": done}, "backstage"
    )
    assert backstage["results"] == done
    public = await voters[0].wait(
        "poll.results", lambda d: d == {"id": live.pk, "results": done}, "frame"
    )
    assert public["results"] == done
    await asyncio.gather(*(peer.settle() for peer in voters))
    for peer in voters:
        assert [d["id"] for d in peer.got("poll.results")] == [live.pk] * len(
            peer.got("poll.results")
        )
        assert peer.got("poll.results", "backstage") == []
    # Four votes in one tick: results are published per tick, not per vote.
    assert 1 <= len(voters[0].got("poll.results")) < 4

    assert await team.answer("poll.close", {"poll_id": hidden.pk}) == "success"
    closed = await voters[1].wait("poll.closed", lambda d: d["id"] == hidden.pk)
    assert closed["results"] == done
    await leave(team, *voters)


# ---------------------------------------------------------------------------------------------
# The join snapshot and the cost of a vote


def test_the_snapshot_shows_what_each_audience_may_see(room, animator, django_assert_num_queries):
    person = RegistrationFactory(session=room)
    make_poll(room, "draft", question="Brouillon")
    running = make_poll(room, "open")
    live = make_poll(room, "open", results_live=True, multiple=True)
    closed = make_poll(room, "closed")
    make_poll(SessionFactory(), "open", question="Ailleurs")
    PollVote.objects.create(poll=running, registration=person, voter=f"r:{person.pk}", choices=[1])
    PollVote.objects.create(poll=live, voter="u:1", choices=[0, 2])
    PollVote.objects.create(poll=closed, voter="u:1", choices=[0])

    viewer = Participant(room.pk, "attendee", "Alix", registration_id=person.pk)
    with django_assert_num_queries(3):
        snapshot = poll_snapshot(viewer)
    seen = {p["id"]: p for p in snapshot["polls"]}
    assert list(seen) == [running.pk, live.pk, closed.pk]  # no draft, oldest first
    assert seen[running.pk]["results"] is None  # until the close
    assert seen[running.pk]["voted"] == [1]
    assert seen[live.pk]["results"] == {"counts": [1, 0, 1], "voters": 1}
    assert seen[live.pk]["voted"] is None
    assert seen[closed.pk]["results"] == {"counts": [1, 0, 0], "voters": 1}

    team = Participant(room.pk, "staff", "Anim", user_id=animator.pk)
    for_staff = poll_snapshot(team)["polls"]
    assert for_staff[0]["question"] == "Brouillon"
    assert for_staff[1]["results"] == {"counts": [0, 1, 0], "voters": 1}


def test_a_vote_costs_the_same_with_thousands_of_answers(room, django_assert_num_queries):
    """A vote is a few indexed queries whatever the number of answers; the results of a
    tick are one grouped query (timings: docs/live-protocol.md, not asserted here)."""
    poll = make_poll(room, multiple=True, options=["A", "B", "C", "D"])
    people = Registration.objects.bulk_create(
        Registration(
            session=room,
            email=f"p{i}@x.example",
            first_name="P",
            last_name=str(i),
            join_key=f"bulk-{i:040d}",
            status=Registration.Status.CONFIRMED,
        )
        for i in range(2001)
    )
    PollVote.objects.bulk_create(
        PollVote(poll=poll, registration=p, voter=f"r:{p.pk}", choices=[i % 3, 3][: 1 + i % 2])
        for i, p in enumerate(people[:2000])
    )
    last = Participant(room.pk, "attendee", "P", registration_id=people[2000].pk)
    with CaptureQueriesContext(connection) as vote:
        polls.answer_poll(participant=last, poll_id=poll.pk, choices=[0, 1])
    statements = [
        query["sql"]
        for query in vote.captured_queries
        if not query["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
    ]
    # Room state, registration still confirmed, the poll (locked), the insert: no counting.
    assert len(statements) == 4, statements
    assert not any("pollvote" in sql and sql.startswith("SELECT") for sql in statements)
    with django_assert_num_queries(2):
        found = polls.open_poll_results(poll_id=poll.pk)
    assert found is not None
    counts = [0, 0, 0, 0]
    for i in range(2000):
        for choice in [i % 3, 3][: 1 + i % 2]:
            counts[choice] += 1
    counts[0] += 1
    counts[1] += 1
    assert found[1] == polls.Results(counts, 2001)


async def test_an_ended_session_or_a_revoked_attendee_cannot_answer(room, animator):
    poll = await sync_to_async(make_poll)(room)
    revoked = await attendee(room)
    other = await attendee(room)
    # Revoked behind the room's back (no push): the write itself re-checks the right.
    await sync_to_async(revoke_quietly)(revoked.registration)
    vote = {"poll_id": poll.pk, "choices": [0]}
    assert await revoked.answer("poll.vote", vote) == "join.invalid_link"
    await sync_to_async(Session.objects.filter(pk=room.pk).update)(state=Session.State.ENDED)
    assert await other.answer("poll.vote", vote) == "room.closed"
    assert await sync_to_async(PollVote.objects.count)() == 0
    await leave(revoked, other)


async def test_the_polls_still_open_close_when_the_session_ends(room, animator):
    running = await sync_to_async(make_poll)(room, "open")
    draft = await sync_to_async(make_poll)(room, "draft", question="Pour plus tard ?")
    voter = await attendee(room)
    assert await voter.answer("poll.vote", {"poll_id": running.pk, "choices": [2]}) == "success"
    await sync_to_async(lifecycle.start_session)(actor=animator, session=room)
    await sync_to_async(lifecycle.end_session)(actor=animator, session=room)
    # The attendee's page gets the final results, as for a poll an animator closed.
    final = await voter.wait("poll.closed", lambda d: d["id"] == running.pk)
    assert final["state"] == "closed"
    assert final["results"] == {"counts": [0, 0, 1], "voters": 1}
    states = await sync_to_async(dict)(Poll.objects.values_list("pk", "state"))
    assert states == {running.pk: "closed", draft.pk: "draft"}  # a draft stays a draft
    assert await voter.answer("poll.vote", {"poll_id": running.pk, "choices": [0]}) in (
        "room.closed",
        "poll.not_open",
    )
    await leave(voter)
