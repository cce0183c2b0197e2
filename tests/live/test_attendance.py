"""Attendance from presence rows: watch time with overlapping devices, first join and last
leave, the concurrent-viewers curve, stale rows of a dead process, the per-link limit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from antenne.asgi import application
from antenne.rooms import attendance
from antenne.rooms.models import Presence
from tests.factories import RegistrationFactory, SessionFactory
from tests.live.helpers import HEADERS


def at(base, minutes):
    return base + timedelta(minutes=minutes)


@pytest.mark.django_db
def test_watch_time_counts_overlapping_devices_once_and_the_curve_follows_joins():
    session = SessionFactory()
    t0 = session.starts_at
    alix, bea, chloe = (RegistrationFactory(session=session) for _ in range(3))
    # Alix: laptop 0-30, phone 20-50 (overlap 20-30), so 50 minutes watched.
    Presence.objects.create(session=session, registration=alix, joined_at=t0, left_at=at(t0, 30))
    Presence.objects.create(
        session=session,
        registration=alix,
        device="mobile",
        joined_at=at(t0, 20),
        left_at=at(t0, 50),
    )
    # Béa: 10-15 then 40-60.
    Presence.objects.create(
        session=session, registration=bea, joined_at=at(t0, 10), left_at=at(t0, 15)
    )
    Presence.objects.create(
        session=session, registration=bea, joined_at=at(t0, 40), left_at=at(t0, 60)
    )
    # Staff are not attendees.
    Presence.objects.create(session=session, role="staff", joined_at=t0, left_at=at(t0, 60))

    people = attendance.per_person(session, now=at(t0, 90))
    assert set(people) == {alix.pk, bea.pk}  # Chloé never came
    assert people[alix.pk].watch_seconds == 50 * 60
    assert people[alix.pk].devices == {"desktop", "mobile"}
    assert (people[bea.pk].first_join, people[bea.pk].last_leave) == (at(t0, 10), at(t0, 60))
    assert people[bea.pk].watch_seconds == 25 * 60
    assert chloe.pk not in people

    curve = dict(attendance.concurrent_viewers(session, step=timedelta(minutes=5)))
    assert curve[t0] == 1
    assert curve[at(t0, 10)] == 2
    assert curve[at(t0, 20)] == 2  # Alix twice, Béa gone
    assert curve[at(t0, 45)] == 2  # Alix's phone and Béa
    assert curve[at(t0, 60)] == 0


@pytest.mark.django_db
def test_rows_of_a_dead_process_are_closed_at_their_last_heartbeat():
    session = SessionFactory()
    now = timezone.now()
    alive = Presence.objects.create(session=session, joined_at=at(now, -30), seen_at=at(now, -1))
    dead = Presence.objects.create(session=session, joined_at=at(now, -30), seen_at=at(now, -10))
    never = Presence.objects.create(session=session, joined_at=at(now, -20))
    assert attendance.close_stale(now) == 2
    for row in (alive, dead, never):
        row.refresh_from_db()
    assert alive.left_at is None
    assert dead.left_at == at(now, -10)
    assert never.left_at == at(now, -20)
    assert attendance.touch([alive.pk], now) == 1


@pytest.mark.django_db(transaction=True)
async def test_one_link_opens_the_room_on_a_limited_number_of_devices(settings):
    settings.LIVE_MAX_CONNECTIONS = 2
    session = await sync_to_async(SessionFactory)(starts_at=timezone.now() + timedelta(minutes=5))
    person = await sync_to_async(RegistrationFactory)(session=session)
    sockets, replies = [], []
    for index in range(3):
        ws = WebsocketCommunicator(application, f"/ws/room/{session.pk}/", headers=HEADERS)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(["join", index, {"join_key": person.join_key}]))
        replies.append(json.loads(await ws.receive_from(timeout=3)))
        sockets.append(ws)
    assert [reply[0] for reply in replies] == ["success", "success", "error"]
    assert replies[2][2]["code"] == "room.too_many_connections"
    await sockets[0].disconnect()  # one device leaves: another may come in
    again = WebsocketCommunicator(application, f"/ws/room/{session.pk}/", headers=HEADERS)
    assert (await again.connect())[0]
    await again.send_to(text_data=json.dumps(["join", 9, {"join_key": person.join_key}]))
    assert json.loads(await again.receive_from(timeout=3))[0] == "success"
    for ws in (*sockets[1:], again):
        await ws.disconnect()
