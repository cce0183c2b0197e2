"""What an export holds, sheet by sheet, as rows of plain cells (text, integers, times in the
session's zone, empty), the same for CSV and XLSX and for the report page's preview (whose
column names are these). Headers, sheet names and the values that are codes in the database
(status, source, state, role, yes/no) are in the active language (`columns`).

- registrants: one row per registration, with every registration field (custom answers
  included: one column per current question, and `other_answers` for answers to questions
  since removed or sent through the API under other keys), consent, UTM, the session,
  attendance (how, first join, last leave, watch time), messages, questions, upvotes, and
  one column per poll with the options the person chose;
- chat (the room's public chat; the green room's backstage chat is the team's own), Q&A,
  polls (one row per option);
- calls: one row per telephone call whose PIN named the session (times, outcome, masked
  number, the registrant a personal PIN identified, wrong PINs, audio packets).

Rows are read in chunks of `CHUNK` registrations by primary key (keyset pagination): each
chunk is one query for the registrations (their counts as subqueries), one for their
connections and one for their poll answers, each read to the end. No query stays open
between chunks (progress can be written meanwhile, on SQLite too) and memory holds one
chunk at a time, whatever the number of registrants. Erased people have no rows left to
read: an export made after an erasure does not have them."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.db.models import Count, Model, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.analytics import columns
from antenne.events.models import Session
from antenne.registrations.models import Registration, RegistrationField
from antenne.registrations.selectors import answer_text
from antenne.rooms.models import (
    ChatMessage,
    PhoneCall,
    Poll,
    PollVote,
    Presence,
    Question,
    QuestionVote,
)
from antenne.rooms.polls import results_of

CHUNK = 1000
Cell = str | int | datetime
Row = list[Cell]

REGISTRANT_COLUMNS = columns.REGISTRANT_COLUMNS
CHAT_COLUMNS = columns.CHAT_COLUMNS
QUESTION_COLUMNS = columns.QUESTION_COLUMNS
POLL_COLUMNS = columns.POLL_COLUMNS
CALL_COLUMNS = columns.CALL_COLUMNS
UTM = columns.UTM
OTHER_ANSWERS = columns.OTHER_ANSWERS


@dataclass
class Sheet:
    name: str
    header: list[str]
    rows: Iterator[Row]


def local(value: datetime | None, zone: tzinfo) -> datetime | str:
    """A time in the session's zone (the writers make it a date cell), or empty."""
    return value.astimezone(zone).replace(microsecond=0) if value else ""


def yes_no(value: bool) -> str:
    return str(_("yes") if value else _("no"))


def header(codes: list[str], session: Session) -> list[str]:
    """The labels of `codes` in the active language (time columns name the zone)."""
    return [columns.label(code, zone=session.time_zone) for code in codes]


def _count(model: type[Model], **filters: Any) -> Coalesce:
    """Per registration: how many `model` rows it has (a correlated subquery)."""
    rows = (
        model._default_manager.filter(registration=OuterRef("pk"), **filters)
        .order_by()
        .values("registration")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows), 0)


def _other_answers(answers: dict[str, Any], known: set[str]) -> str:
    parts = []
    for key, value in answers.items():
        if key in known:
            continue
        label = value.get("label", key) if isinstance(value, dict) else key
        parts.append(f"{label}: {answer_text(value)}")
    return "; ".join(parts)


def _attendance(
    spans: list[tuple[datetime, datetime | None, str]],
    until: datetime,
    *,
    running: bool,
    zone: tzinfo,
) -> Row:
    """attended, first_join, last_leave, watch_time_seconds of one person's connections
    (devices overlapping count once; a connection still open counts until `until`, and
    leaves no last leave while the session runs)."""
    if not spans:
        return ["", "", "", 0]
    how = sorted({"phone" if device == Presence.Device.PHONE else "web" for *_, device in spans})
    ordered = sorted((joined, max(joined, left or until)) for joined, left, _device in spans)
    total, start, end = 0.0, ordered[0][0], ordered[0][1]
    for joined, left in ordered[1:]:
        if joined > end:
            total += max(0.0, (end - start).total_seconds())
            start, end = joined, left
        else:
            end = max(end, left)
    total += max(0.0, (end - start).total_seconds())
    still_open = any(left is None for _joined, left, _device in spans)
    last = None if still_open and running else max(left for _j, left in ordered)
    return [
        " + ".join(str(columns.ATTENDED[way]) for way in reversed(how)),
        local(ordered[0][0], zone),
        local(last, zone),
        int(total),
    ]


def registrant_header(
    fields: list[RegistrationField], polls: list[Poll], session: Session
) -> list[str]:
    """The registrants sheet's header in the active language: the columns, one per
    question, the other answers, one per poll."""
    return [
        *header(REGISTRANT_COLUMNS, session),
        *(field.label for field in fields),
        columns.label(OTHER_ANSWERS, zone=session.time_zone),
        *(columns.poll_column(n, poll.question) for n, poll in enumerate(polls, start=1)),
    ]


def registrant_rows(
    session: Session,
    *,
    fields: list[RegistrationField],
    polls: list[Poll],
    limit: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """The registrants' rows in registration order; `on_chunk(rows so far)` after each
    chunk."""
    running = session.ended_at is None
    statuses = dict(Registration.Status.choices)
    until = timezone.now() if running else min(timezone.now(), session.finished_at)
    keys = [field.key for field in fields]
    known = set(keys)
    poll_index = {poll.pk: n for n, poll in enumerate(polls)}
    registrations = (
        Registration.objects.filter(session=session)
        .annotate(
            n_messages=_count(ChatMessage, backstage=False, deleted_at__isnull=True),
            n_questions=_count(Question),
            n_upvotes=_count(QuestionVote),
        )
        .order_by("pk")
    )
    zone = zoneinfo.ZoneInfo(session.time_zone)
    session_cells: Row = [session.pk, local(session.starts_at, zone)]
    done, last_pk = 0, 0
    while limit is None or done < limit:
        size = CHUNK if limit is None else min(CHUNK, limit - done)
        chunk = list(registrations.filter(pk__gt=last_pk)[:size])
        if not chunk:
            break
        first_pk, last_pk = chunk[0].pk, chunk[-1].pk
        spans: dict[int, list[tuple[datetime, datetime | None, str]]] = defaultdict(list)
        for registration_id, joined, left, device in Presence.objects.filter(
            session=session,
            role=Presence.Role.ATTENDEE,
            registration_id__gte=first_pk,
            registration_id__lte=last_pk,
        ).values_list("registration_id", "joined_at", "left_at", "device"):
            spans[registration_id].append((joined, left, device))
        chosen: dict[int, list[str]] = defaultdict(lambda: [""] * len(polls))
        for registration_id, poll_id, choices in PollVote.objects.filter(
            poll_id__in=list(poll_index),
            registration_id__gte=first_pk,
            registration_id__lte=last_pk,
        ).values_list("registration_id", "poll_id", "choices"):
            options = polls[poll_index[poll_id]].options
            chosen[registration_id][poll_index[poll_id]] = ", ".join(
                str(options[c]) for c in choices if isinstance(c, int) and 0 <= c < len(options)
            )
        for r in chunk:
            utm = r.utm if isinstance(r.utm, dict) else {}
            answers = r.answers if isinstance(r.answers, dict) else {}
            yield [
                r.pk,
                r.email,
                r.first_name,
                r.last_name,
                str(statuses.get(r.status, r.status)),
                str(columns.SOURCES.get(r.source, r.source)),
                r.language,
                local(r.created_at, zone),
                local(r.consent_at, zone),
                r.consent_version,
                *(str(utm.get(key, "")) for key in UTM),
                *session_cells,
                *_attendance(spans.get(r.pk, []), until, running=running, zone=zone),
                r.n_messages,
                r.n_questions,
                r.n_upvotes,
                *(answer_text(answers.get(key)) for key in keys),
                _other_answers(answers, known),
                *(chosen[r.pk] if r.pk in chosen else [""] * len(polls)),
            ]
        done += len(chunk)
        if on_chunk is not None:
            on_chunk(done)


def _by_id(queryset: Any) -> Iterator[Any]:
    """Every row of `queryset`, by id, in chunks (keyset pagination)."""
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:CHUNK])
        yield from chunk
        if len(chunk) < CHUNK:
            return
        last = chunk[-1].pk


def chat_rows(session: Session) -> Iterator[Row]:
    zone = zoneinfo.ZoneInfo(session.time_zone)
    roles = dict(Presence.Role.choices)
    for m in _by_id(ChatMessage.objects.filter(session=session, backstage=False)):
        yield [
            m.pk,
            local(m.created_at, zone),
            m.author_name,
            str(roles.get(m.role, m.role)),
            m.registration_id or "",
            m.text,
            local(m.deleted_at, zone),
        ]


def question_rows(session: Session) -> Iterator[Row]:
    zone = zoneinfo.ZoneInfo(session.time_zone)
    states = dict(Question.State.choices)
    for q in _by_id(Question.objects.filter(session=session)):
        yield [
            q.pk,
            local(q.created_at, zone),
            q.author_name,
            yes_no(q.anonymous),
            q.registration_id or "",
            q.text,
            str(states.get(q.state, q.state)),
            q.votes,
        ]


def poll_rows(polls: list[Poll], session: Session) -> Iterator[Row]:
    zone = zoneinfo.ZoneInfo(session.time_zone)
    states = dict(Poll.State.choices)
    results = results_of(polls)
    for poll in polls:
        for option, votes in zip(poll.options, results[poll.pk].counts, strict=False):
            yield [
                poll.pk,
                poll.question,
                yes_no(poll.multiple),
                str(states.get(poll.state, poll.state)),
                local(poll.opened_at, zone),
                local(poll.closed_at, zone),
                str(option),
                votes,
                results[poll.pk].voters,
            ]


def call_rows(session: Session) -> Iterator[Row]:
    """The session's telephone calls; the registrant only while their attendance row
    exists (erasing them deletes it: the call stays, anonymous)."""
    calls = (
        PhoneCall.objects.filter(session=session)
        .select_related("presence__registration")
        .only(
            "started_at",
            "joined_at",
            "ended_at",
            "outcome",
            "caller_masked",
            "wrong_pins",
            "packets_received",
            "packets_lost",
            "packets_sent",
            "presence__registration",
            "presence__registration__first_name",
            "presence__registration__last_name",
        )
    )
    zone = zoneinfo.ZoneInfo(session.time_zone)
    for call in _by_id(calls):
        registration = call.presence.registration if call.presence else None
        yield [
            call.pk,
            local(call.started_at, zone),
            local(call.joined_at, zone),
            local(call.ended_at, zone),
            str(call.get_outcome_display()),
            call.caller_masked,
            registration.pk if registration else "",
            registration.full_name if registration else "",
            call.wrong_pins,
            call.packets_received,
            call.packets_lost,
            call.packets_sent,
        ]


def session_polls(session: Session) -> list[Poll]:
    """The polls an export lists: every one but drafts (never shown to attendees)."""
    return list(Poll.objects.filter(session=session).exclude(state=Poll.State.DRAFT))


def sheets(session: Session, *, on_chunk: Callable[[int], None] | None = None) -> list[Sheet]:
    """Every sheet of a session's export, its names and headers in the active language,
    rows read lazily as the writer goes."""
    fields = list(RegistrationField.objects.filter(event_id=session.event_id))
    polls = session_polls(session)
    name = columns.SHEETS
    return [
        Sheet(
            str(name["registrants"]),
            registrant_header(fields, polls, session),
            registrant_rows(session, fields=fields, polls=polls, on_chunk=on_chunk),
        ),
        Sheet(str(name["chat"]), header(CHAT_COLUMNS, session), chat_rows(session)),
        Sheet(str(name["questions"]), header(QUESTION_COLUMNS, session), question_rows(session)),
        Sheet(str(name["polls"]), header(POLL_COLUMNS, session), poll_rows(polls, session)),
        Sheet(str(name["calls"]), header(CALL_COLUMNS, session), call_rows(session)),
    ]
