"""The figures of many sessions at once, for the dashboards, from a cache that cannot go
stale: a session that is over keeps its figures in `SessionSummary` with the fingerprint of
the rows they came from (`figures.fingerprint_query`, six grouped queries for all the
sessions listed); a differing fingerprint (a person erased, a connection closed late) means
the figures are computed again. Sessions not over are always computed afresh.

After the retention period, the purge freezes a session's summary before deleting the
personal data: the dashboards and the report page keep the figures, without names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from antenne.analytics import figures
from antenne.analytics.models import SessionSummary
from antenne.events.models import Session


def figures_of(sessions: Iterable[Session]) -> dict[int, dict[str, Any]]:
    """Session id → its report figures."""
    sessions = list(sessions)
    kept = {
        s.session_id: s for s in SessionSummary.objects.filter(session__in=[s.pk for s in sessions])
    }
    over = [s.pk for s in sessions if s.is_over and not _frozen(kept.get(s.pk))]
    prints = figures.fingerprint_query(over) if over else {}
    result: dict[int, dict[str, Any]] = {}
    for session in sessions:
        summary = kept.get(session.pk)
        if summary is not None and (
            summary.frozen_at or (session.is_over and summary.fingerprint == prints[session.pk])
        ):
            result[session.pk] = summary.figures
            continue
        result[session.pk] = figures.compute(session)
        if session.is_over:
            SessionSummary.objects.update_or_create(
                session=session,
                defaults={
                    "figures": result[session.pk],
                    "fingerprint": prints[session.pk],
                    "computed_at": timezone.now(),
                },
            )
    return result


def _frozen(summary: SessionSummary | None) -> bool:
    return summary is not None and summary.frozen_at is not None


def frozen_figures(session: Session) -> dict[str, Any] | None:
    """The figures kept when the session's personal data was purged, or None."""
    summary = SessionSummary.objects.filter(session=session, frozen_at__isnull=False).first()
    return summary.figures if summary else None


def freeze(session: Session) -> SessionSummary:
    """Keep the session's figures as they are now, for good, without what people wrote
    (question texts, authors): the purge deletes the rows they come from next."""
    kept = figures.compute(session)
    kept["top_questions"] = []
    now = timezone.now()
    summary, _created = SessionSummary.objects.update_or_create(
        session=session,
        defaults={"figures": kept, "fingerprint": "", "computed_at": now, "frozen_at": now},
    )
    return summary


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The dashboards' bottom line over several sessions' figures: sums, the highest peak,
    the attendance rate of all confirmed registrants, the average watch time of all
    attendees (medians do not add up: none)."""
    confirmed = sum(r["by_status"]["confirmed"] for r in rows)
    attendees = sum(r["attendees"] for r in rows)
    watched = sum(r["average_watch_seconds"] * r["attendees"] for r in rows)
    return {
        "sessions": len(rows),
        "registrants": sum(r["registrants"] for r in rows),
        "confirmed": confirmed,
        "attendees": attendees,
        "attendees_web": sum(r["attendees_web"] for r in rows),
        "attendees_phone": sum(r["attendees_phone"] for r in rows),
        "attendance_rate": round(100 * attendees / confirmed, 1) if confirmed else None,
        "peak_viewers": max((r["peak_viewers"] for r in rows), default=0),
        "average_watch_seconds": round(watched / attendees) if attendees else 0,
        "messages": sum(r["messages"] for r in rows),
        "questions": sum(r["questions"] for r in rows),
        # Figures of one session only: the templates leave them out.
        "by_status": None,
        "staff": None,
        "average_viewers": None,
        "median_watch_seconds": None,
        "chatters": None,
        "answered": None,
    }
