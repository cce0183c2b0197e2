"""A session's report figures, computed from its rows: who registered and when, who came
(web or telephone), for how long, how many watched at once, what they said and answered,
which emails left, where registrants came from, and how its telephone calls went.

Counts and groupings are aggregate queries. Two figures need the rows themselves, one
query each: the concurrent-viewers curve (one pass over the attendees' connections, sorted)
and watch times (`rooms.attendance.per_person`, overlapping devices counted once).

`compute(session)` returns plain data (numbers, strings, lists): the report page shows it,
and `SessionSummary` keeps it as JSON for the dashboards and after the purge."""

from __future__ import annotations

import statistics
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate
from django.utils import timezone

from antenne.events.models import Session
from antenne.outbox.models import OutgoingEmail
from antenne.registrations.models import Registration
from antenne.registrations.selectors import count_by_status
from antenne.rooms.attendance import per_person
from antenne.rooms.models import ChatMessage, PhoneCall, Poll, Presence, Question
from antenne.rooms.polls import results_of

CURVE_POINTS = 120  # at most, whatever the session's length
TOP_QUESTIONS = 10
UTM_ROWS = 50
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")
STAFF_ROLES = (Presence.Role.STAFF, Presence.Role.SPEAKER)
# Failures by reason: calls that ended without hearing the session through no choice of the
# caller's (a caller hanging up before joining is not a failure; nor is a call in progress).
FAILED_CALLS = (
    PhoneCall.Outcome.WRONG_PIN,
    PhoneCall.Outcome.THROTTLED,
    PhoneCall.Outcome.NO_PIN,
    PhoneCall.Outcome.SESSION_OVER,
    PhoneCall.Outcome.FAILED,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _until(session: Session) -> datetime:
    """Connections still open count until now, or until the end of a session that ended
    (a row a dead process left open is closed by the sweeper; it must not grow meanwhile)."""
    now = timezone.now()
    return min(now, session.ended_at) if session.ended_at else now


def _attendance(session: Session) -> dict[str, Any]:
    people = Presence.objects.filter(session=session).aggregate(
        attendees=Count("registration_id", distinct=True, filter=Q(role=Presence.Role.ATTENDEE)),
        web=Count(
            "registration_id",
            distinct=True,
            filter=Q(role=Presence.Role.ATTENDEE) & ~Q(device=Presence.Device.PHONE),
        ),
        phone=Count(
            "registration_id",
            distinct=True,
            filter=Q(role=Presence.Role.ATTENDEE, device=Presence.Device.PHONE),
        ),
        staff=Count("user_id", distinct=True, filter=Q(role__in=STAFF_ROLES)),
    )
    return {
        "attendees": people["attendees"],
        "attendees_web": people["web"],
        "attendees_phone": people["phone"],
        "staff": people["staff"],
    }


def _watch_times(session: Session) -> dict[str, Any]:
    seconds = [p.watch_seconds for p in per_person(session, now=_until(session)).values()]
    return {
        "average_watch_seconds": round(statistics.fmean(seconds)) if seconds else 0,
        "median_watch_seconds": round(statistics.median(seconds)) if seconds else 0,
    }


def viewers(
    spans: list[tuple[datetime, datetime]],
    *,
    window: tuple[datetime, datetime] | None = None,
    points: int = CURVE_POINTS,
) -> dict[str, Any]:
    """From the attendees' connections (start, end): the exact peak of connections open at
    once and when it was first reached, the average number open over `window` (the
    broadcast; else first join to last leave), and a curve of at most `points` intervals
    covering the window and every connection, each the most connections open at once during
    it: the curve's highest point is the peak, however short the peak was."""
    if not spans:
        return {"peak_viewers": 0, "peak_at": None, "average_viewers": 0.0, "curve": []}
    # Leaves sort before joins at the same instant: a reconnection is not two viewers.
    changes = sorted([(start, 1) for start, _end in spans] + [(end, -1) for _start, end in spans])
    first, last = changes[0][0], max(end for _start, end in spans)
    start, end = window or (first, last)
    length = (end - start).total_seconds()
    overlap = sum(max(0.0, (min(e, end) - max(s, start)).total_seconds()) for s, e in spans)
    begin, finish = min(first, start), max(last, end)
    step = max(timedelta(minutes=1), (finish - begin) / max(points - 1, 1))
    curve: list[list[Any]] = []
    peak, peak_at, open_now, index = 0, first, 0, 0
    moment = begin
    while True:
        while index < len(changes) and changes[index][0] <= moment:
            open_now += changes[index][1]
            if open_now > peak:
                peak, peak_at = open_now, changes[index][0]
            index += 1
        highest, following = open_now, moment + step
        while index < len(changes) and changes[index][0] < following:
            open_now += changes[index][1]
            highest = max(highest, open_now)
            if open_now > peak:
                peak, peak_at = open_now, changes[index][0]
            index += 1
        curve.append([moment.isoformat(), highest])
        if following > finish:
            break
        moment = following
    return {
        "peak_viewers": peak,
        "peak_at": peak_at.isoformat(),
        "average_viewers": round(overlap / length, 1) if length > 0 else 0.0,
        "curve": curve,
    }


def _viewers(session: Session) -> dict[str, Any]:
    """The attendees' figures over the broadcast: from its start to its end (or now while
    it runs)."""
    until = _until(session)
    rows = Presence.objects.filter(session=session, role=Presence.Role.ATTENDEE).values_list(
        "joined_at", "left_at"
    )
    spans = [(joined, max(joined, left or until)) for joined, left in rows]
    window = None
    if session.started_at and until > session.started_at:
        window = (session.started_at, until)
    return viewers(spans, window=window)


def _registrations(session: Session) -> dict[str, Any]:
    by_status = count_by_status(session=session)
    zone = zoneinfo.ZoneInfo(session.time_zone)
    per_day = (
        Registration.objects.filter(session=session)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by("day")
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    return {
        "registrants": sum(by_status.values()),
        "by_status": by_status,
        "registrations_per_day": [[day.isoformat(), n] for day, n in per_day],
    }


def _sources(session: Session) -> list[dict[str, Any]]:
    """Registrants and attendees per (utm_source, utm_medium, utm_campaign), most first."""
    came = Presence.objects.filter(registration=OuterRef("pk"), role=Presence.Role.ATTENDEE)
    rows = (
        Registration.objects.filter(session=session)
        .annotate(
            utm_source=KT("utm__utm_source"),
            utm_medium=KT("utm__utm_medium"),
            utm_campaign=KT("utm__utm_campaign"),
            came=Exists(came),
        )
        .order_by()
        .values(*UTM_KEYS)
        .annotate(registrants=Count("pk"), attendees=Count("pk", filter=Q(came=True)))
        .order_by("-registrants", *UTM_KEYS)[:UTM_ROWS]
    )
    return [
        {
            **{key: row[key] or "" for key in UTM_KEYS},
            "registrants": row["registrants"],
            "attendees": row["attendees"],
        }
        for row in rows
    ]


def _interactions(session: Session) -> dict[str, Any]:
    chat = ChatMessage.objects.filter(
        session=session, backstage=False, deleted_at__isnull=True
    ).aggregate(
        messages=Count("pk"),
        chatters=Count("registration_id", distinct=True),
    )
    questions = Question.objects.filter(session=session).aggregate(
        questions=Count("pk"),
        answered=Count("pk", filter=Q(state=Question.State.ANSWERED)),
        upvotes=Sum("votes", default=0),
    )
    top = Question.objects.filter(session=session).order_by("-votes", "id")[:TOP_QUESTIONS]
    polls = list(Poll.objects.filter(session=session).exclude(state=Poll.State.DRAFT))
    results = results_of(polls)
    return {
        **chat,
        **questions,
        "top_questions": [
            {"text": q.text, "votes": q.votes, "state": q.state, "author": q.author_name}
            for q in top
        ],
        "polls": [
            {
                "question": poll.question,
                "state": poll.state,
                "multiple": poll.multiple,
                "voters": results[poll.pk].voters,
                "options": [
                    [label, count]
                    for label, count in zip(poll.options, results[poll.pk].counts, strict=False)
                ],
            }
            for poll in polls
        ],
    }


def _emails(session: Session) -> dict[str, Any]:
    """Emails written for the session, per kind and state (every state present)."""
    states = OutgoingEmail.State.values
    kinds: dict[str, dict[str, int]] = {}
    for kind, state, n in (
        OutgoingEmail.objects.filter(session=session)
        .order_by()
        .values_list("kind", "state")
        .annotate(n=Count("pk"))
    ):
        kinds.setdefault(kind, dict.fromkeys(states, 0))[state] = n
    totals = {state: sum(k[state] for k in kinds.values()) for state in states}
    return {"emails": {"kinds": dict(sorted(kinds.items())), "totals": totals}}


def calls_by_outcome(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Every outcome with at least one call, in the order of `PhoneCall.Outcome`."""
    return [
        {"outcome": outcome, "count": counts[outcome], "failure": outcome in FAILED_CALLS}
        for outcome in PhoneCall.Outcome.values
        if counts.get(outcome)
    ]


def per_outcome() -> dict[str, Count]:
    """Aggregates counting calls per outcome (`outcome_<value>`), for `pop_outcomes`."""
    return {
        f"outcome_{outcome}": Count("pk", filter=Q(outcome=outcome))
        for outcome in PhoneCall.Outcome.values
    }


def pop_outcomes(found: dict[str, Any]) -> dict[str, int]:
    """The `per_outcome` counts taken out of an aggregate's result: outcome → calls."""
    return {outcome: found.pop(f"outcome_{outcome}") for outcome in PhoneCall.Outcome.values}


def telephone_figures(session: Session) -> dict[str, Any]:
    """The session's telephone calls (those whose PIN named it: a call that never typed a
    valid PIN has no session, see `selectors.gateway_calls`): how many, how many joined,
    how many callers a personal PIN identified, per outcome and failures by reason, the
    peak of callers at once and their listening time (from their attendance rows, as the
    viewers curve), and the audio packets received from callers, lost on the way (by
    sequence gaps) and sent to them. Two queries."""
    calls = PhoneCall.objects.filter(session=session)
    found = calls.aggregate(
        calls=Count("pk"),
        joined=Count("pk", filter=Q(joined_at__isnull=False)),
        identified=Count("pk", filter=Q(presence__registration__isnull=False)),
        wrong_pins=Sum("wrong_pins", default=0),
        packets_received=Sum("packets_received", default=0),
        packets_lost=Sum("packets_lost", default=0),
        packets_sent=Sum("packets_sent", default=0),
        **per_outcome(),
    )
    counts = pop_outcomes(found)
    until = _until(session)
    rows = Presence.objects.filter(session=session, device=Presence.Device.PHONE).values_list(
        "joined_at", "left_at"
    )
    spans = [(joined, max(joined, left or until)) for joined, left in rows]
    seconds = sum((left - joined).total_seconds() for joined, left in spans)
    curve = viewers(spans)
    heard = found["packets_received"] + found["packets_lost"]
    return {
        **found,
        "by_outcome": calls_by_outcome(counts),
        "failures": sum(counts[outcome] for outcome in FAILED_CALLS),
        "peak_callers": curve["peak_viewers"],
        "peak_at": curve["peak_at"],
        "listening_minutes": round(seconds / 60, 1),
        "average_listening_minutes": round(seconds / 60 / len(spans), 1) if spans else 0.0,
        "loss_percent": round(100 * found["packets_lost"] / heard, 2) if heard else None,
    }


def compute(session: Session) -> dict[str, Any]:
    """Every figure of the session's report, as of now."""
    figures: dict[str, Any] = {
        "session_id": session.pk,
        "computed_at": timezone.now().isoformat(),
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
    }
    figures.update(_registrations(session))
    figures.update(_attendance(session))
    confirmed = figures["by_status"][Registration.Status.CONFIRMED]
    figures["attendance_rate"] = (
        round(100 * figures["attendees"] / confirmed, 1) if confirmed else None
    )
    figures.update(_viewers(session))
    figures.update(_watch_times(session))
    figures["sources"] = _sources(session)
    figures.update(_interactions(session))
    figures.update(_emails(session))
    figures["telephone"] = telephone_figures(session)
    return figures


def fingerprint_query(session_ids: list[int]) -> dict[int, str]:
    """For each session, a digest of the rows its figures come from (registrations,
    connections, chat, questions, poll answers, telephone calls): a summary whose
    fingerprint differs is stale. Six grouped queries, whatever the number of sessions."""
    parts: dict[int, list[str]] = {pk: [] for pk in session_ids}

    def add(rows: Any) -> None:
        found = {row[0]: row[1:] for row in rows}
        for pk, part in parts.items():
            part.append(":".join(str(v) for v in found.get(pk, ())))

    add(
        Registration.objects.filter(session_id__in=session_ids)
        .order_by()
        .values_list("session_id")
        .annotate(a=Count("pk"), b=Count("pk", filter=Q(status="confirmed")))
    )
    add(
        Presence.objects.filter(session_id__in=session_ids)
        .order_by()
        .values_list("session_id")
        .annotate(a=Count("pk"), b=Count("left_at"))
    )
    add(
        ChatMessage.objects.filter(session_id__in=session_ids, backstage=False)
        .order_by()
        .values_list("session_id")
        .annotate(a=Count("pk"), b=Count("deleted_at"))
    )
    add(
        Question.objects.filter(session_id__in=session_ids)
        .order_by()
        .values_list("session_id")
        .annotate(a=Count("pk"), b=Sum("votes"))
    )
    add(
        Poll.objects.filter(session_id__in=session_ids)
        .order_by()
        .values_list("session_id")
        .annotate(a=Count("votes"))
    )
    add(
        PhoneCall.objects.filter(session_id__in=session_ids)
        .order_by()
        .values_list("session_id")
        .annotate(a=Count("pk"), b=Count("ended_at"))
    )
    return {pk: "|".join(part) for pk, part in parts.items()}
