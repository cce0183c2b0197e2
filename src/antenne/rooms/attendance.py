"""Attendance from presence rows: keeping them true (heartbeat, stale rows closed) and the
figures a session's report needs (per person: first join, last leave, watch time; the
concurrent-viewers curve)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from antenne.events.models import Session
from antenne.rooms.models import Presence

HEARTBEAT = timedelta(seconds=60)
# A row not refreshed for this long belongs to a process that died: it is closed at its
# last sign of life.
STALE = timedelta(minutes=3)


def touch(presence_ids: list[int], now: datetime | None = None) -> int:
    """The heartbeat of a process's open connections (one UPDATE)."""
    if not presence_ids:
        return 0
    return int(
        Presence.objects.filter(pk__in=presence_ids, left_at__isnull=True).update(
            seen_at=now or timezone.now()
        )
    )


def close_stale(now: datetime | None = None) -> int:
    """Close the rows of connections whose process died (no leave recorded, no heartbeat
    for `STALE`): they end at their last heartbeat, or their join."""
    cutoff = (now or timezone.now()) - STALE
    open_rows = Presence.objects.filter(left_at__isnull=True)
    closed = open_rows.filter(seen_at__lt=cutoff).update(left_at=F("seen_at"))
    closed += open_rows.filter(seen_at__isnull=True, joined_at__lt=cutoff).update(
        left_at=F("joined_at")
    )
    return int(closed)


def live_connections(*, registration_id: int, now: datetime | None = None) -> int:
    """Open, recently seen connections of one registration (for the per-person limit)."""
    cutoff = (now or timezone.now()) - STALE
    return Presence.objects.filter(
        Q(seen_at__gte=cutoff) | Q(seen_at__isnull=True, joined_at__gte=cutoff),
        registration_id=registration_id,
        left_at__isnull=True,
    ).count()


@dataclass
class PersonAttendance:
    registration_id: int
    first_join: datetime
    last_leave: datetime | None  # None while still connected
    watch_seconds: int  # time with at least one connection open (devices overlap once)
    devices: set[str] = field(default_factory=set)


def _merged_seconds(spans: list[tuple[datetime, datetime]]) -> int:
    total = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, end in sorted(spans):
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_start is not None and current_end is not None:
        total += (current_end - current_start).total_seconds()
    return int(total)


def per_person(session: Session, now: datetime | None = None) -> dict[int, PersonAttendance]:
    """Attendance of each registration that joined `session` (web or phone)."""
    now = now or timezone.now()
    rows = (
        Presence.objects.filter(
            session=session, role=Presence.Role.ATTENDEE, registration__isnull=False
        )
        .values_list("registration_id", "joined_at", "left_at", "device")
        .order_by("joined_at")
    )
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    people: dict[int, PersonAttendance] = {}
    still_connected: set[int] = set()
    for registration_id, joined, left, device in rows:
        person = people.get(registration_id)
        if person is None:
            person = people[registration_id] = PersonAttendance(registration_id, joined, left, 0)
        person.first_join = min(person.first_join, joined)
        if left is None:
            still_connected.add(registration_id)
        elif person.last_leave is None or left > person.last_leave:
            person.last_leave = left
        person.devices.add(device)
        spans[registration_id].append((joined, left or now))
    for registration_id, person in people.items():
        person.watch_seconds = _merged_seconds(spans[registration_id])
        if registration_id in still_connected:
            person.last_leave = None
    return people


def concurrent_viewers(
    session: Session, *, step: timedelta = timedelta(minutes=1), now: datetime | None = None
) -> list[tuple[datetime, int]]:
    """Attendee connections open at each `step` from the first join to the last leave
    (the curve of the session's report)."""
    now = now or timezone.now()
    rows = list(
        Presence.objects.filter(session=session, role=Presence.Role.ATTENDEE).values_list(
            "joined_at", "left_at"
        )
    )
    if not rows:
        return []
    start = min(joined for joined, _left in rows)
    end = max((left or now) for _joined, left in rows)
    changes: list[tuple[datetime, int]] = sorted(
        [(joined, 1) for joined, _left in rows] + [((left or now), -1) for _joined, left in rows]
    )
    curve: list[tuple[datetime, int]] = []
    open_now, index = 0, 0
    moment = start
    while moment <= end:
        while index < len(changes) and changes[index][0] <= moment:
            open_now += changes[index][1]
            index += 1
        curve.append((moment, open_now))
        moment += step
    return curve
