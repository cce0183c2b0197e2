"""REST API v1 for webinars: events, sessions, speakers, slot conflicts.

Endpoints read through `events.selectors` and write through `events.services` (which check
who may do what and audit every write)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest
from ninja import Query, Router, Status

from antenne.api import schemas
from antenne.events import lifecycle, selectors, services, speakers
from antenne.events import permissions as event_permissions
from antenne.events.models import Event, Session
from antenne.events.timeutils import aware_to_utc

router = Router(tags=["events"])

ERRORS = schemas.ERRORS
WRITE_ERRORS = schemas.WRITE_ERRORS
BODY_WRITE_ERRORS = schemas.BODY_WRITE_ERRORS
SLOT_ERRORS = schemas.SLOT_ERRORS


def _with_sessions(events: list[Event]) -> list[Event]:
    """Events with their sessions (by start), animators and speakers in a few queries."""
    prefetch_related_objects(
        events,
        Prefetch("sessions", queryset=Session.objects.order_by("starts_at")),
        "sessions__animators",
        "sessions__speakers",
    )
    return events


def _event(request: HttpRequest, pk: int) -> Event:
    return _with_sessions([selectors.access_event(actor=request.user, pk=pk)])[0]


def _session(request: HttpRequest, pk: int) -> Session:
    return selectors.access_session(actor=request.user, pk=pk)


def _animators(request: HttpRequest, pks: list[int]) -> list[Any]:
    return selectors.users_by_id(actor=request.user, pks=pks, code="session.animator_invalid")


# --- Events ------------------------------------------------------------------------------


@router.get("/events", response={200: list[schemas.EventOut], **ERRORS})
def list_events(
    request: HttpRequest,
    q: schemas.Search = "",
    team_id: schemas.Id | None = None,
    limit: int = 50,
    offset: schemas.Offset = 0,
) -> Any:
    """Webinars, newest first, each with its sessions (any member); `limit` is clamped to
    1-200."""
    limit = max(1, min(limit, 200))
    found = selectors.list_events(actor=request.user, search=q[:100], team_id=team_id)
    return _with_sessions(list(found[offset : offset + limit]))


@router.post("/events", response={201: schemas.EventOut, **BODY_WRITE_ERRORS})
def create_event(request: HttpRequest, body: schemas.EventIn) -> Any:
    """Create a webinar owned by the caller (animators and admins)."""
    event = services.create_event(
        actor=request.user,
        title=body.title,
        description=body.description,
        language=body.language,
        team=selectors.team_by_id(actor=request.user, pk=body.team_id),
        show_speakers=body.show_speakers,
        published=body.published,
    )
    return Status(201, _event(request, event.pk))


@router.get("/events/{event_id}", response={200: schemas.EventOut, **ERRORS})
def get_event(request: HttpRequest, event_id: schemas.Id) -> Any:
    """A webinar with its sessions (any member)."""
    return _event(request, event_id)


@router.patch("/events/{event_id}", response={200: schemas.EventOut, **BODY_WRITE_ERRORS})
def update_event(request: HttpRequest, event_id: schemas.Id, body: schemas.EventPatch) -> Any:
    """Change the fields given: the webinar's owner and admins only (403
    `permission.not_owner` for an animator of one of its sessions), since every field reaches
    all its sessions."""
    event = selectors.access_owned_event(actor=request.user, pk=event_id)
    changes = body.dict(exclude_unset=True)
    if "team_id" in changes:
        changes["team"] = selectors.team_by_id(actor=request.user, pk=changes.pop("team_id"))
    if "owner_id" in changes:
        (changes["owner"],) = selectors.users_by_id(
            actor=request.user, pks=[changes.pop("owner_id")], code="event.owner_invalid"
        )
    services.update_event(actor=request.user, event=event, **changes)
    return _event(request, event_id)


@router.post(
    "/events/{event_id}/cancel",
    response={200: schemas.EventOut, **BODY_WRITE_ERRORS, 409: schemas.EventCancelError},
)
def cancel_event(request: HttpRequest, event_id: schemas.Id, body: schemas.CancelIn) -> Any:
    """Cancel every coming session (speakers and registrants are told) and unpublish the
    registration page: the webinar's owner and admins only. While one of its sessions is in
    its green room or live, nothing is cancelled: 409 `session.under_way` lists them."""
    event = selectors.access_owned_event(actor=request.user, pk=event_id)
    services.cancel_event(actor=request.user, event=event, message=body.message)
    return _event(request, event_id)


# --- Sessions ----------------------------------------------------------------------------


@router.post("/events/{event_id}/sessions", response={201: schemas.SessionOut, **SLOT_ERRORS})
def schedule_session(request: HttpRequest, event_id: schemas.Id, body: schemas.SessionIn) -> Any:
    """Schedule a session. A slot with other sessions on or near it answers 409
    `session.conflict` listing them unless `confirm_conflicts` is true; over the workspace's
    parallel limit answers 422 `session.parallel_limit` (admins may confirm it)."""
    event = selectors.access_event(actor=request.user, pk=event_id)
    session = services.schedule_session(
        actor=request.user,
        event=event,
        starts_at=aware_to_utc(body.starts_at, body.time_zone),
        time_zone=body.time_zone,
        duration_minutes=body.duration_minutes,
        capacity=body.capacity,
        animators=_animators(request, body.animator_ids) if body.animator_ids is not None else None,
        confirm_conflicts=body.confirm_conflicts,
    )
    return Status(201, _session(request, session.pk))


@router.get("/sessions/{session_id}", response={200: schemas.SessionOut, **ERRORS})
def get_session(request: HttpRequest, session_id: schemas.Id) -> Any:
    """A session with its animators and speakers (any member)."""
    return _session(request, session_id)


@router.patch("/sessions/{session_id}", response={200: schemas.SessionOut, **SLOT_ERRORS})
def update_session(request: HttpRequest, session_id: schemas.Id, body: schemas.SessionPatch) -> Any:
    """Move a session (starts_at, time_zone, duration_minutes, with the same conflict rule
    as scheduling; speakers are told) and/or change its capacity and animators. All or
    nothing."""
    session = _session(request, session_id)
    given = body.dict(exclude_unset=True)
    moves = given.keys() & {"starts_at", "time_zone", "duration_minutes"}
    staffs = given.keys() & {"capacity", "animator_ids"}
    if not moves and not staffs:  # nothing to change: still, only its managers may ask
        event_permissions.require_session_manager(request.user, session)
    animators = _animators(request, given["animator_ids"]) if "animator_ids" in given else None
    with transaction.atomic():
        if moves:
            zone_name = given.get("time_zone", session.time_zone)
            services.reschedule_session(
                actor=request.user,
                session=session,
                starts_at=aware_to_utc(given["starts_at"], zone_name)
                if "starts_at" in given
                else session.starts_at,
                time_zone=zone_name,
                duration_minutes=given.get("duration_minutes", session.duration_minutes),
                confirm_conflicts=body.confirm_conflicts,
            )
        if staffs:
            services.update_session(
                actor=request.user,
                session=session,
                capacity=given.get("capacity", session.capacity),
                animators=animators if animators is not None else list(session.animators.all()),
            )
    return _session(request, session_id)


@router.post(
    "/sessions/{session_id}/cancel", response={200: schemas.SessionOut, **BODY_WRITE_ERRORS}
)
def cancel_session(request: HttpRequest, session_id: schemas.Id, body: schemas.CancelIn) -> Any:
    """Cancel (never delete) a session that has not started; its speakers are told."""
    session = _session(request, session_id)
    services.cancel_session(actor=request.user, session=session, message=body.message)
    return _session(request, session_id)


# --- Broadcast ---------------------------------------------------------------------------


@router.post(
    "/sessions/{session_id}/green-room", response={200: schemas.SessionOut, **WRITE_ERRORS}
)
def open_green_room(request: HttpRequest, session_id: schemas.Id) -> Any:
    """Open the green room (`scheduled` → `green_room`), at most 2 hours before the start;
    pending reminders are withheld. The session's animators and admins."""
    session = _session(request, session_id)
    lifecycle.open_green_room(actor=request.user, session=session)
    return _session(request, session_id)


@router.post("/sessions/{session_id}/start", response={200: schemas.SessionOut, **WRITE_ERRORS})
def start_session(request: HttpRequest, session_id: schemas.Id) -> Any:
    """Start the broadcast (`scheduled` or `green_room` → `live`, sets `started_at`), at most
    1 hour before the scheduled start. The session's animators and admins."""
    session = _session(request, session_id)
    lifecycle.start_session(actor=request.user, session=session)
    return _session(request, session_id)


@router.post("/sessions/{session_id}/end", response={200: schemas.SessionOut, **WRITE_ERRORS})
def end_session(request: HttpRequest, session_id: schemas.Id) -> Any:
    """End the broadcast (`live` or `green_room` → `ended`, sets `ended_at`), for good. The
    session's animators and admins."""
    session = _session(request, session_id)
    lifecycle.end_session(actor=request.user, session=session)
    return _session(request, session_id)


# --- Speakers ----------------------------------------------------------------------------


@router.get("/sessions/{session_id}/speakers", response={200: list[schemas.SpeakerOut], **ERRORS})
def list_speakers(request: HttpRequest, session_id: schemas.Id) -> Any:
    """A session's speakers, revoked ones included (any member)."""
    return list(_session(request, session_id).speakers.all())


@router.post(
    "/sessions/{session_id}/speakers", response={201: schemas.SpeakerOut, **BODY_WRITE_ERRORS}
)
def add_speaker(request: HttpRequest, session_id: schemas.Id, body: schemas.SpeakerIn) -> Any:
    """Invite a speaker (a member or a guest) before the start: they are emailed a personal
    green-room link."""
    session = _session(request, session_id)
    speaker = speakers.add_speaker(
        actor=request.user, session=session, email=body.email, name=body.name, title=body.title
    )
    return Status(201, speaker)


@router.delete("/sessions/{session_id}/speakers/{speaker_id}", response={204: None, **WRITE_ERRORS})
def remove_speaker(request: HttpRequest, session_id: schemas.Id, speaker_id: schemas.Id) -> Any:
    """Remove a speaker; their link stops working."""
    session = _session(request, session_id)
    speaker = selectors.access_speaker(actor=request.user, session=session, pk=speaker_id)
    speakers.remove_speaker(actor=request.user, speaker=speaker)
    return Status(204, None)


@router.post(
    "/sessions/{session_id}/speakers/{speaker_id}/resend",
    response={200: schemas.SpeakerOut, **WRITE_ERRORS},
)
def resend_speaker_invitation(
    request: HttpRequest, session_id: schemas.Id, speaker_id: schemas.Id
) -> Any:
    """Email a fresh link; the previous one stops working."""
    session = _session(request, session_id)
    speaker = selectors.access_speaker(actor=request.user, session=session, pk=speaker_id)
    return speakers.resend_speaker_invitation(actor=request.user, speaker=speaker)


@router.post(
    "/sessions/{session_id}/speakers/{speaker_id}/revoke",
    response={200: schemas.SpeakerOut, **WRITE_ERRORS},
)
def revoke_speaker_link(
    request: HttpRequest, session_id: schemas.Id, speaker_id: schemas.Id
) -> Any:
    """Make the speaker's link stop working (resend to issue a new one)."""
    session = _session(request, session_id)
    speaker = selectors.access_speaker(actor=request.user, session=session, pk=speaker_id)
    return speakers.revoke_speaker_link(actor=request.user, speaker=speaker)


# --- Conflicts ---------------------------------------------------------------------------


@router.get("/conflicts", response={200: schemas.ConflictsOut, **ERRORS})
def list_conflicts(request: HttpRequest, slot: Query[schemas.ConflictQuery]) -> Any:
    """The workspace's sessions on or near a proposed slot, and how many would run at once
    (any member). `exclude_session` leaves out the session being moved."""
    report = selectors.slot_conflicts(
        actor=request.user,
        starts_at=aware_to_utc(slot.starts_at, slot.time_zone),
        duration_minutes=slot.duration_minutes,
        exclude_session_id=slot.exclude_session,
    )
    return {
        "conflicts": services.describe_conflicts(report),
        "parallel": report.parallel,
        "limit": report.limit,
        "over_limit": report.over_limit,
    }
