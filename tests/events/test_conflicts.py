"""Slot conflicts: overlaps, the buffer's edges, cancelled sessions, the parallel limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from antenne.events.conflicts import find_conflicts
from antenne.events.models import Session
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2027, 6, 10, 8, 0, tzinfo=UTC)  # the existing session: 08:00–09:00 UTC


@pytest.fixture
def existing(settings):
    settings.CONFLICT_BUFFER_MINUTES = 30
    settings.MAX_PARALLEL_SESSIONS = 1
    return SessionFactory(starts_at=T0, duration_minutes=60)


def kinds(report):
    return [(c.session.pk, c.kind, c.gap_minutes) for c in report.conflicts]


@pytest.mark.parametrize(
    ("start_offset", "duration", "expected"),
    [
        (timedelta(minutes=30), 60, ("overlap", 0)),  # 08:30–09:30
        (timedelta(minutes=-30), 60, ("overlap", 0)),  # 07:30–08:30
        (timedelta(minutes=10), 20, ("overlap", 0)),  # inside
        (timedelta(minutes=60), 60, ("near", 0)),  # starts when it ends
        (timedelta(minutes=90), 60, ("near", 30)),  # exactly the buffer after: a conflict
        (timedelta(minutes=-90), 60, ("near", 30)),  # ends exactly the buffer before
    ],
)
def test_overlaps_and_near_slots_are_found(existing, start_offset, duration, expected):
    report = find_conflicts(starts_at=T0 + start_offset, duration_minutes=duration)
    assert kinds(report) == [(existing.pk, *expected)]


@pytest.mark.parametrize("start_offset", [timedelta(minutes=91), timedelta(minutes=-91)])
def test_one_minute_past_the_buffer_is_not_a_conflict(existing, start_offset):
    report = find_conflicts(starts_at=T0 + start_offset, duration_minutes=60)
    assert report.conflicts == []
    assert report.parallel == 1


def test_buffer_setting_is_honoured(existing, settings):
    settings.CONFLICT_BUFFER_MINUTES = 0
    assert find_conflicts(starts_at=T0 + timedelta(minutes=61), duration_minutes=30).conflicts == []
    assert kinds(find_conflicts(starts_at=T0 + timedelta(minutes=60), duration_minutes=30)) == [
        (existing.pk, "near", 0)
    ]


def test_cancelled_and_ended_sessions_are_ignored(existing):
    Session.objects.filter(pk=existing.pk).update(state=Session.State.CANCELLED)
    assert find_conflicts(starts_at=T0, duration_minutes=60).conflicts == []
    Session.objects.filter(pk=existing.pk).update(state=Session.State.ENDED)
    assert find_conflicts(starts_at=T0, duration_minutes=60).conflicts == []


def test_a_session_does_not_conflict_with_itself(existing):
    report = find_conflicts(starts_at=T0, duration_minutes=60, exclude_session_id=existing.pk)
    assert report.conflicts == []


def test_long_sessions_far_before_are_found(existing):
    # An 11-hour session that started well before still overlaps.
    long = SessionFactory(starts_at=T0 - timedelta(hours=9), duration_minutes=660)
    report = find_conflicts(starts_at=T0 + timedelta(minutes=90), duration_minutes=15)
    assert (long.pk, "overlap", 0) in kinds(report)


def test_parallel_count_is_the_most_at_one_instant(existing, settings):
    settings.MAX_PARALLEL_SESSIONS = 2
    # Another session 09:00–10:00 touches the first one but never runs at the same time.
    SessionFactory(starts_at=T0 + timedelta(hours=1), duration_minutes=60)
    report = find_conflicts(starts_at=T0 + timedelta(minutes=30), duration_minutes=60)
    assert report.parallel == 2  # 08:30–09:30 overlaps each of them, never both at once
    assert not report.over_limit
    SessionFactory(starts_at=T0 + timedelta(minutes=45), duration_minutes=30)  # 08:45–09:15
    report = find_conflicts(starts_at=T0 + timedelta(minutes=30), duration_minutes=60)
    assert report.parallel == 3
    assert report.over_limit
