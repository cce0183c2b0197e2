"""Slot conflicts: other sessions of the workspace overlapping a proposed slot or within the
buffer around it, and the most sessions that would run at once.

Intervals are half-open [start, end): a session ending at 10:00 and one starting at 10:00 do
not overlap; they are 0 minutes apart, a near conflict. A gap equal to the buffer is a
conflict; a gap one minute longer is not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from antenne.events.models import Session

MAX_SESSION_MINUTES = 1440


@dataclass(frozen=True)
class Conflict:
    session: Session
    kind: str  # "overlap" | "near"
    gap_minutes: int  # 0 when overlapping


@dataclass(frozen=True)
class ConflictReport:
    conflicts: list[Conflict]
    parallel: int  # the most sessions running at once with the proposed one included
    limit: int

    @property
    def over_limit(self) -> bool:
        return self.parallel > self.limit

    @property
    def session_ids(self) -> list[int]:
        return sorted(c.session.pk for c in self.conflicts)


def find_conflicts(
    *, starts_at: datetime, duration_minutes: int, exclude_session_id: int | None = None
) -> ConflictReport:
    buffer = timedelta(minutes=settings.CONFLICT_BUFFER_MINUTES)
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    candidates = (
        Session.objects.exclude(state__in=(Session.State.CANCELLED, Session.State.ENDED))
        .filter(
            starts_at__lte=ends_at + buffer,
            starts_at__gte=starts_at - buffer - timedelta(minutes=MAX_SESSION_MINUTES),
        )
        .select_related("event")
        .prefetch_related("animators")
        .order_by("starts_at")
    )
    if exclude_session_id is not None:
        candidates = candidates.exclude(pk=exclude_session_id)
    conflicts: list[Conflict] = []
    overlapping: list[tuple[datetime, datetime]] = []
    for other in candidates:
        other_end = other.ends_at
        if other.starts_at < ends_at and starts_at < other_end:
            conflicts.append(Conflict(other, "overlap", 0))
            overlapping.append((max(other.starts_at, starts_at), min(other_end, ends_at)))
            continue
        gap = starts_at - other_end if other_end <= starts_at else other.starts_at - ends_at
        if gap <= buffer:
            conflicts.append(Conflict(other, "near", int(gap.total_seconds() // 60)))
    return ConflictReport(
        conflicts=conflicts,
        parallel=1 + _most_at_once(overlapping),
        limit=settings.MAX_PARALLEL_SESSIONS,
    )


def _most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    """The largest number of half-open intervals covering one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _instant, step in edges:  # ends sort before starts at the same instant
        running += step
        most = max(most, running)
    return most
