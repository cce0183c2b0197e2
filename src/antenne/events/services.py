"""Writes of the events domain: webinars, their sessions, speakers. Keyword-only, `actor=`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from antenne.accounts.models import Team, User
from antenne.core import actions
from antenne.core.audit import log_action
from antenne.core.exceptions import Conflict, Invalid
from antenne.core.locks import serialize
from antenne.core.permissions import is_admin
from antenne.events import covers, hooks
from antenne.events.conflicts import ConflictReport, find_conflicts
from antenne.events.hooks import SessionChange, StaffChange
from antenne.events.models import Event, Session
from antenne.events.permissions import (
    can_create_events,
    require_event_creator,
    require_event_manager,
    require_event_owner,
    require_session_manager,
)
from antenne.events.pins import new_session_pin
from antenne.events.speakers import email_speaker
from antenne.events.timeutils import zone

EVENT_FIELDS = ("title", "description", "language", "team", "show_speakers", "published")


def describe_conflicts(report: ConflictReport) -> list[dict[str, Any]]:
    """The conflicting sessions as the API and the pages show them."""
    return [
        {
            "id": c.session.pk,
            "event_id": c.session.event_id,
            "event_title": c.session.event.title,
            "starts_at": c.session.starts_at.isoformat(),
            "ends_at": c.session.ends_at.isoformat(),
            "animators": [a.full_name or a.email for a in c.session.animators.all()],
            "kind": c.kind,
            "gap_minutes": c.gap_minutes,
        }
        for c in report.conflicts
    ]


def check_slot(
    *,
    actor: Any,
    starts_at: datetime,
    duration_minutes: int,
    confirm_conflicts: bool,
    session: Session | None = None,
) -> ConflictReport:
    """Apply the slot rule: over the parallel limit is refused for non-admins; any other
    conflict must be confirmed explicitly."""
    if not 1 <= duration_minutes <= 1440:
        raise Invalid(
            _("A session lasts between 1 minute and 24 hours."), code="session.duration_invalid"
        )
    report = find_conflicts(
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        exclude_session_id=session.pk if session else None,
    )
    if report.over_limit and not is_admin(actor):
        raise Invalid(
            _(
                "This slot would run %(parallel)s sessions at once; the workspace allows "
                "%(limit)s. Choose another slot or ask an admin."
            )
            % {"parallel": report.parallel, "limit": report.limit},
            code="session.parallel_limit",
            parallel=report.parallel,
            limit=report.limit,
            conflicts=describe_conflicts(report),
        )
    if report.conflicts and not confirm_conflicts:
        raise Conflict(
            _("Other sessions of the workspace are on this slot or close to it."),
            code="session.conflict",
            conflicts=describe_conflicts(report),
        )
    return report


# --- Events ------------------------------------------------------------------------------


def _check_language(language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise Invalid(
            _("Unknown language; choose one of %(choices)s.")
            % {"choices": ", ".join(dict(settings.LANGUAGES))},
            code="event.language_invalid",
        )


def create_event(
    *,
    actor: Any,
    title: str,
    team: Team,
    description: str = "",
    language: str = "fr",
    show_speakers: bool = True,
    published: bool = False,
    owner: User | None = None,
    cover_image: UploadedFile | None = None,
) -> Event:
    require_event_creator(actor)
    owner = owner or actor
    if owner is None or not can_create_events(owner):
        raise Invalid(_("The owner must be an animator."), code="event.owner_invalid")
    title = title.strip()
    if not title:
        raise Invalid(_("A webinar needs a title."), code="event.title_required")
    _check_language(language)
    cover = covers.prepare_cover(cover_image) if cover_image is not None else None
    with transaction.atomic():
        event = Event(
            title=title,
            description=description.strip(),
            language=language,
            team=team,
            owner=owner,
            show_speakers=show_speakers,
            published=published,
        )
        if cover is not None:
            event.cover_image = cover
        event.save()
        log_action(
            event,
            actions.EVENT_CREATED,
            actor=actor,
            data={"title": title, "published": published},
        )
    return event


def update_event(*, actor: Any, event: Event, **changes: Any) -> Event:
    """Change the webinar's own fields. Each of them reaches every session (its page, its
    emails, its owner), so only the owner and admins may (`permission.not_owner`)."""
    require_event_owner(actor, event)
    unknown = set(changes) - {*EVENT_FIELDS, "cover_image", "owner"}
    if unknown:
        raise Invalid(_("Unknown field."), code="event.field_unknown", fields=sorted(unknown))
    if "title" in changes and not str(changes["title"]).strip():
        raise Invalid(_("A webinar needs a title."), code="event.title_required")
    if "owner" in changes and not can_create_events(changes["owner"]):
        raise Invalid(_("The owner must be an animator."), code="event.owner_invalid")
    if "language" in changes:
        _check_language(changes["language"])
    if changes.get("cover_image"):
        changes["cover_image"] = covers.prepare_cover(changes["cover_image"])
    changed = {}
    with transaction.atomic():
        previous_owner = event.owner_id
        for name, value in changes.items():
            if name == "cover_image" and value is None:
                continue
            if getattr(event, name) != value:
                changed[name] = str(value) if name in ("team", "owner", "cover_image") else value
                setattr(event, name, value)
        if changed:
            event.save()
            log_action(event, actions.EVENT_UPDATED, actor=actor, data=changed)
        if "owner" in changed and previous_owner is not None:
            # The previous owner may not manage the sessions any more: their rooms re-check.
            sessions = tuple(event.sessions.values_list("pk", flat=True))
            hooks.SESSION_STAFF_REMOVED.fire(
                StaffChange(session_ids=sessions, user_ids=(previous_owner,), actor=actor)
            )
    return event


def cancel_event(*, actor: Any, event: Event, message: str = "") -> Event:
    """Cancel every coming session of the webinar (speakers and registrants are told) and
    unpublish its page: the owner and admins only. While one of its sessions is in its green
    room or live, the whole cancellation is refused (409 `session.under_way`, listing them):
    a broadcast is ended from the room, never cancelled under the attendees' feet."""
    require_event_owner(actor, event)
    message = message.strip()
    with transaction.atomic():
        # Locked, so that a session cannot start between the check and its cancellation
        # (`lifecycle` locks the same rows to move a session).
        sessions = list(
            event.sessions.select_for_update()
            .exclude(state__in=(Session.State.CANCELLED, Session.State.ENDED))
            .order_by("starts_at", "pk")
        )
        under_way = [s for s in sessions if s.state != Session.State.SCHEDULED]
        if under_way:
            raise Conflict(
                _(
                    "Sessions of this webinar are under way (green room or live): end them "
                    "from their room first, then cancel the webinar. Nothing was cancelled."
                ),
                code="session.under_way",
                sessions=[
                    {"id": s.pk, "state": s.state, "starts_at": s.starts_at.isoformat()}
                    for s in under_way
                ],
            )
        for session in sessions:
            _cancel(actor=actor, session=session, message=message)
        if event.published:
            event.published = False
            event.save(update_fields=["published", "updated_at"])
        log_action(event, actions.EVENT_CANCELLED, actor=actor)
    return event


# --- Sessions ----------------------------------------------------------------------------


def _check_animators(animators: list[User]) -> None:
    for user in animators:
        if not can_create_events(user):
            raise Invalid(
                _("%(name)s is not an animator.") % {"name": user}, code="session.animator_invalid"
            )


def schedule_session(
    *,
    actor: Any,
    event: Event,
    starts_at: datetime,
    time_zone: str,
    duration_minutes: int,
    capacity: int | None = None,
    animators: list[User] | None = None,
    confirm_conflicts: bool = False,
) -> Session:
    require_event_manager(actor, event)
    zone(time_zone)
    if starts_at <= timezone.now():
        raise Invalid(_("A new session must start in the future."), code="session.in_past")
    animators = animators if animators is not None else [actor]
    _check_animators(animators)
    with transaction.atomic():
        # Two animators taking the same slot at once must not both pass the check.
        serialize("events.slots")
        report = check_slot(
            actor=actor,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            confirm_conflicts=confirm_conflicts,
        )
        session = Session.objects.create(
            event=event,
            starts_at=starts_at,
            time_zone=time_zone,
            duration_minutes=duration_minutes,
            capacity=capacity,
            confirmed_conflicts=report.session_ids,
            phone_pin=new_session_pin(),
        )
        session.animators.set(animators)
        hooks.SESSION_SCHEDULED.fire(SessionChange(session=session, actor=actor))
        log_action(
            session,
            actions.SESSION_SCHEDULED,
            actor=actor,
            data={
                "starts_at": starts_at.isoformat(),
                "time_zone": time_zone,
                "duration_minutes": duration_minutes,
                "confirmed_conflicts": report.session_ids,
            },
        )
    return session


def reschedule_session(
    *,
    actor: Any,
    session: Session,
    starts_at: datetime,
    time_zone: str,
    duration_minutes: int,
    confirm_conflicts: bool = False,
) -> Session:
    """Move a session. Speakers are told; everything hanging on its time moves with it."""
    require_session_manager(actor, session)
    zone(time_zone)
    if session.state != Session.State.SCHEDULED:
        raise Conflict(
            _("Only a session that has not started can be moved."), code="session.not_scheduled"
        )
    if starts_at <= timezone.now():
        raise Invalid(_("A session cannot be moved into the past."), code="session.in_past")
    unchanged = (
        starts_at == session.starts_at
        and time_zone == session.time_zone
        and duration_minutes == session.duration_minutes
    )
    if unchanged:
        return session
    with transaction.atomic():
        serialize("events.slots")
        report = check_slot(
            actor=actor,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            confirm_conflicts=confirm_conflicts,
            session=session,
        )
        before = {
            "starts_at": session.starts_at.isoformat(),
            "duration_minutes": session.duration_minutes,
        }
        moved = starts_at != session.starts_at
        session.starts_at = starts_at
        session.time_zone = time_zone
        session.duration_minutes = duration_minutes
        session.confirmed_conflicts = report.session_ids
        session.save()
        log_action(
            session,
            actions.SESSION_RESCHEDULED,
            actor=actor,
            data={
                "from": before,
                "to": {"starts_at": starts_at.isoformat(), "duration_minutes": duration_minutes},
            },
        )
        if moved:
            # Reminders follow the start (their send time is derived; `mailing` withholds
            # those now past) and registrants are told (`registrations`).
            hooks.SESSION_MOVED.fire(SessionChange(session=session, actor=actor))
            for speaker in session.speakers.filter(revoked_at__isnull=True):
                email_speaker(speaker, kind="session_moved", template="session_moved_speaker")
    return session


def update_session(
    *, actor: Any, session: Session, capacity: int | None, animators: list[User]
) -> Session:
    require_session_manager(actor, session)
    if not animators:
        raise Invalid(_("A session needs at least one animator."), code="session.animator_required")
    _check_animators(animators)
    with transaction.atomic():
        before = sorted(session.animators.values_list("pk", flat=True))
        session.capacity = capacity
        session.save(update_fields=["capacity"])
        session.animators.set(animators)
        log_action(
            session,
            actions.SESSION_UPDATED,
            actor=actor,
            data={
                "capacity": capacity,
                "animators": {"from": before, "to": sorted(a.pk for a in animators)},
            },
        )
        removed = tuple(sorted(set(before) - {a.pk for a in animators}))
        if removed:  # animators taken off the session leave its room (unless still allowed)
            hooks.SESSION_STAFF_REMOVED.fire(
                StaffChange(session_ids=(session.pk,), user_ids=removed, actor=actor)
            )
    return session


def _cancel(*, actor: Any, session: Session, message: str) -> None:
    session.state = Session.State.CANCELLED
    session.cancelled_at = timezone.now()
    session.save(update_fields=["state", "cancelled_at"])
    log_action(session, actions.SESSION_CANCELLED, actor=actor, data={"message": message})
    # Reminders withheld, registrants told, people waiting in the room told at once.
    hooks.SESSION_CANCELLED.fire(SessionChange(session=session, actor=actor, message=message))
    for speaker in session.speakers.filter(revoked_at__isnull=True):
        email_speaker(
            speaker, kind="session_cancelled", template="session_cancelled_speaker", message=message
        )


def cancel_session(*, actor: Any, session: Session, message: str = "") -> Session:
    """Cancel (never delete) a session; its speakers are told by email."""
    require_session_manager(actor, session)
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=session.pk)
        if session.is_over:
            raise Conflict(_("This session is already over or cancelled."), code="session.over")
        if session.state != Session.State.SCHEDULED:
            raise Conflict(
                _("A session under way is ended from the room, not cancelled."),
                code="session.started",
            )
        _cancel(actor=actor, session=session, message=message.strip())
    return session


def mark_test_run(*, actor: Any, session: Session, done: bool = True) -> Session:
    require_session_manager(actor, session)
    session.test_run_done_at = timezone.now() if done else None
    session.save(update_fields=["test_run_done_at"])
    log_action(session, actions.SESSION_TEST_RUN, actor=actor, data={"done": done})
    return session
