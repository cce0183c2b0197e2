"""A session's broadcast: green room, start, end — who may, from which state, when, and what
follows (audit entries, reminders withheld, the room told after commit)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from antenne.core.exceptions import Conflict, PermissionDenied
from antenne.core.models import AuditEntry
from antenne.core.permissions import Role
from antenne.events import lifecycle
from antenne.events.models import Session, Speaker
from antenne.mailing import reminders
from antenne.mailing.models import Reminder
from antenne.outbox.models import OutgoingEmail
from antenne.rooms import push
from tests.factories import RegistrationFactory, SessionFactory, UserFactory

pytestmark = pytest.mark.django_db

TRANSITIONS = {
    "green_room": lifecycle.open_green_room,
    "start": lifecycle.start_session,
    "end": lifecycle.end_session,
}


def _soon(minutes: int = 30, **extra: Any) -> Session:
    """A scheduled session starting in `minutes`, run by its event's owner."""
    return SessionFactory(starts_at=timezone.now() + timedelta(minutes=minutes), **extra)


def _audit(session: Session) -> list[tuple[str, Any, dict]]:
    entries = AuditEntry.objects.filter(object_type="events.session", object_id=str(session.pk))
    return [(e.action, e.actor, e.data) for e in entries.order_by("pk")]


def _refused(session: Session) -> None:
    """A refusal leaves no audit entry on the session."""
    assert _audit(session) == []


def test_an_assigned_animator_opens_the_green_room_starts_and_ends(animator):
    session = _soon(animators=[animator])
    before = timezone.now()

    opened = lifecycle.open_green_room(actor=animator, session=session)
    session.refresh_from_db()
    assert (opened.state, session.state) == ("green_room", "green_room")
    assert session.started_at is None

    lifecycle.start_session(actor=animator, session=session)
    session.refresh_from_db()
    assert session.state == "live"
    assert before <= session.started_at <= timezone.now()
    assert session.ended_at is None

    lifecycle.end_session(actor=animator, session=session)
    session.refresh_from_db()
    assert session.state == "ended"
    assert session.started_at <= session.ended_at <= timezone.now()
    assert session.is_over

    actions = _audit(session)
    assert [(code, actor) for code, actor, _data in actions] == [
        ("events.session.green_room_opened", animator),
        ("events.session.started", animator),
        ("events.session.ended", animator),
    ]
    assert actions[0][2] == {"from": "scheduled"}
    assert 28 <= actions[1][2]["minutes_before_start"] <= 30
    assert actions[1][2]["from"] == "green_room"
    assert actions[1][2]["started_at"] == session.started_at.isoformat()
    assert actions[2][2] == {
        "from": "live",
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat(),
        "streams_ended": 0,  # nobody was on stage
        "polls_closed": 0,
    }


def test_an_admin_starts_straight_from_scheduled(admin):
    session = _soon()
    lifecycle.start_session(actor=admin, session=session)
    session.refresh_from_db()
    assert session.state == "live"
    assert session.started_at is not None
    assert [code for code, *_ in _audit(session)] == ["events.session.started"]


def test_the_webinar_owner_manages_its_sessions_even_unassigned():
    """The existing rule (`permissions.can_manage_session`): the owner counts as an animator."""
    other = UserFactory(role=Role.ANIMATOR)
    session = _soon(animators=[other])
    lifecycle.start_session(actor=session.event.owner, session=session)
    session.refresh_from_db()
    assert session.state == "live"


def _speaker_of(session: Session) -> Any:
    # An animator of the workspace, but only a speaker here.
    user = UserFactory(role=Role.ANIMATOR)
    Speaker.objects.create(session=session, user=user, email=user.email, name="Sam")
    return user


@pytest.mark.parametrize("transition", sorted(TRANSITIONS))
@pytest.mark.parametrize("who", ["other_animator", "member", "speaker", "anonymous"])
def test_only_the_session_managers_move_it(transition, who):
    session = _soon()
    if transition == "end":
        Session.objects.filter(pk=session.pk).update(state="live")
        session.refresh_from_db()
    actor = {
        "other_animator": lambda: _soon(minutes=300).animators.first(),
        "member": lambda: UserFactory(role=Role.MEMBER),
        "speaker": lambda: _speaker_of(session),
        "anonymous": AnonymousUser,
    }[who]()
    state = session.state
    with pytest.raises(PermissionDenied) as refused:
        TRANSITIONS[transition](actor=actor, session=session)
    assert refused.value.code == "permission.not_animator"
    session.refresh_from_db()
    assert session.state == state
    _refused(session)


@pytest.mark.parametrize(
    ("state", "transition", "code"),
    [
        ("scheduled", "end", "session.not_live"),
        ("green_room", "green_room", "session.not_scheduled"),
        ("live", "green_room", "session.not_scheduled"),
        ("live", "start", "session.already_live"),
        ("ended", "green_room", "session.ended"),
        ("ended", "start", "session.ended"),
        ("ended", "end", "session.ended"),
        ("cancelled", "green_room", "session.cancelled"),
        ("cancelled", "start", "session.cancelled"),
        ("cancelled", "end", "session.cancelled"),
    ],
)
def test_a_wrong_state_is_a_conflict_with_a_code(admin, state, transition, code):
    session = _soon(state=state)
    with pytest.raises(Conflict) as refused:
        TRANSITIONS[transition](actor=admin, session=session)
    assert refused.value.code == code
    assert refused.value.status == 409
    session.refresh_from_db()
    assert session.state == state
    _refused(session)


def test_ending_twice_is_a_conflict_and_keeps_the_first_end(animator):
    session = _soon(animators=[animator])
    lifecycle.start_session(actor=animator, session=session)
    ended = lifecycle.end_session(actor=animator, session=session)
    # `session` is stale in memory: each service reads the locked row, not it.
    assert (session.state, ended.state) == ("scheduled", "ended")
    with pytest.raises(Conflict) as refused:
        lifecycle.end_session(actor=animator, session=session)
    assert refused.value.code == "session.ended"
    session.refresh_from_db()
    assert session.ended_at == ended.ended_at
    assert [code for code, *_ in _audit(session)].count("events.session.ended") == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_ends_make_one_end_and_one_conflict():
    """Two animators press "End" at once (two connections): the row lock lets one through.
    On PostgreSQL (CI); SQLite's test database serialises writers with "table is locked"."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: run with DATABASE_URL=postgres://… (CI does)")
    admin = UserFactory(role=Role.ADMIN)
    session = _soon(state="live")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def end() -> None:
        try:
            barrier.wait(timeout=5)
            lifecycle.end_session(actor=admin, session=session)
            outcomes.append("ended")
        except Conflict as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=end) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ended", "session.ended"]
    assert [code for code, *_ in _audit(session)] == ["events.session.ended"]


def test_a_session_ended_from_the_green_room_never_went_live(animator):
    session = _soon(animators=[animator])
    lifecycle.open_green_room(actor=animator, session=session)
    lifecycle.end_session(actor=animator, session=session)
    session.refresh_from_db()
    assert session.state == "ended"
    assert session.started_at is None
    assert session.ended_at is not None
    assert _audit(session)[-1][2]["started_at"] is None
    with pytest.raises(Conflict) as refused:
        lifecycle.start_session(actor=animator, session=session)
    assert refused.value.code == "session.ended"


@pytest.mark.parametrize(
    ("transition", "minutes_ahead", "allowed"),
    [
        ("green_room", 115, True),
        ("green_room", 125, False),
        ("start", 55, True),
        ("start", 65, False),
    ],
)
def test_the_green_room_and_the_start_open_a_while_before_the_start(
    admin, transition, minutes_ahead, allowed
):
    session = _soon(minutes=minutes_ahead)
    if allowed:
        TRANSITIONS[transition](actor=admin, session=session)
        session.refresh_from_db()
        assert session.state == ("green_room" if transition == "green_room" else "live")
        return
    with pytest.raises(Conflict) as refused:
        TRANSITIONS[transition](actor=admin, session=session)
    assert refused.value.code == "session.too_early"
    earliest = 120 if transition == "green_room" else 60
    assert (
        refused.value.data["opens_at"]
        == (session.starts_at - timedelta(minutes=earliest)).isoformat()
    )
    session.refresh_from_db()
    assert session.state == "scheduled"


def test_an_open_green_room_still_waits_for_the_start_window(admin):
    session = _soon(minutes=90)
    lifecycle.open_green_room(actor=admin, session=session)
    with pytest.raises(Conflict) as refused:
        lifecycle.start_session(actor=admin, session=session)
    assert refused.value.code == "session.too_early"
    session.refresh_from_db()
    assert session.state == "green_room"


def test_a_late_start_is_allowed_until_an_hour_after_the_planned_end(admin):
    # Planned 60 minutes from 110 minutes ago: it should have ended 50 minutes ago.
    late = _soon(minutes=-110, duration_minutes=60)
    lifecycle.start_session(actor=admin, session=late)
    late.refresh_from_db()
    assert late.state == "live"
    # Planned end 90 minutes ago: that day is over; it is moved, not started.
    stale = _soon(minutes=-150, duration_minutes=60)
    for transition in ("green_room", "start"):
        with pytest.raises(Conflict) as refused:
            TRANSITIONS[transition](actor=admin, session=stale)
        assert refused.value.code == "session.too_late"
    stale.refresh_from_db()
    assert stale.state == "scheduled"


def test_a_session_live_past_its_planned_end_can_always_be_ended(admin):
    session = _soon(minutes=-300, duration_minutes=60, state="live")
    lifecycle.end_session(actor=admin, session=session)
    session.refresh_from_db()
    assert session.state == "ended"


def _reminder(session: Session, offset: int, **fields: Any) -> Reminder:
    return Reminder.objects.create(session=session, offset_minutes=offset, **fields)


@pytest.mark.parametrize("first", ["scheduled", "green_room"])
def test_starting_early_withholds_the_pending_reminders(admin, first):
    session = _soon(minutes=30)
    RegistrationFactory(session=session)
    day_before = _reminder(session, 1440, state="sent", sent_at=timezone.now(), recipients=1)
    quarter = _reminder(session, 15)
    five = _reminder(session, 5)
    if first == "green_room":
        lifecycle.open_green_room(actor=admin, session=session)

    lifecycle.start_session(actor=admin, session=session)

    day_before.refresh_from_db()
    assert day_before.state == "sent"
    for reminder in (quarter, five):
        reminder.refresh_from_db()
        assert (reminder.state, reminder.reason) == ("withheld", "started early")
    assert _audit(session)[-1][2]["reminders_withheld"] == 2
    withheld = AuditEntry.objects.get(action="mailing.reminder.withheld")
    assert withheld.data["reason"] == "started early"
    assert sorted(withheld.data["reminders"]) == sorted([quarter.pk, five.pk])
    # When their send time comes, nothing goes out.
    sent = reminders.dispatch_due_reminders(now=session.starts_at - timedelta(minutes=4))
    assert sent == 0
    assert not OutgoingEmail.objects.filter(kind="reminder").exists()


def test_opening_the_green_room_keeps_the_reminders_going(admin):
    """Attendees still wait for the start: the "starts in 15 minutes" reminder goes."""
    session = _soon(minutes=30)
    RegistrationFactory(session=session)
    quarter = _reminder(session, 15)
    lifecycle.open_green_room(actor=admin, session=session)
    quarter.refresh_from_db()
    assert quarter.state == "pending"
    assert reminders.dispatch_due_reminders(now=session.starts_at - timedelta(minutes=14)) == 1
    assert OutgoingEmail.objects.filter(kind="reminder").count() == 1


# --- The room is told, after commit ---------------------------------------------------------


class Listener:
    """A channel in the session's room group of the (in-memory) channel layer."""

    def __init__(self, session: Session) -> None:
        self.layer = get_channel_layer()
        self.group = push.room_group(session.pk)
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(self.group, self.channel)

    def received(self, wait: float = 0.3) -> list[dict]:
        async def drain() -> list[dict]:
            found = []
            while True:
                try:
                    found.append(await asyncio.wait_for(self.layer.receive(self.channel), wait))
                except TimeoutError:
                    return found

        return async_to_sync(drain)()

    def close(self) -> None:
        async_to_sync(self.layer.group_discard)(self.group, self.channel)


@pytest.fixture
def listen():
    listeners: list[Listener] = []

    def make(session: Session) -> Listener:
        listeners.append(Listener(session))
        return listeners[-1]

    yield make
    for listener in listeners:
        listener.close()


@pytest.mark.django_db(transaction=True)
def test_each_transition_reaches_the_room_after_commit(listen):
    admin = UserFactory(role=Role.ADMIN)
    session = _soon()
    room = listen(session)
    lifecycle.open_green_room(actor=admin, session=session)
    lifecycle.start_session(actor=admin, session=session)
    lifecycle.end_session(actor=admin, session=session)
    assert room.received() == [
        {"type": "room.state", "state": "green_room"},
        {"type": "room.state", "state": "live"},
        {"type": "room.state", "state": "ended"},
    ]


@pytest.mark.django_db(transaction=True)
def test_a_refused_or_rolled_back_transition_tells_the_room_nothing(listen):
    admin = UserFactory(role=Role.ADMIN)
    session = _soon()
    room = listen(session)
    with pytest.raises(Conflict):
        lifecycle.end_session(actor=admin, session=session)

    class Abort(Exception):
        pass

    def start_then_roll_back() -> None:
        with transaction.atomic():
            lifecycle.start_session(actor=admin, session=session)
            raise Abort

    with pytest.raises(Abort):
        start_then_roll_back()
    session.refresh_from_db()
    assert session.state == "scheduled"
    assert room.received() == []
